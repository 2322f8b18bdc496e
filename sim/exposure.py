"""What the crew are exposed to: the crewed volume, leaks open to it, shelters and hazards.

The engine calls :meth:`Exposure.update` after every discrete change that can alter them (a
crew member moves, a hatch or valve changes, a leak starts or changes, a vehicle undocks), with
the atmosphere already synchronised to that instant, and :meth:`Exposure.finish` once at the end.

Definitions (also in docs/crew.md):

* **Crewed volume**: the compartments whose air the crew breathe: every compartment joined to a
  compartment with a crew member aboard the station through open hatches *or open equalization
  valves* (either lets air through). With nobody aboard (a scenario without crew, or everyone
  departed in a vehicle) the largest such group of compartments stands for the station.
* A leak is **open to the station** while its compartment is in the crewed volume; the intervals
  and the mass it took out of the station meanwhile are recorded.
* **Main volume**: the largest group of compartments joined by open hatches (crew can pass).
* **The crew's air**: the groups of compartments joined by open hatches that hold crew (with nobody
  aboard: the main volume). ``station.treserve_s`` is the lowest Treserve in it; a compartment
  reached only through a valve is not breathed, though a leak behind the valve still draws the
  crew's air down through it and so shortens their Treserve.
* Hazards (events ``hazard`` / ``hazard_end``; summary ``hazards``; default checks):

  - ``sealed_in``: crew in a group of compartments cut off from the main volume by closed hatches
    that holds an open leak (cause ``leaking``), or that is neither a vehicle nor has life support
    of its own (cause ``isolated``: a tunnel such as the PrK; a vehicle is built to hold its crew,
    and its seats are checked separately);
  - ``over_capacity``: more crew in a vehicle than its seats;
  - ``shelter_not_sealed``: a ``shelter`` step took crew into a shelter vehicle and its hatch was
    never closed while they were inside (logged at the end of the run). Crew who only moved to
    their vehicles (ready to evacuate) were not sheltering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.reserve import ReserveConfig

if TYPE_CHECKING:
    import simpy

    from sim.atmosphere.base import AtmosphereSolver
    from sim.atmosphere.network import GasNetwork
    from sim.crew import CrewMember
    from sim.results.events import EventLog
    from sim.scenario.scenario_model import Scenario
    from sim.scenario.station_model import Station

__all__ = ["Exposure", "ExposureWorld"]


class ExposureWorld(Protocol):
    """What :class:`Exposure` reads of the run: exactly the state it uses (the engine provides it)."""

    env: simpy.Environment
    log: EventLog
    scenario: Scenario
    station: Station
    net: GasNetwork
    solver: AtmosphereSolver
    names: Sequence[str]
    index: Mapping[str, int]
    hatch_open: Mapping[str, bool]
    valve_open: Mapping[str, bool]
    leak_state: Mapping[str, dict[str, Any]]
    crew: Mapping[str, CrewMember]

    def vehicle_hatch(self, vehicle: str) -> str:
        """The hatch between *vehicle* and the compartment it is docked to."""


def _groups(sim: ExposureWorld, through_valves: bool) -> list[list[str]]:
    """Groups of compartments joined by open hatches (and open valves), in compartment order."""
    parent = {name: name for name in sim.names}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for hid, hatch in sim.station.hatches.items():
        if sim.hatch_open[hid] or (through_valves and sim.valve_open.get(hid)):
            a, b = find(hatch.between[0]), find(hatch.between[1])
            if a != b:
                parent[max(a, b, key=sim.index.__getitem__)] = min(a, b, key=sim.index.__getitem__)
    groups: dict[str, list[str]] = {}
    for name in sim.names:
        groups.setdefault(find(name), []).append(name)
    return list(groups.values())


class Exposure:
    """Keeps the crewed volume, leak exposure, shelters and hazards of one run."""

    def __init__(self, sim: ExposureWorld):
        self.sim = sim
        self.crewed: set[str] = set()
        self.breathed: set[str] = set()
        self.open_since: dict[str, tuple[float, float]] = {}  # leak -> (t [s], leaked so far [kg])
        self.intervals: dict[str, list[list[float]]] = {}
        self.lost_open: dict[str, float] = {}  # leak -> mass lost while open to the station [kg]
        self.hazards: list[dict[str, Any]] = []
        self._active: dict[tuple, dict[str, Any]] = {}
        self.shelters: dict[str, dict[str, Any]] = {}
        self.open_at_end: set[str] = set()
        self.shelter_steps: set[str] = set()  # vehicles a shelter step took crew into
        self._cfg: ReserveConfig | None = None
        self._mask: np.ndarray | None = None
        self._volume = {name: float(v) for name, v in zip(sim.names, sim.net.volume, strict=True)}
        self._places = sim.station.compartments | sim.station.vehicles
        self._groups_cache: dict[tuple, tuple[list[list[str]], list[list[str]]]] = {}
        self._volumes()  # before the first update (a driver may sample without calling run())

    # -- what the series needs -------------------------------------------------------------
    def reserve_config(self) -> ReserveConfig:
        """The configuration of the leak-driven dP/dt now (cached until the next change)."""
        if self._cfg is None:
            sim = self.sim
            zone_of = np.zeros(len(sim.names), int)
            for z, members in enumerate(sim.solver.zones()):
                zone_of[np.asarray(members, int)] = z
            leaks = [(sim.index[s["at"]], s["cda_m2"]) for s in sim.leak_state.values() if s["cda_m2"] > 0]
            net = sim.net
            merge = sim.scenario.solver.hatch_model == "merge"
            cda = np.array([(net.valve_cd[j] * net.valve_area[j] if sim.valve_open[h] else 0.0)
                            + (0.0 if merge or not sim.hatch_open[h] else net.hatch_cd[j] * net.hatch_area[j])
                            for j, h in enumerate(net.edge_names)])
            u, v = np.asarray(net.edge_u, int), np.asarray(net.edge_v, int)
            sel = (cda > 0) & (zone_of[u] != zone_of[v])
            self._cfg = ReserveConfig(
                zone_of=zone_of, volume=np.asarray(net.volume, float), temperature=np.asarray(net.temperature, float),
                leak_at=np.array([c for c, _ in leaks], int), leak_cda=np.array([a for _, a in leaks], float),
                edge_u=u[sel], edge_v=v[sel], edge_cda=cda[sel], laminar_ratio=sim.solver.options.laminar_ratio)
        return self._cfg

    def crewed_mask(self) -> np.ndarray:
        """Which compartments hold the crew's air now (bool, compartment order)."""
        if self._mask is None:
            self._mask = np.array([name in self.breathed for name in self.sim.names], bool)
        return self._mask

    # -- updating ---------------------------------------------------------------------------
    def _aboard(self):
        return [m for m in self.sim.crew.values() if m.aboard is None]

    def update(self) -> None:
        """Bring everything up to date with the state now (the atmosphere is synced)."""
        sim = self.sim
        t = sim.env.now
        self._cfg, self._mask = None, None
        gas, rooms = self._volumes()
        for leak_id, state in sim.leak_state.items():
            is_open = state["cda_m2"] > 0 and state["at"] in self.crewed
            zone = next(g for g in gas if state["at"] in g)
            if is_open and leak_id not in self.open_since:
                self.open_since[leak_id] = (t, self._leaked(leak_id))
                self.intervals.setdefault(leak_id, [])
                sim.log.emit(t, "leak_open_to_station", leak=leak_id, zone=zone)
            elif not is_open and (leak_id in self.open_since or leak_id not in self.intervals):
                self._close(leak_id, t)
                sim.log.emit(t, "leak_isolated", leak=leak_id, zone=zone)
        if sim.crew:
            self._hazards(t, rooms)
            self._shelters(t)

    def _volumes(self) -> tuple[list[list[str]], list[list[str]]]:
        """Set the crewed volume and the crew's air from the state now; returns the groups."""
        gas, rooms = self._both_groups()
        where = {m.location for m in self._aboard()}
        if where:
            self.crewed = {c for g in gas if where & set(g) for c in g}
            self.breathed = {c for g in rooms if where & set(g) for c in g}
        else:  # nobody aboard (no crew, or all departed): the largest volume stands for the station
            self.crewed = set(max(gas, key=lambda g: sum(self._volume[c] for c in g)))
            self.breathed = set(max(rooms, key=lambda g: sum(self._volume[c] for c in g)))
        return gas, rooms

    def _both_groups(self) -> tuple[list[list[str]], list[list[str]]]:
        """(through hatches or valves, through hatches) groups, once per hatch and valve state:
        crew moves call :meth:`update` far more often than hatches change."""
        sim = self.sim
        key = (tuple(sim.hatch_open.values()), tuple(sim.valve_open.values()))
        both = self._groups_cache.get(key)
        if both is None:
            both = self._groups_cache[key] = (_groups(sim, through_valves=True), _groups(sim, through_valves=False))
        return both

    def _leaked(self, leak_id: str) -> float:
        masses = self.sim.solver.ledger.leaked_by_leak.get(leak_id)
        return float(np.sum(masses)) if masses is not None else 0.0

    def _close(self, leak_id: str, t: float) -> None:
        self.intervals.setdefault(leak_id, [])
        since = self.open_since.pop(leak_id, None)
        if since is not None:
            self.intervals[leak_id].append([since[0], t])
            self.lost_open[leak_id] = self.lost_open.get(leak_id, 0.0) + self._leaked(leak_id) - since[1]

    def _hazards(self, t: float, rooms: list[list[str]]) -> None:
        sim = self.sim
        main = max(rooms, key=lambda g: sum(self._volume[c] for c in g))
        leaking = {s["at"]: lid for lid, s in sim.leak_state.items() if s["cda_m2"] > 0}
        now: dict[tuple, dict[str, Any]] = {}
        for room in rooms:
            if room is main:
                continue
            inside = [m.id for m in self._aboard() if m.location in room]
            if not inside:
                continue
            leaks = [leaking[c] for c in room if c in leaking]
            supported = any(self._places[c].life_support is not None or c in sim.station.vehicles for c in room)
            causes = [f"leaking ({', '.join(leaks)})"] if leaks else []
            if not supported:
                causes.append("isolated (no life support)")
            if causes:
                now[("sealed_in", tuple(room))] = {"hazard": "sealed_in", "crew": inside, "at": room,
                                                   "cause": "; ".join(causes)}
        for vid, vehicle in sim.station.vehicles.items():
            inside = [m.id for m in sim.crew.values() if m.location == vid]
            if len(inside) > vehicle.seats:
                now[("over_capacity", vid)] = {"hazard": "over_capacity", "crew": inside, "at": [vid],
                                               "cause": f"{len(inside)} crew, {vehicle.seats} seats"}
        for key in [k for k in self._active if k not in now or now[k]["crew"] != self._active[k]["crew"]]:
            record = self._active.pop(key)
            record["end_s"] = t
            sim.log.emit(t, "hazard_end", hazard=record["hazard"], at=record["at"], crew=record["crew"])
        for key, details in now.items():
            if key not in self._active:
                record = {"t_s": t, **details, "end_s": None}
                self._active[key] = record
                self.hazards.append(record)
                sim.log.emit(t, "hazard", **details)

    def _shelters(self, t: float) -> None:
        sim = self.sim
        for vid, vehicle in sim.station.vehicles.items():
            if not vehicle.shelter:
                continue
            inside = [m.id for m in sim.crew.values() if m.location == vid]
            record = self.shelters.get(vid)
            if record is None:
                if not inside:
                    continue
                record = self.shelters[vid] = {"entered_s": t, "all_in_s": t, "crew": [], "sealed_s": None,
                                               "opened_s": None, "hatch": sim.vehicle_hatch(vid)}
            for cid in inside:
                if cid not in record["crew"]:
                    record["crew"].append(cid)
                    record["all_in_s"] = t
            hatch_open = sim.hatch_open[record["hatch"]]
            if record["sealed_s"] is None and inside and not hatch_open:
                record["sealed_s"] = t
            elif record["sealed_s"] is not None and record["opened_s"] is None and hatch_open:
                record["opened_s"] = t

    def finish(self) -> None:
        """At the end of the run: close what is still open and log unsealed shelters."""
        sim = self.sim
        t = sim.env.now
        for leak_id, since in list(self.open_since.items()):
            self.open_at_end.add(leak_id)
            self.intervals[leak_id].append([since[0], t])
            self.lost_open[leak_id] = self.lost_open.get(leak_id, 0.0) + self._leaked(leak_id) - since[1]
        self.open_since.clear()
        for vid, record in self.shelters.items():
            if record["sealed_s"] is None and vid in self.shelter_steps:
                details = {"hazard": "shelter_not_sealed", "crew": list(record["crew"]), "at": [vid],
                           "cause": f"hatch {record['hatch']} never closed with crew inside"}
                self.hazards.append({"t_s": t, **details, "end_s": None})
                sim.log.emit(t, "hazard", **details)

    def open_hazards(self) -> list[dict[str, Any]]:
        """Hazards still present at the end of the run."""
        return [h for h in self.hazards if h["end_s"] is None]
