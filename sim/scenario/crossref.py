"""Cross-reference checks: every id a file names must exist, and the station must hang together.

Each check returns located :class:`~sim.errors.Problem` records rather than raising, so that all
problems of a file are reported together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from sim.errors import Problem
from sim.scenario.fields import MAX_SCALE
from sim.scenario.scenario_model import Scenario
from sim.scenario.station_model import Station
from sim.scenario.validation import did_you_mean
from sim.scenario.yamlio import Document

__all__ = ["MAX_POLLS", "MAX_SAMPLES", "MAX_SERIES_VALUES", "check_scenario", "check_station"]

MAX_SAMPLES = 1_000_000
"""Most series samples a run records (duration / output.every); the series is held in memory."""
MAX_SERIES_VALUES = 50_000_000
"""Most numbers the series of a run may hold (samples x (1 + 3 compartments)), 400 MB as float64."""
MAX_POLLS = 1_000_000
"""Most caution-and-warning polls a run makes (duration / alarms.poll): 116 days at the default 10 s.

The run time grows with them (about 50 µs each), so a mistyped duration cannot hang a sweep."""
_R_MAX = 296.8  # J/(kg K), nitrogen: the largest gas constant of the three species


def _unknown(doc: Document, loc: tuple, what: str, name: str, known: Iterable[str]) -> Problem:
    return doc.problem(loc, f"unknown {what} '{name}'{did_you_mean(name, known)}")


def check_station(station: Station, doc: Document, root: tuple = ()) -> list[Problem]:
    """Problems with a station's internal references, located in *doc* under *root*."""
    out: list[Problem] = []
    places = set(station.compartments) | set(station.vehicles)
    for section, items in (("compartments", station.compartments), ("vehicles", station.vehicles)):
        if "station" in items:  # it names the whole station in checks, conditions and series.csv
            out.append(doc.problem((*root, section, "station"),
                                   "'station' is reserved for the whole station (checks, conditions, "
                                   "station.treserve_s); give this compartment another id"))
    for vid in station.vehicles:
        if vid in station.compartments:
            out.append(doc.problem((*root, "vehicles", vid), f"id '{vid}' is already a compartment; ids must be unique"))
    for hid, hatch in station.hatches.items():
        a, b = hatch.between
        for i, end in enumerate((a, b)):
            if end not in places:
                out.append(_unknown(doc, (*root, "hatches", hid, "between", i), "compartment", end, places))
        if a == b:
            out.append(doc.problem((*root, "hatches", hid, "between"), f"a hatch joins two compartments, got '{a}' twice"))
    for gid, gauge in station.gauges.items():
        if gauge.at not in places:
            out.append(_unknown(doc, (*root, "gauges", gid, "at"), "compartment", gauge.at, places))
    joined = {frozenset(h.between) for h in station.hatches.values()}
    for vid, vehicle in station.vehicles.items():
        if vehicle.docked_to not in places:
            out.append(_unknown(doc, (*root, "vehicles", vid, "docked_to"), "compartment", vehicle.docked_to, places))
        elif vehicle.docked_to == vid:
            out.append(doc.problem((*root, "vehicles", vid, "docked_to"), "a vehicle cannot be docked to itself"))
        elif frozenset((vid, vehicle.docked_to)) not in joined:
            out.append(
                doc.problem(
                    (*root, "vehicles", vid, "docked_to"),
                    f"no hatch joins '{vid}' and '{vehicle.docked_to}'; add one under hatches",
                )
            )
    for section, items in (("compartments", station.compartments), ("vehicles", station.vehicles)):
        for cid, comp in items.items():
            # an overflowing gas mass would make the solver's state infinite at t = 0
            p = sum(_partial(station, comp, s) for s in ("N2", "O2", "CO2"))
            T = comp.temperature or station.temperature
            if not (math.isfinite(comp.volume / T) and math.isfinite(p * comp.volume / (_R_MAX * T))):
                out.append(doc.problem((*root, section, cid, "volume"),
                                       f"volume {comp.volume:g} m^3 at {p:g} Pa and {T:g} K holds more gas "
                                       "than a float can count; expected a plausible volume"))
    for sid, supply in station.gas_supply.items():
        for i, target in enumerate(supply.into):
            if target not in places:
                out.append(_unknown(doc, (*root, "gas_supply", sid, "into", i), "compartment", target, places))
    if len(places) > 1 and not out:
        components = sorted(_connected_parts(places, (h.between for h in station.hatches.values())),
                            key=lambda c: (-len(c), min(c)))
        for component in components[1:]:
            # the largest connected part is the station; anything else cannot be reached from it
            first = next(p for p in (*station.compartments, *station.vehicles) if p in component)
            section = "vehicles" if first in station.vehicles else "compartments"
            if len(component) == 1:
                out.append(doc.problem((*root, section, first), f"no hatch reaches '{first}'"))
            else:
                names = ", ".join(p for p in (*station.compartments, *station.vehicles) if p in component)
                out.append(doc.problem((*root, section, first),
                                       f"no hatch joins {names} to the rest of the station"))
    return out


def _connected_parts(places: Iterable[str], hatches: Iterable[tuple[str, str]]) -> list[set[str]]:
    """The parts of the station that hatches join (each a set of compartment ids).

    A breadth-first search over a dict, not networkx: validating a file must not pay for
    importing networkx (~0.15 s, a third of ``safehaven validate``) for a graph of tens of nodes.
    """
    neighbours: dict[str, set[str]] = {p: set() for p in places}
    for u, v in hatches:
        neighbours[u].add(v)
        neighbours[v].add(u)
    parts, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        part, frontier = {start}, [start]
        while frontier:
            frontier = [n for p in frontier for n in neighbours[p] if n not in part]
            part.update(frontier)
        seen |= part
        parts.append(part)
    return parts


def check_scenario(scenario: Scenario, station: Station, doc: Document) -> list[Problem]:
    """Problems with a scenario's references to its station and to its own ids."""
    out: list[Problem] = []
    places = set(station.compartments) | set(station.vehicles)
    hatches = station.hatches
    leaks = {leak.id for leak in scenario.leaks}
    crew_ids = {c.id for c in scenario.crew}

    def unique(items, section: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in seen:
                out.append(doc.problem((section, i, "id"), f"duplicated id '{item.id}' (also {section}[{seen[item.id]}])"))
            seen.setdefault(item.id, i)

    unique(scenario.crew, "crew")
    unique(scenario.leaks, "leaks")
    for i, member in enumerate(scenario.crew):
        if member.at not in places:
            out.append(_unknown(doc, ("crew", i, "at"), "compartment", member.at, places))
        if member.vehicle is not None and member.vehicle not in station.vehicles:
            out.append(_unknown(doc, ("crew", i, "vehicle"), "vehicle", member.vehicle, station.vehicles))
    if scenario.cabin_temperature is not None:
        for cid in scenario.cabin_temperature.of:
            if cid != "station" and cid not in places:
                out.append(_unknown(doc, ("cabin_temperature", "of", cid), "compartment", cid, places))
    every = scenario.output.every
    for gid, gauge in station.gauges.items():
        ratio = gauge.every / every
        if abs(ratio - round(ratio)) > 1e-9 * ratio or round(ratio) < 1:
            out.append(doc.problem(("output", "every"), f"gauge '{gid}' samples every {gauge.every:g} s, which is not "
                                   f"a multiple of output.every ({every:g} s); expected a divisor of it"))
    for i, leak in enumerate(scenario.leaks):
        if leak.at not in places:
            out.append(_unknown(doc, ("leaks", i, "at"), "compartment", leak.at, places))
        elif leak.rate is not None:
            comp = station.compartments.get(leak.at) or station.vehicles[leak.at]
            if sum(_partial(station, comp, s) for s in ("N2", "O2", "CO2")) <= 0:
                out.append(doc.problem(("leaks", i, "rate"), f"'{leak.at}' starts at vacuum, so a rate cannot be "
                                       "turned into a hole size; give the leak an area or a diameter"))
        if leak.start > scenario.duration:
            out.append(doc.problem(("leaks", i, "start"), "starts after the end of the scenario"))
    for hid in scenario.initial.hatches:
        if hid not in hatches:
            out.append(_unknown(doc, ("initial", "hatches", hid), "hatch", hid, hatches))
    for hid in scenario.initial.valves:
        if hid not in hatches:
            out.append(_unknown(doc, ("initial", "valves", hid), "hatch", hid, hatches))
        elif hatches[hid].valve is None:
            out.append(doc.problem(("initial", "valves", hid), f"hatch '{hid}' has no equalization valve"))
    for i, event in enumerate(scenario.events):
        if event.leak is not None and event.leak not in leaks:
            out.append(_unknown(doc, ("events", i, "leak"), "leak", event.leak, leaks))
        if event.hatch is not None and event.hatch not in hatches:
            out.append(_unknown(doc, ("events", i, "hatch"), "hatch", event.hatch, hatches))
        if event.valve is not None:
            if event.valve not in hatches:
                out.append(_unknown(doc, ("events", i, "valve"), "hatch", event.valve, hatches))
            elif hatches[event.valve].valve is None:
                out.append(doc.problem(("events", i, "valve"), f"hatch '{event.valve}' has no equalization valve"))
        if event.at > scenario.duration:
            out.append(doc.problem(("events", i, "at"), "is after the end of the scenario"))
    for i, check in enumerate(scenario.checks):
        of = getattr(check, "of", None)
        if of is not None and of != "station" and of not in places:
            out.append(_unknown(doc, ("checks", i, "of"), "compartment", of, places | {"station"}))
        hatch = getattr(check, "hatch", None)
        if hatch is not None and hatch not in hatches:
            out.append(_unknown(doc, ("checks", i, "hatch"), "hatch", hatch, hatches))
        leak = getattr(check, "leak", None)
        if leak is not None and leak not in leaks:
            out.append(_unknown(doc, ("checks", i, "leak"), "leak", leak, leaks))
        role = getattr(check, "role", None)
        if role is not None and not any(role in c.roles for c in scenario.crew):
            out.append(doc.problem(("checks", i, "role"), f"no crew member has role '{role}'"))
        crew = getattr(check, "crew", None)
        if crew is not None and crew not in crew_ids:
            out.append(_unknown(doc, ("checks", i, "crew"), "crew member", crew, crew_ids))
    seats = {vid: v.seats for vid, v in station.vehicles.items()}
    for i, member in enumerate(scenario.crew):
        if member.vehicle in seats:
            seats[member.vehicle] -= 1
            if seats[member.vehicle] < 0:
                out.append(doc.problem(("crew", i, "vehicle"), f"more crew assigned to '{member.vehicle}' than it has seats"))
    if scenario.output.every > scenario.duration:
        out.append(doc.problem(("output", "every"), "is longer than the scenario's duration"))
    # bounded memory and time: the series is held in memory, and the alarm system polls throughout
    samples = scenario.duration / scenario.output.every
    if samples > MAX_SAMPLES:
        where = ("output", "every") if ("output", "every") in doc.lines else ("duration",)
        out.append(doc.problem(where, f"the run would record {samples:.3g} samples (duration / output.every), "
                               f"more than the {MAX_SAMPLES:,} accepted; sample less often or shorten the run"))
    values = samples * (1 + 3 * len(station.compartments))  # t_s, then p, O2, CO2 per compartment
    if values > MAX_SERIES_VALUES and samples <= MAX_SAMPLES:
        where = ("output", "every") if ("output", "every") in doc.lines else ("duration",)
        out.append(doc.problem(where, f"the series would hold {values:.3g} values ({samples:.3g} samples x "
                               f"{1 + 3 * len(station.compartments)} columns), more than the "
                               f"{MAX_SERIES_VALUES:,} accepted ({MAX_SERIES_VALUES * 8 / 1e9:.1f} GB); "
                               f"sample less often or shorten the run"))
    growth: dict[str, float] = {}
    for i, event in enumerate(scenario.events):
        if event.leak is not None and event.scale is not None:
            growth[event.leak] = growth.get(event.leak, 1.0) * max(event.scale, 1.0)
            if growth[event.leak] > MAX_SCALE:
                out.append(doc.problem(("events", i, "scale"), f"the scales applied to leak '{event.leak}' "
                                       f"multiply its area by {growth[event.leak]:.3g} in all, more than the "
                                       f"{MAX_SCALE:g} accepted"))
                growth[event.leak] = 1.0
    polls = scenario.duration / station.alarms.poll
    if polls > MAX_POLLS:
        out.append(doc.problem(("duration",), f"the alarm system would poll {polls:.3g} times (duration / "
                               f"alarms.poll), more than the {MAX_POLLS:,} accepted; shorten the run"))
    return out


def _partial(station: Station, comp, species: str) -> float:
    own = getattr(comp.atmosphere, species, None) if comp.atmosphere is not None else None
    return own if own is not None else getattr(station.atmosphere, species)
