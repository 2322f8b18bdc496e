"""Safe-haven assessment of a station design: every compartment x hole size, the emergency response.

An *assessment file* is a scenario (station, crew with their vehicles, duration); its own leaks,
run entries, events and checks are replaced. For each case (compartment *c*, hole of diameter *d*)
Safehaven runs the scenario with:

* every hatch open (``initial.hatches``: the station as lived in), every valve as the station has it;
* a hole of diameter *d*, ``cd`` 0.6, opening at ``LEAK_START`` in *c*;
* the response, started by the rapid-depressurization alarm: by default the *isolation response*,
  a procedure written for the case: every crew member to their vehicle (the safe haven), and in
  parallel, for each hatch of *c*, the nearest free crew member closes it from the side away from
  *c*; or a procedure file given (``procedure``), run as it is on the alarm (the shipped
  ``procedures/emergency-depress.yaml`` for the ISS, whose hatch names are the ISS's); or no
  response at all (``procedure="none"``: the passive blow-down, every hatch left open).

Per case: ``treserve_s``, the reserve time at the hole's opening (model truth, closed form: the
time the connected volume takes to fall from ``p0`` to the floor at its initial rate,
``tau (1 - pf/p0)``, ``tau = V / (Cd A c*)``); ``isolated_s`` (time from the hole to the leak's
isolation from the crew, or None); ``floor_s`` (time from the hole until a compartment other than
*c* falls below the reserve floor, or None); ``sheltered`` (every crew member reached a vehicle);
``crew_ok`` (nobody impaired or worse); ``air_lost_kg``; ``hatches`` (the hatches whose closing
isolated the leak, with their times); ``p_min_crew_Pa`` (the lowest pressure any crew member saw);
and ``verdict``: ``safe`` (isolated, everyone sheltered and unharmed, the rest of the station above
the floor), ``marginal`` (isolated, but someone was not sheltered or the rest fell below the
floor), ``undetected`` (the depress alarm never sounded in the case's duration, nobody was harmed
and no compartment reached the floor: a slow leak to be found by other means, see its Treserve),
``lost`` (never isolated, or someone impaired or worse).

The weakest compartments come first: sorted by their worst verdict, then by the shortest
Treserve of their largest hole.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import UsageError

__all__ = ["DEFAULT_HOLES", "LEAK_START", "Assessment", "Case", "assess", "parse_holes"]

DEFAULT_HOLES = "2mm,1cm,1in,5cm,10cm"
LEAK_START = 60.0
"""When the hole opens in each case [s]: after a minute of normal cabin life."""
GAMMA = 1.4
_K = (2 / (GAMMA + 1)) ** ((GAMMA + 1) / (2 * (GAMMA - 1)))
_VERDICTS = ("lost", "marginal", "undetected", "safe")


def parse_holes(text: str) -> list[tuple[str, float]]:
    """``2mm,1cm,1in`` -> [(label, diameter [m]), ...]."""
    from sim.units import UnitError, to_si

    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        label = part.replace(" ", "")
        try:
            import re

            spaced = re.sub(r"^([0-9.eE+-]+)\s*([A-Za-z].*)$", r"\1 \2", part)
            d = to_si(spaced, "length")
        except UnitError as exc:
            raise UsageError(f"--holes {part}: {exc}") from None
        if not 0 < d <= 10:
            raise UsageError(f"--holes {part}: a hole diameter must be above 0 and at most 10 m")
        out.append((label, d))
    if not out:
        raise UsageError("--holes: give at least one diameter, e.g. 2mm,1cm,1in")
    return out


@dataclass
class Case:
    """One compartment and hole size, and what happened (see the module docstring)."""

    compartment: str
    hole: str
    diameter_m: float
    treserve_s: float
    isolated_s: float | None
    floor_s: float | None
    sheltered: bool | None
    crew_ok: bool | None
    air_lost_kg: float
    hatches: list[dict[str, Any]]
    p_min_crew_Pa: float | None
    alarm_s: float | None
    verdict: str
    outcome: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Assessment:
    """Every case of a station, and the order of its compartments (weakest first)."""

    station: str
    response: str
    holes: list[str]
    compartments: list[str]
    cases: list[Case]
    floor_Pa: float
    duration_s: float
    crew: int
    notes: list[str] = field(default_factory=list)

    def case(self, compartment: str, hole: str) -> Case:
        return next(c for c in self.cases if c.compartment == compartment and c.hole == hole)

    def to_dict(self) -> dict[str, Any]:
        return {"station": self.station, "response": self.response, "holes": self.holes,
                "compartments": self.compartments, "floor_Pa": self.floor_Pa, "duration_s": self.duration_s,
                "crew": self.crew, "notes": self.notes, "cases": [c.to_dict() for c in self.cases]}


def _isolation_procedure(station, compartment: str, crew: list) -> dict[str, Any]:
    """The isolation response of one case, in the order of the ISS emergency response: every crew
    member goes to their vehicle (the safe haven; those in the holed compartment leave it); then
    each hatch joining *compartment* to a part of the station that holds a safe haven is closed
    from that part's side, all at once, each by the crew member whose vehicle is nearest to that
    side (fewest hatches, on paths that do not cross the holed compartment; one hatch each while
    others are free); parts beyond *compartment* with no
    safe haven (dead ends such as the PrK behind Zvezda) are given up with it, since closing them
    from their side would trap the closer. Then the closers return to their vehicles."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(list(station.compartments) + list(station.vehicles))
    for hid, h in station.hatches.items():
        g.add_edge(*h.between, hatch=hid)
    havens = {k for k, v in station.vehicles.items() if v.shelter} - {compartment}
    rest = g.copy()
    rest.remove_node(compartment)
    branches = {}
    hops = dict(nx.all_pairs_shortest_path_length(rest))  # paths that do not cross the holed compartment
    assigned: list[str] = []
    for part in nx.connected_components(rest):
        if havens and not part & havens:
            continue  # a dead end: lost with the holed compartment
        for side in sorted(part):
            if g.has_edge(compartment, side):
                hid = g.edges[compartment, side]["hatch"]
                free = [m for m in crew if m.id not in assigned] or list(crew)
                who = min(free, key=lambda m: (hops.get(m.vehicle or m.at, {}).get(side, 10**6),
                                               crew.index(m))).id if free else "crew"
                assigned.append(who)
                branches[f"close_{len(branches)}"] = [{"do": "close_hatch", "hatch": hid, "by": who,
                                                       "side": side, "label": f"isolate {compartment}: close {hid}"}]
    # the crew of a holed vehicle have no lifeboat: they go to where it is docked instead
    docked = {k: v.docked_to for k, v in station.vehicles.items()}
    moves = {m.id: (docked[compartment] if m.vehicle == compartment else (m.vehicle or m.at)) for m in crew}
    gather = {f"to_{mid}": [{"do": "move", "who": mid, "to": to, "if_trapped": "give_up",
                             "label": f"{mid} to {'their safe haven' if to != docked.get(compartment) else to}"}]
              for mid, to in moves.items()}
    phases: dict[str, Any] = {"gather": [{"parallel": gather}] if gather else [{"do": "end"}]}
    if branches:
        phases["isolate"] = [{"parallel": branches}]
        if gather:
            phases["return"] = [{"parallel": {k: [dict(v[0], label=v[0]["label"].replace("to", "back to", 1))]
                                              for k, v in gather.items()}}]
    return {"name": f"Isolation response: {compartment}", "roles": ["crew"], "phases": phases}


def _closed_form(station, compartment: str, diameter: float, cd: float, floor: float) -> float:
    """Treserve at the hole's opening [s]: the connected volume (every hatch open: the whole station
    joined to *compartment*) from p0 to *floor* at its initial rate."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(list(station.compartments) + list(station.vehicles))
    for h in station.hatches.values():
        g.add_edge(*h.between)
    zone = nx.node_connected_component(g, compartment)
    volumes = {**{k: c.volume for k, c in station.compartments.items()},
               **{k: v.volume for k, v in station.vehicles.items()}}
    atm = station.atmosphere
    p0 = atm.N2 + atm.O2 + atm.CO2
    r = _mixture_r(atm)
    c_star = math.sqrt(GAMMA * r * station.temperature) * _K
    tau = sum(volumes[k] for k in zone) / (cd * math.pi * diameter**2 / 4 * c_star)
    return tau * (1 - floor / p0)


def _mixture_r(atm) -> float:
    """R of the cabin mixture [J/(kg K)]: sum of mass fractions times the species' R (Dalton's law for ideal gases)."""
    import numpy as np

    from sim.atmosphere.flow import R_SPECIES, SPECIES

    pp = np.array([getattr(atm, s) for s in SPECIES])
    mass = pp / R_SPECIES  # proportional to each species' mass at one V and T
    return float(mass @ R_SPECIES / mass.sum())


def assess(path: str | Path, holes: list[tuple[str, float]] | None = None, procedure: str | Path | None = None,
           only: list[str] | None = None, seed: int | None = None) -> Assessment:
    """Run every case of the assessment file *path* (see the module docstring).

    Parameters
    ----------
    holes : [(label, diameter [m])], default :data:`DEFAULT_HOLES`.
    procedure : None (the isolation response), ``"none"`` (no response), or a procedure file.
    only : compartments to assess (default every compartment and vehicle).

    Raises
    ------
    InputError, UsageError
        For a bad file, an unknown compartment, or a procedure that does not load.
    """
    from sim.engine import simulate
    from sim.scenario.load import load_scenario
    from sim.scenario.yamlio import load_yaml

    path = Path(path)
    holes = holes or parse_holes(DEFAULT_HOLES)
    base = load_scenario(path)
    station = base.station
    raw = load_yaml(path).data
    places = list(station.compartments) + list(station.vehicles)
    if only:
        if bad := [c for c in only if c not in places]:
            raise UsageError(f"--only {bad[0]}: no such compartment; expected one of {', '.join(places)}")
        places = [c for c in places if c in only]
    floor = station.limits.reserve_floor
    response = "none" if procedure == "none" else ("isolation" if procedure is None else str(procedure))
    station_ref = raw["station"]
    if isinstance(station_ref, str):
        station_ref = str((path.parent / station_ref).resolve())
    cases = []
    with tempfile.TemporaryDirectory(prefix="safehaven-assess-") as tmp:
        for comp in places:
            run_entries = []
            if procedure is None:
                proc_file = Path(tmp, f"isolate-{comp}.yaml")
                proc_file.write_text(yaml.safe_dump(_isolation_procedure(station, comp, base.scenario.crew),
                                                    sort_keys=False))
                run_entries = [{"procedure": str(proc_file), "on": "rapid_depress",
                                "bind": {"crew": [m.id for m in base.scenario.crew]}}] if base.scenario.crew else []
            elif procedure != "none":
                run_entries = [{"procedure": str(Path(procedure).resolve()), "on": "rapid_depress"}]
            for label, diameter in holes:
                doc = {k: v for k, v in raw.items() if k not in ("leaks", "run", "events", "checks", "timeline",
                                                                 "station", "initial")}
                doc["station"] = station_ref
                doc["name"] = f"{raw.get('name', path.stem)}: {label} hole in {comp}"
                doc["initial"] = {"hatches": {h: "open" for h in station.hatches}}
                doc["leaks"] = [{"id": "hole", "at": comp, "diameter": diameter, "cd": 0.6, "start": LEAK_START}]
                doc["run"] = run_entries
                doc["checks"] = []
                case_file = Path(tmp, f"case-{comp}-{len(cases)}.yaml")
                case_file.write_text(yaml.safe_dump(doc, sort_keys=False))
                loaded = load_scenario(case_file)
                result = simulate(loaded, seed)
                cases.append(_case(result, station, comp, label, diameter, floor))
    order = _weakest_first(cases, places, [h for h, _ in holes])
    notes = []
    if not base.scenario.crew:
        notes.append("no crew in the assessment file: atmosphere only (sheltering not assessed)")
    return Assessment(str(path), response, [h for h, _ in holes], order, cases, floor, base.scenario.duration,
                      len(base.scenario.crew), notes)


def _case(result, station, comp: str, label: str, diameter: float, floor: float) -> Case:
    s = result.summary
    ev = list(result.events.of_kind("alarm", "leak_isolated", "hatch", "reserve_floor"))
    alarm = next((e["t"] for e in ev if e["kind"] == "alarm" and e.get("alarm") == "rapid_depress"), None)
    iso = next((e for e in ev if e["kind"] == "leak_isolated"), None)
    isolated_s = None if iso is None else iso["t"] - LEAK_START
    hatches = []
    if iso is not None:
        zone = set(iso.get("zone") or [comp])
        for e in ev:
            if e["kind"] == "hatch" and e.get("state") == "closed" and e["t"] <= iso["t"]:
                a, b = station.hatches[e["hatch"]].between
                if (a in zone) != (b in zone):
                    hatches.append({"hatch": e["hatch"], "closed_s": e["t"] - LEAK_START, "by": e.get("by")})
    floors = [e for e in ev if e["kind"] == "reserve_floor" and e.get("at") != comp
              and (iso is None or e.get("at") not in set(iso.get("zone") or [comp]))]
    floor_s = None if not floors else min(e.get("crossed_s", e["t"]) for e in floors) - LEAK_START
    crew = s.get("crew") or {}
    sheltered = None
    crew_ok = None
    p_min_crew = None
    if crew:
        sheltered = all(m.get("sheltered_s") is not None for m in crew.values())
        crew_ok = all(m.get("worst_status") in ("able", None) for m in crew.values())
        p_min_crew = min((m.get("min_p_Pa") for m in crew.values() if m.get("min_p_Pa") is not None), default=None)
    if alarm is None and floor_s is None and crew_ok is not False:
        verdict = "undetected"
    elif iso is None or crew_ok is False:
        verdict = "lost"
    elif (sheltered is False) or floor_s is not None:
        verdict = "marginal"
    else:
        verdict = "safe"
    leak = (s.get("leaks") or {}).get("hole") or {}
    return Case(comp, label, diameter, _closed_form(station, comp, diameter, 0.6, floor), isolated_s, floor_s,
                sheltered, crew_ok, float(leak.get("leaked_kg") or 0.0), hatches, p_min_crew,
                None if alarm is None else alarm - LEAK_START, verdict, str(s.get("outcome")),
                result.message or "")


def _weakest_first(cases: list[Case], places: list[str], holes: list[str]) -> list[str]:
    def key(comp):
        mine = [c for c in cases if c.compartment == comp]
        worst = min(_VERDICTS.index(c.verdict) for c in mine)
        largest = next(c for c in mine if c.hole == holes[-1]) if holes else mine[0]
        return (worst, sum(_VERDICTS.index(c.verdict) for c in mine), largest.treserve_s, comp)

    return sorted(places, key=key)
