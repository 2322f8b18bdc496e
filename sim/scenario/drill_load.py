"""Loading drill files: the drill, its scenario, the procedures the trainee may start, every name checked.

Every inject target (hatch, valve, leak, compartment, crew member, vehicle, gas supply), every
``when:`` condition and every event a deadline refers to (``of: inject dragon-jam``) is checked
against the scenario and its station at load time; all problems are raised together as one
:class:`~sim.errors.InputError`, each as ``file:line: path: message``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.paths import reference
from sim.procedures.conditions import Condition, ConditionContext, ConditionError, compile_condition
from sim.scenario.drill_model import (
    ALARMS,
    EVENT_KINDS,
    CrewAtVehicles,
    CrewSeparatedFromLeak,
    Drill,
    FalseAlarm,
    GaugeFails,
    HatchesClosed,
    HatchJams,
    LeakChange,
    LeakIsolated,
    NewLeak,
    ScenarioCheck,
    TreserveMeasured,
    ValveStuck,
)
from sim.scenario.load import LoadedScenario, scenario_from_document
from sim.scenario.procedure_load import procedure_from_document
from sim.scenario.scenario_model import Leak
from sim.scenario.validation import did_you_mean, validate_document
from sim.scenario.yamlio import Document, load_yaml
from sim.units import format_duration

__all__ = ["EventRef", "LoadedDrill", "drill_from_document", "load_drill", "parse_event_ref", "segment_hatches"]


@dataclass(frozen=True)
class EventRef:
    """A reference to the first event of a kind in a run: ``alarm``, ``inject dragon-jam`` …"""

    kind: str
    arg: str | None = None

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind} {self.arg}"


@dataclass
class LoadedDrill:
    """A validated drill, ready to run.

    Attributes
    ----------
    loaded : the scenario as the drill runs it (its ``set:`` applied, new leaks of injects added,
        never started by themselves); ``loaded.files`` also holds the drill (role ``drill``) and the
        procedure library, so a run directory keeps everything it needs to replay.
    conditions : inject name -> compiled ``when:`` condition.
    refs : ``(index in expect, "of" or "before") -> EventRef``.
    library : procedure name -> LoadedProcedure, startable in live play (``start NAME``).
    """

    drill: Drill
    doc: Document
    loaded: LoadedScenario
    conditions: dict[str, Condition] = field(default_factory=dict)
    refs: dict[tuple[int, str], EventRef] = field(default_factory=dict)
    library: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path | None:
        return self.doc.path

    def inject(self, name: str):
        """The inject called *name*, or None."""
        return next((i for i in self.drill.injects if i.name == name), None)


def load_drill(path: str | Path) -> LoadedDrill:
    """Load and fully check a drill file.

    Raises
    ------
    InputError
        Listing every problem, each as ``file:line: path: message``.
    """
    return drill_from_document(load_yaml(path))


def parse_event_ref(text: str) -> EventRef:
    """``"inject dragon-jam"`` -> ``EventRef("inject", "dragon-jam")``.

    Raises
    ------
    ValueError
        If the text is not ``KIND`` or ``KIND NAME``, or the kind is not one of :data:`EVENT_KINDS`.
    """
    parts = text.split()
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"expected an event such as 'alarm' or 'inject NAME', got {text!r}")
    kind = parts[0]
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event '{kind}'{did_you_mean(kind, EVENT_KINDS)}")
    arg = parts[1] if len(parts) == 2 else None
    if kind == "inject" and arg is None:
        raise ValueError("'inject' needs the inject's name: 'inject NAME'")
    if kind == "start" and arg is not None:
        raise ValueError("'start' takes no name")
    return EventRef(kind, arg)


def segment_hatches(station) -> list[str]:
    """Hatches whose two sides belong to different segments (the RS/USOS boundary on the ISS)."""
    places = station.compartments | station.vehicles
    out = []
    for hid, h in station.hatches.items():
        a, b = (places[x].segment for x in h.between)
        if a is not None and b is not None and a != b:
            out.append(hid)
    return out


def _sub_document(doc: Document, key: str) -> Document:
    """The part of *doc* under *key* as a document of its own (same file, same lines)."""
    n = 1
    lines = {loc[n:]: line for loc, line in doc.lines.items() if loc[:n] == (key,)}
    return Document(doc.file, doc.data[key], lines, doc.path)


def _prefixed(problems: list[Problem], prefix: str) -> list[Problem]:
    return [replace(p, path=f"{prefix}.{p.path}" if p.path else prefix) for p in problems]


def drill_from_document(doc: Document) -> LoadedDrill:
    """Validate a parsed drill document; see :func:`load_drill`."""
    if not isinstance(doc.data, dict):
        raise InputError(Problem(doc.file, 1, "", "expected a mapping of keys to values at the top"))
    drill = validate_document(Drill, doc)
    problems: list[Problem] = []

    def bad(loc, message):
        problems.append(doc.problem(loc, message))

    # -- what the drill itself defines --------------------------------------------------------
    names: dict[str, int] = {}
    for i, inj in enumerate(drill.injects):
        if inj.name in names:
            bad(("injects", i, "name"), f"duplicated inject name '{inj.name}' (first at injects[{names[inj.name]}])")
        names.setdefault(inj.name, i)
    refs: dict[tuple[int, str], EventRef] = {}
    for i, exp in enumerate(drill.expect):
        for key in ("of", "before"):
            text = getattr(exp, key, None)
            if text is None or (key == "of" and getattr(exp, "within", None) is None):
                continue
            try:
                refs[(i, key)] = parse_event_ref(text)
            except ValueError as exc:
                bad(("expect", i, key), str(exc))
                continue
            ref = refs[(i, key)]
            if ref.kind == "inject" and ref.arg not in names:
                bad(("expect", i, key), f"deadline relative to unknown inject '{ref.arg}'{did_you_mean(ref.arg, names)}")
            if ref.kind == "alarm" and ref.arg is not None and ref.arg not in ALARMS:
                bad(("expect", i, key), f"unknown alarm '{ref.arg}'{did_you_mean(ref.arg, ALARMS)}")

    # -- the scenario ---------------------------------------------------------------------------
    overrides = [f"{k}={v}" for k, v in drill.set.items()]
    try:
        if isinstance(drill.scenario, str):
            base = doc.path.parent if doc.path is not None else Path.cwd()
            try:
                target = reference(base, drill.scenario)
            except ValueError as exc:
                raise InputError(doc.problem(("scenario",), str(exc))) from None
            display = os.path.normpath(Path(doc.file).parent / drill.scenario)
            loaded = scenario_from_document(load_yaml(target, display=display), overrides)
        else:
            try:
                loaded = scenario_from_document(_sub_document(doc, "scenario"), overrides)
            except InputError as exc:
                raise InputError(_prefixed([p for p in exc.problems if p.file == doc.file], "scenario")
                                 + [p for p in exc.problems if p.file != doc.file]) from None
            loaded.files.pop("scenario", None)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None

    sc, st = loaded.scenario, loaded.station
    places = set(st.compartments) | set(st.vehicles)
    crew_ids = {c.id for c in sc.crew}
    roles = {r for c in sc.crew for r in c.roles}
    leaks = {lk.id for lk in sc.leaks}
    new_leaks = {inj.leak for inj in drill.injects if isinstance(inj, NewLeak)}

    def unknown(loc, what, name, known):
        bad(loc, f"unknown {what} '{name}'{did_you_mean(name, known)}")

    context = ConditionContext(compartments=frozenset(places), crew_ids=frozenset(crew_ids), roles=frozenset(roles))
    conditions: dict[str, Condition] = {}
    added: list[Leak] = []
    seen_new: set[str] = set()
    never = 2 * sc.duration + 1.0  # a drill's new leak starts only when its inject fires
    for i, inj in enumerate(drill.injects):
        loc = ("injects", i)
        if inj.when is not None:
            try:
                conditions[inj.name] = compile_condition(inj.when, context)
            except ConditionError as exc:
                bad((*loc, "when"), f"{exc.message} in {inj.when!r}")
        if isinstance(inj, NewLeak):
            if inj.leak in leaks or inj.leak in seen_new:
                bad((*loc, "leak"), f"leak '{inj.leak}' already exists; a new leak needs a new id")
            seen_new.add(inj.leak)
            if inj.in_ not in places:
                unknown((*loc, "in"), "compartment", inj.in_, places)
                continue
            size = {k: getattr(inj, k) for k in ("rate", "area", "diameter") if getattr(inj, k) is not None}
            if inj.rate is None:
                size["cd"] = inj.cd
            added.append(Leak.model_validate({"id": inj.leak, "at": inj.in_, "start": never, **size}))
        elif isinstance(inj, LeakChange):
            if inj.leak not in leaks | new_leaks:
                unknown((*loc, "leak"), "leak", inj.leak, leaks | new_leaks)
        elif hasattr(inj, "hatch"):
            if inj.hatch not in st.hatches:
                unknown((*loc, "hatch"), "hatch", inj.hatch, st.hatches)
            elif isinstance(inj, ValveStuck) and st.hatches[inj.hatch].valve is None:
                bad((*loc, "hatch"), f"hatch '{inj.hatch}' has no equalization valve")
        elif isinstance(inj, GaugeFails):
            if inj.of not in places | {"station"}:
                unknown((*loc, "of"), "compartment", inj.of, places | {"station"})
        elif isinstance(inj, FalseAlarm):
            for j, where in enumerate(inj.where):
                if where not in places:
                    unknown((*loc, "where", j), "compartment", where, places)
        elif hasattr(inj, "crew"):
            if inj.crew not in crew_ids:
                unknown((*loc, "crew"), "crew member", inj.crew, crew_ids)
        elif hasattr(inj, "vehicle"):
            if inj.vehicle not in st.vehicles:
                unknown((*loc, "vehicle"), "vehicle", inj.vehicle, st.vehicles)
        elif hasattr(inj, "supply") and inj.supply not in st.gas_supply:
            unknown((*loc, "supply"), "gas supply", inj.supply, st.gas_supply)

    all_leaks = leaks | new_leaks
    for (i, key), ref in refs.items():
        loc = ("expect", i, key)
        if ref.kind in ("hatch_closed", "hatch_opened") and ref.arg is not None and ref.arg not in st.hatches:
            bad(loc, f"deadline relative to unknown hatch '{ref.arg}'{did_you_mean(ref.arg, st.hatches)}")
        if ref.kind in ("leak_start", "leak_detected") and ref.arg is not None and ref.arg not in all_leaks:
            bad(loc, f"deadline relative to unknown leak '{ref.arg}'{did_you_mean(ref.arg, all_leaks)}")
    for i, inj in enumerate(drill.injects):
        if inj.at is not None and inj.at >= sc.duration:
            bad(("injects", i, "at"), f"inject '{inj.name}' at {format_duration(inj.at)} is at or after the drill's end "
                                      f"({format_duration(sc.duration)}): it would never fire; expected a time before the end")
    jams = {inj.name: inj.hatch for inj in drill.injects if isinstance(inj, HatchJams)}
    initially_open = {h: sc.initial.hatches.get(h, "open" if x.open else "closed") == "open"
                      for h, x in st.hatches.items()}
    for i, exp in enumerate(drill.expect):
        loc = ("expect", i)
        ref = refs.get((i, "of"))
        if isinstance(exp, HatchesClosed):
            if exp.hatches == "segments":
                if not segment_hatches(st):
                    bad((*loc, "hatches"), "no hatch joins two segments (give the compartments 'segment:')")
            else:
                for j, h in enumerate(exp.hatches):
                    if h not in st.hatches:
                        unknown((*loc, "hatches", j), "hatch", h, st.hatches)
            hatches = segment_hatches(st) if exp.hatches == "segments" else [h for h in exp.hatches if h in st.hatches]
            if ref is not None and ref.kind == "start" and hatches and not any(initially_open[h] for h in hatches):
                bad((*loc, "of"), f"{', '.join(hatches)} {'is' if len(hatches) == 1 else 'are'} closed at the start: "
                                  "this is met before the drill starts; expected a later reference event "
                                  "(of: hatch_opened HATCH, alarm, inject NAME …)")
            if ref is not None and ref.kind == "inject" and jams.get(ref.arg) in hatches:
                bad((*loc, "of"), f"inject '{ref.arg}' jams hatch {jams[ref.arg]} and no command clears a jam: "
                                  "closing it after the jam cannot be met; expected crew_separated_from_leak "
                                  "(any hatch that cuts the crew off from the leak counts) or a reference "
                                  "before the jam")
        elif isinstance(exp, CrewAtVehicles):
            known = crew_ids | roles | {"all"}
            if exp.who not in known:
                unknown((*loc, "who"), "crew member or role", exp.who, known)
            else:
                for c in sc.crew:
                    if (exp.who in ("all", c.id) or exp.who in c.roles) and c.vehicle is None:
                        bad((*loc, "who"), f"crew member '{c.id}' has no assigned vehicle")
            if ref is not None and ref.kind == "start" and exp.who in crew_ids | roles | {"all"}:
                members = [c for c in sc.crew if exp.who in ("all", c.id) or exp.who in c.roles]
                if members and all(c.at == c.vehicle for c in members):
                    bad((*loc, "of"), f"{exp.who} start at their vehicles: this is met before the drill starts; "
                                      "expected a later reference event (of: alarm, inject NAME …)")
        elif isinstance(exp, LeakIsolated):
            if exp.leak not in all_leaks:
                unknown((*loc, "leak"), "leak", exp.leak, all_leaks)
        elif isinstance(exp, CrewSeparatedFromLeak):
            if exp.leak not in all_leaks:
                unknown((*loc, "leak"), "leak", exp.leak, all_leaks)
            known = crew_ids | roles | {"all"}
            if exp.who not in known:
                unknown((*loc, "who"), "crew member or role", exp.who, known)
        elif isinstance(exp, ScenarioCheck):
            check = exp.check
            of = getattr(check, "of", None)
            if of is not None and of not in places | {"station"}:
                unknown((*loc, "check", "of"), "compartment", of, places | {"station"})
            if getattr(check, "hatch", None) is not None and check.hatch not in st.hatches:
                unknown((*loc, "check", "hatch"), "hatch", check.hatch, st.hatches)
            if getattr(check, "leak", None) is not None and check.leak not in all_leaks:
                unknown((*loc, "check", "leak"), "leak", check.leak, all_leaks)
            if getattr(check, "crew", None) is not None and check.crew not in crew_ids:
                unknown((*loc, "check", "crew"), "crew member", check.crew, crew_ids)
            if getattr(check, "role", None) is not None and check.role not in roles:
                bad((*loc, "check", "role"), f"no crew member has role '{check.role}'")
        elif isinstance(exp, TreserveMeasured):
            pass  # its event references are checked above

    # -- the scenario as the drill runs it, and the procedure library ----------------------------
    scenario = sc.model_copy(update={"leaks": [*sc.leaks, *added]}) if added else sc
    files = dict(loaded.files)
    if doc.path is not None:
        files["drill"] = doc.path
    library: dict[str, Any] = {Path(p).stem: proc for p, proc in loaded.procedures.items()}
    if drill.procedures:
        base = doc.path.parent if doc.path is not None else Path.cwd()
        for name, rel in drill.procedures.items():
            try:
                target = reference(base, rel)
            except ValueError as exc:
                bad(("procedures", name), str(exc))
                continue
            try:
                pdoc = load_yaml(target, display=os.path.normpath(Path(doc.file).parent / rel))
                library[name] = procedure_from_document(pdoc, scenario, st)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            files.setdefault(f"procedure:{rel}", target)
    if problems:
        raise InputError(problems)
    runnable = LoadedScenario(scenario, st, loaded.path, files, dict(loaded.procedures), loaded.overrides)
    return LoadedDrill(drill, doc, runnable, conditions, refs, library)
