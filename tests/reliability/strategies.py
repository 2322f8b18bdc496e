"""Hypothesis strategies for the fuzzers: documents built from the schemas (plausible and not), and
mutations of the shipped valid files (keys deleted, duplicated or retyped, units swapped, numbers
pushed to 0, -1, nan, 1e308, text cut short, garbage bytes inserted).

Every strategy returns plain data: a document (dicts and lists) or raw bytes; the harness writes it
to a file and runs the command line on it.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

# -- values ------------------------------------------------------------------------------------
UNITS = {
    "pressure": ["Pa", "kPa", "mmHg", "psi", "bar"],
    "volume": ["m^3", "L", "ft^3"],
    "area": ["m^2", "cm^2", "in^2"],
    "length": ["mm", "cm", "in"],
    "time": ["s", "min", "h", "day"],
    "temperature": ["K", "degC"],
    "mass": ["kg", "lb", "g"],
    "mass flow": ["kg/s", "lb/day", "kg/min"],
    "volume flow": ["m^3/h", "m^3/s"],
}
ALL_UNITS = sorted({u for us in UNITS.values() for u in us} | {"", "furlong", "m^99", "Pa/s", "mmHg/h"})
EXTREME = [0, -1, -0.0, 1e-300, 1e308, 1e-9, 1e9, float("nan"), float("inf"), float("-inf"), 10**400, 2**63]

plain_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from(EXTREME),
)


def _fmt(x) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def quantity_text(kind: str | None = None):
    """``"<number> <unit>"``: a unit of *kind* (plausible) or any unit (maybe the wrong dimension)."""
    units = st.sampled_from(UNITS[kind]) if kind else st.sampled_from(ALL_UNITS)
    return st.builds(lambda x, u: f"{_fmt(x)} {u}".strip(), plain_numbers, units)


def plausible(kind: str, low: float, high: float):
    """A sensible value of *kind*: a bare SI number or a string with one of its units."""
    x = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.one_of(x, st.builds(lambda v: f"{v:.6g} {UNITS[kind][0]}", x))


ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True)
junk_text = st.text(max_size=30)
scalars = st.one_of(plain_numbers, quantity_text(), st.booleans(), st.none(), ids, junk_text)
anything = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(ids, c, max_size=3),
                        max_leaves=12)


def field(kind: str, low: float, high: float, p_bad: float = 0.15):
    """Mostly a plausible quantity; sometimes an extreme number, a wrong unit or any value at all."""
    bad = st.one_of(st.sampled_from(EXTREME), quantity_text(), quantity_text(kind), anything)
    return st.one_of(plausible(kind, low, high), bad) if p_bad >= 0.5 else \
        st.integers(0, 99).flatmap(lambda r: bad if r < p_bad * 100 else plausible(kind, low, high))


def maybe_extra(d: dict, draw) -> dict:
    """Now and then an unknown key, or a key left out."""
    if d and draw(st.integers(0, 9)) == 0:
        d.pop(draw(st.sampled_from(sorted(d, key=str))))
    if draw(st.integers(0, 9)) == 0:
        d[draw(ids)] = draw(anything)
    return d


# -- documents built from the schemas --------------------------------------------------------------
@st.composite
def station_documents(draw):
    """A station mapping: 1-5 compartments (1e-3 to 1e4 m^3), vehicles, hatches, supplies, limits."""
    names = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    comps = {}
    for n in names:
        c = {"volume": draw(field("volume", 1e-3, 1e4))}
        if draw(st.booleans()):
            c["traverse"] = draw(field("time", 0, 120))
        if draw(st.integers(0, 4)) == 0:
            c["temperature"] = draw(field("temperature", 250, 320))
        if draw(st.integers(0, 4)) == 0:
            c["atmosphere"] = {"N2": draw(field("pressure", 0, 1e5)), "O2": draw(field("pressure", 0, 3e4))}
        comps[n] = maybe_extra(c, draw)
    doc = {"name": draw(junk_text | ids), "compartments": comps}
    if draw(st.booleans()):
        doc["temperature"] = draw(field("temperature", 250, 320))
    if draw(st.booleans()):
        doc["atmosphere"] = {"N2": draw(field("pressure", 0, 1e5)), "O2": draw(field("pressure", 0, 3e4)),
                             "CO2": draw(field("pressure", 0, 2e3))}
    hatches = {}
    for i in range(1, len(names)):
        a, b = names[draw(st.integers(0, i - 1))], names[i]
        if draw(st.integers(0, 19)) == 0:
            b = a  # a hatch joining a compartment to itself
        h = {"between": [a, b], "area": draw(field("area", 1e-4, 2.0)), "open": draw(st.booleans())}
        if draw(st.booleans()):
            h["valve"] = draw(field("area", 1e-6, 1e-2))
            h["valve_open"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            h["cd"] = draw(st.one_of(st.floats(0, 1.5), st.sampled_from(EXTREME)))
        hatches[f"h{i}"] = maybe_extra(h, draw)
    if hatches:
        doc["hatches"] = hatches
    if draw(st.integers(0, 3)) == 0:
        doc["vehicles"] = {"v1": {"volume": draw(field("volume", 1, 20)),
                                  "docked_to": draw(st.sampled_from(names) | ids), "seats": draw(st.integers(-1, 5))}}
        doc.setdefault("hatches", {})["hv"] = {"between": [doc["vehicles"]["v1"]["docked_to"], "v1"]}
    if draw(st.integers(0, 3)) == 0:
        doc["gas_supply"] = {"tank": {"N2": draw(field("mass", 0, 50)), "O2": draw(field("mass", 0, 50)),
                                      "into": [draw(st.sampled_from(names))],
                                      "max_rate": draw(field("mass flow", 1e-4, 1.0))}}
    if draw(st.integers(0, 3)) == 0:
        doc["limits"] = {"reserve_floor": draw(field("pressure", 0, 1e5))}
    if draw(st.integers(0, 3)) == 0:
        doc["alarms"] = {"poll": draw(field("time", 1, 60)), "dpdt_window": draw(field("time", 10, 600))}
    return maybe_extra(doc, draw)


@st.composite
def scenario_documents(draw):
    """A scenario with an inline station, a short duration, crew, leaks, events and checks."""
    station = draw(station_documents())
    places = list(station.get("compartments", {})) or ["nowhere"]
    doc = {"name": draw(ids), "station": station,
           "duration": draw(st.one_of(plausible("time", 1, 300),
                                      st.sampled_from([0, -1, float("nan"), "1 kg", "90 min", 1e-9]))),
           "seed": draw(st.one_of(st.integers(0, 2**32), st.sampled_from([-1, 2**63, 1.5])))}
    if draw(st.booleans()):
        doc["output"] = {"every": draw(field("time", 1, 60))}
    if draw(st.booleans()):
        doc["solver"] = {"thermo": draw(st.sampled_from(["isothermal", "adiabatic", "quantum"])),
                         "hatch_model": draw(st.sampled_from(["merge", "orifice", "merge"]))}
    leaks = []
    for i in range(draw(st.integers(0, 3))):
        size = draw(st.sampled_from(["rate", "area", "diameter"]))
        kind = {"rate": ("mass flow", 1e-6, 1.0), "area": ("area", 1e-6, 5.0), "diameter": ("length", 1e-4, 1.0)}
        leak = {"id": f"l{i}", "at": draw(st.sampled_from(places)), size: draw(field(*kind[size]))}
        if draw(st.booleans()):
            leak["start"] = draw(field("time", 0, 60))
        leaks.append(maybe_extra(leak, draw))
    if leaks:
        doc["leaks"] = leaks
        if draw(st.booleans()):
            doc["events"] = [{"at": draw(field("time", 0, 60)), "leak": "l0",
                              "scale": draw(st.one_of(st.floats(0, 10), st.sampled_from(EXTREME)))}]
    if draw(st.booleans()):
        doc["crew"] = [{"id": f"c{i}", "at": draw(st.sampled_from(places)), "roles": ["r"]}
                       for i in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        doc["checks"] = [{"expect": "min_pressure", "of": draw(st.sampled_from([*places, "station"])),
                          "above": draw(field("pressure", 0, 1e5))}]
    return maybe_extra(doc, draw)


STEP_KINDS = ["move", "close_hatch", "open_hatch", "open_valve", "close_valve", "wait", "measure", "repair",
              "shelter", "repress", "undock", "evacuate", "end", "teleport"]
CONDITIONS = ["p(a) < 700 mmHg", "t > 5 min", "__import__('os').system('true')", "(lambda: 1)()",
              "p(a).__class__", "1 +", "p(a) < 5 kg", "not not not", "x" * 300, "((((((((((1))))))))))",
              "abs(p(a) - p(b)) < 2 mmHg", "dpdt(a) > -0.5 mmHg/h"]


@st.composite
def procedure_documents(draw):
    """A procedure: roles and phases of random steps, gotos and conditions (safe and hostile)."""
    phases = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    doc = {"name": draw(ids), "roles": draw(st.lists(ids, max_size=3)), "phases": {}}
    for ph in phases:
        steps = []
        for _ in range(draw(st.integers(0, 4))):
            r = draw(st.integers(0, 9))
            if r == 0:
                steps.append({"goto": draw(st.sampled_from([*phases, "nowhere"]))})
            elif r == 1:
                steps.append({"if": draw(st.sampled_from(CONDITIONS) | junk_text),
                              "then": draw(st.sampled_from(phases)), "else": draw(st.sampled_from(phases))})
            else:
                step = {"do": draw(st.sampled_from(STEP_KINDS))}
                for key in draw(st.lists(st.sampled_from(["hatch", "to", "who", "by", "for", "until", "of",
                                                          "window", "as", "leak", "duration", "timeout"]),
                                         max_size=3, unique=True)):
                    step[key] = draw(st.one_of(ids, st.sampled_from(CONDITIONS), quantity_text("time"), anything))
                steps.append(step)
        doc["phases"][ph] = steps
    return maybe_extra(doc, draw)


# -- mutations of valid files ------------------------------------------------------------------------
MUTATIONS = ("delete", "duplicate", "retype", "swap_unit", "number", "truncate", "garbage", "rename_key",
             "extreme_text")


@st.composite
def mutated_documents(draw, doc, max_mutations: int = 3):
    """*doc* (plain data) after 1 to *max_mutations* structural mutations, as YAML text; or raw bytes
    for the textual mutations (truncation, garbage bytes, duplicated lines)."""
    import copy

    from .harness import dump, leaves

    doc = copy.deepcopy(doc)
    textual = []
    for _ in range(draw(st.integers(1, max_mutations))):
        how = draw(st.sampled_from(MUTATIONS))
        spots = [loc for loc, _ in leaves(doc) if loc]
        if how in ("truncate", "garbage") or not spots:
            textual.append(how)
            continue
        loc = draw(st.sampled_from(spots))
        parent = doc
        for part in loc[:-1]:
            parent = parent[part]
        key, value = loc[-1], parent[loc[-1]]
        if how == "delete":
            del parent[key]
        elif how == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, copy.deepcopy(value))  # a duplicated list item: duplicated ids
            else:
                textual.append("duplicate_line")
        elif how == "retype":
            parent[key] = draw(anything)
        elif how == "rename_key" and isinstance(parent, dict):
            parent[draw(ids)] = parent.pop(key)
        elif how == "swap_unit" and isinstance(value, str) and " " in value:
            parent[key] = value.rsplit(" ", 1)[0] + " " + draw(st.sampled_from(ALL_UNITS))
        elif how == "number" and (isinstance(value, int | float) or (isinstance(value, str) and value[:1].isdigit())):
            x = draw(st.sampled_from(EXTREME))
            unit = value.split(" ", 1)[1] if isinstance(value, str) and " " in value else ""
            parent[key] = f"{x} {unit}" if unit and isinstance(x, float) and math.isfinite(x) else x
        elif how == "extreme_text":
            parent[key] = draw(st.sampled_from(["", " ", "x" * 10_000, "\u202e", "${HOME}", "{{7*7}}",
                                                "../../../../etc/passwd", "NaN m^3", "1e400 Pa"]))
    text = dump(doc).encode("utf-8")
    for how in textual:
        if how == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif how == "garbage":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.binary(min_size=1, max_size=16)) + text[at:]
        elif how == "duplicate_line":
            lines = text.split(b"\n")
            i = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines.insert(i, lines[i])
            text = b"\n".join(lines)
    return text
