"""Loading procedure files and checking every name they use against the scenario and station.

A reference to an unknown hatch, compartment, leak, role, variable or phase, a condition that does
not parse, or a loop of phases that cannot advance time is an input error at load time, located by
file and line, never a failure halfway through a run.
"""

from __future__ import annotations

import graphlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.paths import reference
from sim.procedures.conditions import (
    STATION,
    Condition,
    ConditionContext,
    ConditionError,
    check_variable_name,
    compile_condition,
)
from sim.scenario.distributions import Fixed, sample_duration  # noqa: F401  (re-exported for handlers)
from sim.scenario.overrides import apply_overrides
from sim.scenario.procedure_model import (
    CloseHatch,
    CloseValve,
    End,
    Evacuate,
    Goto,
    If,
    Measure,
    Move,
    OpenHatch,
    OpenValve,
    Parallel,
    PhaseSpec,
    Procedure,
    Repair,
    Repress,
    Shelter,
    Undock,
    Wait,
    phase_steps,
)
from sim.scenario.scenario_model import Scenario
from sim.scenario.station_model import Station
from sim.scenario.validation import did_you_mean, validate_document
from sim.scenario.yamlio import Document, load_yaml

__all__ = ["LoadedProcedure", "load_run_procedures", "procedure_from_document", "walk_steps"]

MEASURE_KINDS = {"dpdt": "rate", "treserve": "time", "pressure": "pressure", "ppO2": "pressure", "ppCO2": "pressure"}
"""Dimension kind of the variable each kind of measurement sets."""

MOVE_TARGETS = ("post", "vehicle")
"""Words a ``move`` accepts beside compartment ids: each member's start, or assigned vehicle."""


@dataclass
class LoadedProcedure:
    """A validated procedure with its compiled conditions.

    Attributes
    ----------
    conditions : dict
        ``id(step) -> Condition`` for every ``if`` and ``wait until`` step.
    """

    procedure: Procedure
    doc: Document
    conditions: dict[int, Condition] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)


def walk_steps(procedure: Procedure) -> Iterator[tuple[tuple, Any]]:
    """Every step with its document location, nested ``parallel`` branches included."""
    for name, phase in procedure.phases.items():
        base = ("phases", name) if isinstance(phase, list) else ("phases", name, "steps")
        yield from _walk(phase_steps(phase), base)


def _walk(steps: list, base: tuple) -> Iterator[tuple[tuple, Any]]:
    for i, step in enumerate(steps):
        loc = (*base, i)
        yield loc, step
        if isinstance(step, Parallel):
            for branch, sub in step.parallel.items():
                yield from _walk(sub, (*loc, "parallel", branch))


def procedure_from_document(doc: Document, scenario: Scenario | None = None, station: Station | None = None,
                            bind: dict[str, list[str]] | None = None) -> LoadedProcedure:
    """Validate a procedure document, alone or against a scenario and its station.

    Alone, only what the file itself defines is checked (phases, variables, conditions, roles it
    declares); with a scenario, every hatch, compartment, leak, supply, vehicle and crew reference
    is checked too.

    Raises
    ------
    InputError
        Listing every problem.
    """
    if not isinstance(doc.data, dict):
        raise InputError(Problem(doc.file, 1, "", "expected a mapping of keys to values at the top"))
    procedure = validate_document(Procedure, doc)
    loaded = LoadedProcedure(procedure, doc)
    problems = _check(loaded, scenario, station, bind or {})
    if problems:
        raise InputError(problems)
    return loaded


def _check(loaded: LoadedProcedure, scenario: Scenario | None, station: Station | None,
           bind: dict[str, list[str]], relocate=None) -> list[Problem]:
    proc, doc = loaded.procedure, loaded.doc
    out: list[Problem] = []
    where = relocate or (lambda loc: loc)
    phases = set(proc.phases)
    roles = set(proc.roles)
    crew_ids = {c.id for c in scenario.crew} if scenario else set()
    places = set(station.compartments) | set(station.vehicles) if station else set()
    hatches = station.hatches if station else {}
    leaks = {leak.id for leak in scenario.leaks} if scenario else set()

    def bad(loc, message):
        out.append(doc.problem(where(tuple(loc)), message))

    def check_phase(loc, name):
        if name is not None and name not in phases:
            bad(loc, f"unknown phase '{name}'{did_you_mean(name, phases)}")

    def check_who(loc, who, allow_all=True):
        known = roles | crew_ids | ({"all"} if allow_all else set())
        if scenario is None and who not in known and (allow_all or who != "all"):
            return  # alone, a name that is not a declared role may be a crew id of some scenario
        if who not in known:
            bad(loc, f"unknown role '{who}'{did_you_mean(who, known)}; declare it under roles:")

    def check_place(loc, name, extra=()):
        if station is not None and name not in places and name not in extra:
            bad(loc, f"unknown compartment '{name}'{did_you_mean(name, places | set(extra))}")

    def check_hatch(loc, hid, needs_valve=False):
        if station is None:
            return
        if hid not in hatches:
            bad(loc, f"unknown hatch '{hid}'{did_you_mean(hid, hatches)}")
        elif needs_valve and hatches[hid].valve is None:
            bad(loc, f"hatch '{hid}' has no equalization valve")

    # variables set by measurements, then conditions compiled against them
    variables: dict[str, str] = {}
    for loc, step in walk_steps(proc):
        if isinstance(step, Measure):
            try:
                check_variable_name(step.as_)
            except (ConditionError, ValueError) as exc:
                bad((*loc, "as"), getattr(exc, "message", str(exc)))
                continue
            kind = MEASURE_KINDS[step.what]
            if variables.setdefault(step.as_, kind) != kind:
                bad((*loc, "as"), f"variable '{step.as_}' already holds a {variables[step.as_]} reading")
    loaded.variables = variables
    context = ConditionContext(
        compartments=frozenset(places) if station else frozenset(_places_named(proc)),
        crew_ids=frozenset(crew_ids) if scenario else frozenset(_crew_named(proc) - roles),
        roles=frozenset(roles), phases=frozenset(phases), variables=variables,
    )
    check_phase(("on_expiry",), proc.on_expiry)
    for name, phase in proc.phases.items():
        if isinstance(phase, PhaseSpec):
            check_phase(("phases", name, "on_expiry"), phase.on_expiry)
    for loc, step in walk_steps(proc):
        check_phase((*loc, "on_expiry"), step.on_expiry)
        if isinstance(step, If | Wait) and (text := step.if_ if isinstance(step, If) else step.until) is not None:
            key = "if" if isinstance(step, If) else "until"
            try:
                loaded.conditions[id(step)] = compile_condition(text, context)
            except ConditionError as exc:
                bad((*loc, key), f"{exc.message} in {text!r}")
        if isinstance(step, If):
            check_phase((*loc, "then"), step.then)
            check_phase((*loc, "else"), step.else_)
        elif isinstance(step, Goto):
            check_phase((*loc, "goto"), step.goto)
        elif isinstance(step, Move):
            check_who((*loc, "who"), step.who)
            check_place((*loc, "to"), step.to, MOVE_TARGETS)
        elif isinstance(step, CloseHatch | OpenHatch | OpenValve | CloseValve):
            check_who((*loc, "by"), step.by, allow_all=False)
            check_hatch((*loc, "hatch"), step.hatch, needs_valve=isinstance(step, OpenValve | CloseValve))
            if step.side is not None and step.hatch in hatches and step.side not in hatches[step.hatch].between:
                bad((*loc, "side"), f"'{step.side}' is not beside hatch '{step.hatch}' "
                    f"(it joins {' and '.join(hatches[step.hatch].between)})")
        elif isinstance(step, Shelter):
            check_who((*loc, "who"), step.who)
            if station is not None and step.in_ is not None:
                if step.in_ not in station.vehicles:
                    bad((*loc, "in"), f"unknown vehicle '{step.in_}'{did_you_mean(step.in_, station.vehicles)}")
                elif not station.vehicles[step.in_].shelter:
                    bad((*loc, "in"), f"vehicle '{step.in_}' is not a shelter (shelter: false)")
            elif scenario is not None and step.in_ is None:
                for member in _members(scenario, step.who, bind):
                    if member.vehicle is None:
                        bad((*loc, "who"), f"crew member '{member.id}' has no assigned vehicle; "
                            "give the step 'in: VEHICLE' or the crew member 'vehicle:'")
        elif isinstance(step, Repair):
            check_who((*loc, "by"), step.by)
            if scenario is not None and step.leak not in leaks:
                bad((*loc, "leak"), f"unknown leak '{step.leak}'{did_you_mean(step.leak, leaks)}")
            if step.at is not None:
                check_place((*loc, "at"), step.at)
        elif isinstance(step, Measure):
            if step.by is not None:
                check_who((*loc, "by"), step.by, allow_all=False)
            check_place((*loc, "of"), step.of, (STATION,))
        elif isinstance(step, Repress):
            check_who((*loc, "by"), step.by, allow_all=False)
            if station is not None:
                if step.supply not in station.gas_supply:
                    bad((*loc, "supply"), f"unknown gas supply '{step.supply}'{did_you_mean(step.supply, station.gas_supply)}")
                elif step.into not in station.gas_supply[step.supply].into:
                    bad((*loc, "into"), f"supply '{step.supply}' feeds {', '.join(station.gas_supply[step.supply].into)}, "
                        f"not '{step.into}'")
                elif step.rate is not None and step.rate > station.gas_supply[step.supply].max_rate * (1 + 1e-9):
                    bad((*loc, "rate"), f"{step.rate:g} kg/s exceeds the max_rate of supply '{step.supply}', "
                        f"{station.gas_supply[step.supply].max_rate:g} kg/s")
        elif isinstance(step, Undock):
            if step.by is not None:
                check_who((*loc, "by"), step.by, allow_all=False)
            if station is not None and step.vehicle not in station.vehicles:
                bad((*loc, "vehicle"), f"unknown vehicle '{step.vehicle}'{did_you_mean(step.vehicle, station.vehicles)}")
        elif isinstance(step, Evacuate):
            check_who((*loc, "who"), step.who)
            if scenario is not None:
                for member in _members(scenario, step.who, bind):
                    if member.vehicle is None:
                        bad((*loc, "who"), f"crew member '{member.id}' has no assigned vehicle to evacuate in")
    if scenario is not None:
        for i, role in enumerate(proc.roles):
            if not _members(scenario, role, bind):
                bad(("roles", i), f"no crew member has role '{role}'; give it to someone under crew: or bind it in run:")
    if relocate is None:
        out.extend(_loops_without_time(loaded))
    return out


TIMELINE_KINDS = ("move", "close_hatch", "open_hatch", "open_valve", "close_valve", "shelter", "repair",
                  "measure", "repress", "undock", "evacuate")
"""Step kinds an as-flown timeline may hold: actions, not control flow."""


def timeline_procedure(scenario: Scenario, station: Station, doc: Document) -> tuple[LoadedProcedure | None, list[Problem]]:
    """The scenario's as-flown timeline as a procedure of one phase, checked like a procedure.

    Each entry's step keeps its own start time (``scenario.timeline[i].at``); the engine runs it
    then. Problems are located at the entries in the scenario file.
    """
    if not scenario.timeline:
        return None, []
    problems: list[Problem] = []
    kept: list[int] = []  # indexes of the action entries, checked further below
    for i, entry in enumerate(scenario.timeline):
        kind = getattr(entry.step, "do", None)
        if kind in TIMELINE_KINDS:
            kept.append(i)
        else:
            problems.append(doc.problem(("timeline", i), f"a timeline entry is an action ({', '.join(TIMELINE_KINDS)}), "
                                        f"not '{kind or 'control flow'}'"))
    if not kept:
        return None, problems
    roles = sorted({r for c in scenario.crew for r in c.roles})  # as flown, any crew role may be named
    steps = [scenario.timeline[i].step for i in kept]
    proc = Procedure(name="as-flown timeline", roles=roles, phases={"timeline": steps})
    loaded = LoadedProcedure(proc, doc)

    def relocate(loc: tuple) -> tuple:
        # ("phases", "timeline", k, *rest) in the synthetic procedure is ("timeline", kept[k], *rest) in the file
        if loc[:2] == ("phases", "timeline") and len(loc) > 2:
            return ("timeline", kept[loc[2]], *loc[3:])
        return ("timeline",)

    problems += _check(loaded, scenario, station, {}, relocate=relocate)
    return (loaded if not problems else None), problems


def _places_named(proc: Procedure) -> set[str]:
    """Compartment-like names a procedure uses, so conditions can be checked without a station."""
    names: set[str] = set()
    for _, step in walk_steps(proc):
        for attr in ("to", "at", "of", "into", "side", "in_", "vehicle"):
            value = getattr(step, attr, None)
            if isinstance(value, str) and value not in MOVE_TARGETS:
                names.add(value)
    for _, step in walk_steps(proc):
        for attr in ("if_", "until"):
            text = getattr(step, attr, None)
            if isinstance(text, str):
                names.update(re.findall(r"\b(?:p|ppO2|ppCO2|dpdt|treserve)\(\s*([A-Za-z][\w-]*)\s*\)", text))
    names.discard(STATION)
    return names


def _crew_named(proc: Procedure) -> set[str]:
    """Names a procedure passes to ``status()`` and ``location()``: crew ids, unknown without a scenario."""
    names: set[str] = set()
    for _, step in walk_steps(proc):
        for attr in ("if_", "until"):
            text = getattr(step, attr, None)
            if isinstance(text, str):
                names.update(re.findall(r"\b(?:status|location)\(\s*([A-Za-z][\w-]*)\s*\)", text))
    return names


def _members(scenario: Scenario, who: str, bind: dict[str, list[str]]):
    if who == "all":
        return list(scenario.crew)
    if who in bind:
        return [c for c in scenario.crew if c.id in bind[who]]
    return [c for c in scenario.crew if c.id == who or who in c.roles]


MIN_LOOP_TIME = 1.0
"""Least time a step must let pass to break a loop of phases [s]: a loop around a microsecond wait
would otherwise pass this check and grow the event log by a million events per simulated second."""


def _advances_time(step) -> bool:
    """Whether a step surely lets at least :data:`MIN_LOOP_TIME` of simulated time pass (conservatively)."""
    if isinstance(step, Wait):
        return step.until is not None or (step.for_ or 0) >= MIN_LOOP_TIME
    if isinstance(step, Measure):
        return step.window >= MIN_LOOP_TIME
    if isinstance(step, Repair):
        d = step.duration
        if isinstance(d, int | float):
            return d >= MIN_LOOP_TIME
        return d.value >= MIN_LOOP_TIME if isinstance(d, Fixed) else True  # a distribution of durations
    if isinstance(step, Parallel):
        return any(_advances_time(s) for sub in step.parallel.values() for s in sub)
    return False


def _loops_without_time(loaded: LoadedProcedure) -> list[Problem]:
    """Cycles of phases in which no step lets time pass: they would spin forever at one instant."""
    proc, doc = loaded.procedure, loaded.doc
    names = list(proc.phases)
    successors: dict[str, list[str]] = {}
    for k, name in enumerate(names):
        steps = phase_steps(proc.phases[name])
        successors[name] = after = []
        for step in steps:
            if _advances_time(step):
                break  # whatever follows happens later
            for target in (getattr(step, "then", None), getattr(step, "else_", None), getattr(step, "goto", None)):
                if target in proc.phases:
                    after.append(target)
            if isinstance(step, Goto | End):
                break
            if isinstance(step, If) and step.else_ is not None:
                break
        else:
            if k + 1 < len(names):
                after.append(names[k + 1])
    try:  # the usual case, no loop at all, is told without importing networkx (start-up cost of
        # validate); a graph and its reverse have the same cycles, so successors serve as predecessors
        graphlib.TopologicalSorter(successors).prepare()
        return []
    except graphlib.CycleError:
        pass
    import networkx as nx  # only to list the loops (an error): lazy for start-up cost

    G = nx.DiGraph()
    for name, after in successors.items():  # nodes and edges in the order of the phases and steps
        G.add_node(name)
        G.add_edges_from((name, target) for target in after)
    problems = []
    for cycle in nx.simple_cycles(G):
        first = min(cycle, key=names.index)
        start = cycle.index(first)
        ordered = cycle[start:] + cycle[:start]
        problems.append(doc.problem(("phases", first), "phases " + " -> ".join([*ordered, first])
                                    + " loop without any step that lets time pass (add a wait or a measurement "
                                    f"of at least {MIN_LOOP_TIME:g} s)"))
        if len(problems) >= 5:
            break
    return problems


def load_run_procedures(scenario: Scenario, station: Station, doc: Document, files: dict[str, Path],
                        overrides: dict[int, list[str]] | None = None,
                        ) -> tuple[dict[str, LoadedProcedure], list[Problem]]:
    """Load every procedure a scenario's ``run`` entries name, checked against the scenario.

    *overrides* maps a run entry's index to ``PATH=VALUE`` settings of fields inside its procedure
    file (``--set run.0.procedure.phases.repair.0.success=false``); they change that file for the
    run, so every entry naming the same file sees them.
    """
    overrides = overrides or {}
    procedures: dict[str, LoadedProcedure] = {}
    problems: list[Problem] = []
    base = doc.path.parent if doc.path is not None else Path.cwd()
    for i, entry in enumerate(scenario.run):
        try:
            target = reference(base, entry.procedure)
        except ValueError as exc:
            problems.append(doc.problem(("run", i, "procedure"), str(exc)))
            continue
        bind = entry.bind or {}
        crew_ids = {c.id for c in scenario.crew}
        for role, ids in bind.items():
            for j, cid in enumerate(ids):
                if cid not in crew_ids:
                    problems.append(doc.problem(("run", i, "bind", role, j),
                                                f"unknown crew member '{cid}'{did_you_mean(cid, crew_ids)}"))
        display = os.path.normpath(Path(doc.file).parent / entry.procedure)
        try:
            pdoc = load_yaml(target, display=display)
            if overrides.get(i):
                pdoc = apply_overrides(pdoc, overrides[i], prefix=f"run.{i}.procedure.")
            loaded = procedure_from_document(pdoc, scenario, station, bind)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        procedures[entry.procedure] = loaded
        files.setdefault(f"procedure:{entry.procedure}", target)
    return procedures, problems
