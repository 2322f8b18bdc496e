"""Crew members as simpy processes: where they are, how they move, what the air does to them.

Movement. A member moves along the quickest path over hatches that are open now: crossing a hatch
takes its ``pass_time`` and then crossing the compartment entered takes its ``traverse`` time, both
divided by the member's speed (halved again when impaired). A hatch is a ``simpy.Resource``
whose capacity is the number of people who can pass at once, so people queue at it and groups
going opposite ways take turns. Paths are planned again at every compartment, counting the people
already queued at each hatch, so a crowd spreads over parallel routes. A closed hatch is never
passed: the member re-plans, and when no path exists waits (reported once as ``trapped``, with
the closed hatches in the way and why each is closed: jammed, a pressure difference above the
hatch's limit, or simply closed) until some hatch opens.

Hazards. A threshold-and-time model (defaults and sources in ``docs/crew.md``): continuous exposure
to low ppO2, or to low total pressure, for a given time makes a member impaired and then
incapacitated. Exposure is sampled at the alarm poll interval, so a status change happens within
one poll of the exact exposure time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import networkx as nx
import numpy as np
import simpy

from sim.results.state import block_text
from sim.station import PASS_TIME, TRAVERSE

if TYPE_CHECKING:
    from sim.faults import Faults
    from sim.results.events import EventLog
    from sim.scenario.scenario_model import Scenario
    from sim.scenario.station_model import Station

__all__ = ["ABLE", "IMPAIRED", "INCAPACITATED", "SEVERITY", "CrewMember", "HazardMonitor", "HazardWorld", "Mover",
           "MoverWorld", "Trapped", "describe_block"]

ABLE, IMPAIRED, INCAPACITATED = "able", "impaired", "incapacitated"
SEVERITY = {ABLE: 0, IMPAIRED: 1, INCAPACITATED: 2}
"""Statuses ordered from best to worst (a status only counts as a change for the worse if higher)."""


class Trapped(Exception):
    """No path over open hatches leads where a member must go."""


@dataclass
class CrewMember:
    """One crew member's state during a run (SI units)."""

    id: str
    roles: tuple[str, ...]
    home: str
    location: str
    vehicle: str | None
    speed: float
    response: Any
    resource: simpy.Resource
    status: str = ABLE
    worst_status: str = ABLE
    activity: str = "idle"
    trapped_to: str | None = None  # where they are going while no open path leads there
    waiting_at: str | None = None  # the hatch they wait on to equalize before opening it
    responded: bool = False
    sheltered_at: float | None = None
    aboard: str | None = None  # vehicle id once undocked with it
    destination: str | None = None  # where the last move sent them (None: never sent anywhere)
    trapped: dict[str, Any] | None = None  # when, where and why no open path led on (kept if the move gave up)
    sent_to_shelter: str | None = None  # the shelter vehicle a step sent them to, if any
    min_ppO2: float = math.inf
    min_p: float = math.inf
    task: simpy.Process | None = None
    below_since: dict[str, float | None] = field(default_factory=lambda: {"impaired": None, "ppO2": None, "p": None})

    @property
    def can_act(self) -> bool:
        """Able or impaired, and still aboard the station."""
        return self.status != INCAPACITATED and self.aboard is None

    def effective_speed(self, impaired_factor: float) -> float:
        """Movement speed factor now [-]."""
        return self.speed * (impaired_factor if self.status == IMPAIRED else 1.0)


class MoverWorld(Protocol):
    """What crew movement reads and changes of the run around it: exactly what :class:`Mover` uses.

    The engine's coordinator (:class:`sim.engine.Simulation`) provides it; crew code never
    imports the engine.
    """

    env: simpy.Environment
    G: nx.MultiGraph
    station: Station
    scenario: Scenario
    log: EventLog
    index: Mapping[str, int]
    hatch_open: Mapping[str, bool]
    departed_hatches: Set[str]
    faults: Faults

    def pressures(self) -> np.ndarray:
        """Total pressure of every compartment now [Pa] (the atmosphere synchronised first)."""

    def relocate(self, member: CrewMember, place: str, via: str | None = None) -> None:
        """*member* is now in *place*, having come through hatch *via*."""


class HazardWorld(Protocol):
    """What the hazard model reads and changes: exactly what :class:`HazardMonitor` uses."""

    scenario: Scenario
    crew: Mapping[str, CrewMember]
    index: Mapping[str, int]

    def set_status(self, member: CrewMember, status: str, cause: str) -> None:
        """Change *member*'s status (logged)."""


class Mover:
    """Plans and carries out crew movement over the station graph."""

    def __init__(self, sim: MoverWorld):
        self.sim = sim
        self.G = sim.G
        self.hatches = {h: simpy.Resource(sim.env, capacity=x.capacity) for h, x in sim.station.hatches.items()}
        self.hatch_changed = sim.env.event()

    def notify_hatch_change(self) -> None:
        """Wake everyone waiting for a path (called whenever a hatch opens or closes)."""
        event, self.hatch_changed = self.hatch_changed, self.sim.env.event()
        event.succeed()

    def _weight(self, speed: float):
        open_ = self.sim.hatch_open
        G = self.G

        def weight(u, v, edges):
            best = None
            for hid, data in edges.items():
                if not open_[hid]:
                    continue
                res = self.hatches[hid]
                queue = (res.count + len(res.queue)) / res.capacity
                cost = (data[PASS_TIME] * (1 + queue) + G.nodes[v][TRAVERSE]) / speed
                if best is None or cost < best:
                    best = cost
            return best

        return weight

    def route(self, start: str, target: str, speed: float = 1.0) -> list[tuple[str, str]] | None:
        """Quickest path as ``[(hatch, next compartment), ...]``, or None when none is open."""
        if start == target:
            return []
        weight = self._weight(speed)
        try:
            nodes = nx.dijkstra_path(self.G, start, target, weight=weight)
        except nx.NetworkXNoPath:
            return None
        hops = []
        for u, v in itertools.pairwise(nodes):
            edges = self.G.get_edge_data(u, v)
            hid = min((h for h in edges if self.sim.hatch_open[h]),
                      key=lambda h: (edges[h][PASS_TIME], h))
            hops.append((hid, v))
        return hops

    def travel_time(self, start: str, target: str) -> float:
        """Uncongested travel time from *start* to *target* at speed 1 [s] (inf when no path)."""
        if start == target:
            return 0.0
        G, open_ = self.G, self.sim.hatch_open

        def weight(u, v, edges):
            costs = [d[PASS_TIME] for h, d in edges.items() if open_[h]]
            return min(costs) + G.nodes[v][TRAVERSE] if costs else None

        try:
            return float(nx.dijkstra_path_length(G, start, target, weight=weight))
        except nx.NetworkXNoPath:
            return math.inf

    def blocked_by(self, start: str, target: str) -> list[dict[str, Any]]:
        """The closed hatches on the shortest way from *start* to *target*, each with its cause.

        The way is the one the member would take with every hatch open; each closed hatch on it
        says why: ``jammed`` (a jam fault), ``pressure difference`` (above the hatch's
        ``max_open_dp``, with ``dp_Pa`` and ``limit_Pa``), ``vehicle departed``, or ``closed``.
        """
        sim = self.sim
        try:
            nodes = nx.shortest_path(self.G, start, target, weight=lambda u, v, edges: 1)
        except nx.NetworkXNoPath:
            return [{"hatch": None, "cause": "no hatch leads there"}]
        p = sim.pressures()
        out = []
        for u, v in itertools.pairwise(nodes):
            edges = self.G.get_edge_data(u, v)
            if any(sim.hatch_open[h] for h in edges):
                continue
            hid = min(edges)
            hatch = sim.station.hatches[hid]
            dp = abs(float(p[sim.index[u]] - p[sim.index[v]]))
            if hid in sim.departed_hatches:
                out.append({"hatch": hid, "cause": "vehicle departed"})
            elif hid in sim.faults.jammed_hatches:
                out.append({"hatch": hid, "cause": "jammed"})
            elif dp > hatch.max_open_dp:
                out.append({"hatch": hid, "cause": "pressure difference", "dp_Pa": dp, "limit_Pa": hatch.max_open_dp})
            else:
                out.append({"hatch": hid, "cause": "closed"})
        return out

    def move(self, member: CrewMember, target: str, wait_if_trapped: bool = True):
        """simpy process body: walk *member* to *target*.

        Raises
        ------
        Trapped
            When no path exists and *wait_if_trapped* is false.
        """
        try:
            yield from self._walk(member, target, wait_if_trapped)
        finally:
            member.trapped_to = None

    def _walk(self, member: CrewMember, target: str, wait_if_trapped: bool):
        sim, env = self.sim, self.sim.env
        factor = sim.scenario.physiology.impaired_speed
        member.destination = target
        if sim.G.nodes[target].get("shelter"):
            member.sent_to_shelter = target
        while member.location != target:
            hops = self.route(member.location, target, member.effective_speed(factor))
            if hops is None:
                blocked = self.blocked_by(member.location, target)
                if not wait_if_trapped:
                    raise Trapped(f"no open path from {member.location} to {target} "
                                  f"({'; '.join(describe_block(b) for b in blocked)})")
                if member.trapped_to is None:  # once per spell of waiting, however many hatches change
                    member.trapped = {"t_s": env.now, "at": member.location, "to": target, "blocked_by": blocked}
                    sim.log.emit(env.now, "trapped", crew=member.id, at=member.location, to=target, blocked_by=blocked)
                    member.trapped_to = target
                yield self.hatch_changed
                continue
            member.trapped_to = None
            member.trapped = None
            hatch, nxt = hops[0]
            res = self.hatches[hatch]
            with res.request() as req:
                yield req
                if not sim.hatch_open[hatch]:
                    continue  # closed while we queued: plan again
                yield env.timeout(self.G.edges[member.location, nxt, hatch][PASS_TIME] / member.effective_speed(factor))
            sim.relocate(member, nxt, via=hatch)
            yield env.timeout(self.G.nodes[nxt][TRAVERSE] / member.effective_speed(factor))


describe_block = block_text
"""One blocked hatch as text (:func:`sim.results.state.block_text`, the words of every view)."""


def _crossing(last: tuple | None, where: int, column: int, t: float, value: float, limit: float) -> float:
    """When a level now at *value* fell through *limit* since the previous poll *last* [s]."""
    if last is None or last[1] != where or not last[0] < t:
        return t
    t0, v0 = last[0], last[2 + column]
    if not v0 > limit:
        return t
    if value > 0:
        fraction = math.log(v0 / limit) / math.log(v0 / value)
    else:
        fraction = (v0 - limit) / (v0 - value)
    return t0 + (t - t0) * fraction


def _batch_key(*arrays: np.ndarray) -> tuple[int, ...]:
    """Where the arrays' data start: a batch and its prefixes (``a[:m]``) share it."""
    return tuple(a.__array_interface__["data"][0] for a in arrays)


class HazardMonitor:
    """Exposure of every crew member, checked at each alarm poll (an engine monitor extension)."""

    def __init__(self, sim: HazardWorld):
        self.sim = sim
        self.phys = sim.scenario.physiology
        self._scanned: tuple | None = None  # the batch first_trip scanned, for commit to reuse

    def _update(self, state: dict[str, Any], t: float, ppO2: float, p: float, where: int = -1) -> str | None:
        """Advance one member's exposure timers to *t*; returns the status they reach, if worse.

        An exposure starts when the level crossed its threshold, estimated between this poll and
        the previous one in the same compartment (log-linear, exact for an exponential blowdown),
        so a status changes within one poll of the exact exposure time whatever the poll.
        """
        ph = self.phys
        last = state.get("last")
        checks = (("impaired", 0, ppO2, ph.ppO2_impaired), ("ppO2", 0, ppO2, ph.ppO2_incapacitated),
                  ("p", 1, p, ph.p_incapacitated))
        for key, column, value, limit in checks:
            if value < limit:
                if state[key] is None:
                    state[key] = _crossing(last, where, column, t, value, limit)
            else:
                state[key] = None
        state["last"] = (t, where, ppO2, p)
        if state["ppO2"] is not None and t - state["ppO2"] >= ph.incapacitated_after - 1e-9:
            return INCAPACITATED
        if state["p"] is not None and t - state["p"] >= ph.vacuum_after - 1e-9:
            return INCAPACITATED
        if state["impaired"] is not None and t - state["impaired"] >= ph.impaired_after - 1e-9:
            return IMPAIRED
        return None

    def _scan(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray):
        """Every member's exposure timers over a batch of polls, as :meth:`_update` would leave them.

        Returns (members, where, since, severity): for each timer key the start of the exposure
        (K polls, C members; NaN where none) and the status severity reached (K, C). Crew do not
        move within a batch (a move is a simpy event, which ends the batch). Only the polls where
        an exposure starts are computed one by one (the crossing instant); the rest is arrays.
        """
        ph = self.phys
        members = list(self.sim.crew.values())
        where = np.array([self.sim.index[m.location] for m in members], dtype=int)
        values = (pp[:, where, 1], p[:, where])
        k, c = values[0].shape
        since: dict[str, np.ndarray] = {}
        for key, column, limit in (("impaired", 0, ph.ppO2_impaired), ("ppO2", 0, ph.ppO2_incapacitated),
                                   ("p", 1, ph.p_incapacitated)):
            v = values[column]
            below = v < limit
            held = np.array([m.below_since[key] is not None for m in members])
            if not below.any():
                since[key] = np.full((k, c), np.nan)
                continue
            start_at = np.full((k, c), np.nan)
            carry = below[0] & held
            start_at[0, carry] = [m.below_since[key] for m, h in zip(members, carry, strict=True) if h]
            starts = below & np.vstack([~held[None, :], ~below[:-1]])
            for kk, j in zip(*np.nonzero(starts), strict=True):
                i = int(where[j])
                last = members[j].below_since.get("last") if kk == 0 else \
                    (float(times[kk - 1]), i, values[0][kk - 1, j], values[1][kk - 1, j])
                start_at[kk, j] = _crossing(last, i, column, float(times[kk]), v[kk, j], limit)
            opened = np.maximum.accumulate(np.where(np.isnan(start_at), 0, np.arange(k)[:, None]), axis=0)
            since[key] = np.where(below, np.take_along_axis(start_at, opened, axis=0), np.nan)
        t = times[:, None]
        with np.errstate(invalid="ignore"):
            incap = ((t - since["ppO2"]) >= ph.incapacitated_after - 1e-9) | ((t - since["p"]) >= ph.vacuum_after - 1e-9)
            impaired = (t - since["impaired"]) >= ph.impaired_after - 1e-9
        severity = np.where(incap, SEVERITY[INCAPACITATED], np.where(impaired, SEVERITY[IMPAIRED], SEVERITY[ABLE]))
        return members, where, since, severity

    def first_trip(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray, stop: int) -> int | None:
        """The first poll of ``[:stop]`` at which any member's status would get worse."""
        self._scanned = None
        if not stop or not self.sim.crew:
            return None
        scan = self._scan(times[:stop], p[:stop], pp[:stop])
        # commit() gets this batch or a prefix of it next; the scan is causal (a poll's timers
        # depend only on the polls before it), so the prefix of this scan is the prefix's scan
        self._scanned = (_batch_key(times, p, pp), stop, scan)
        members, _, _, severity = scan
        now = np.array([SEVERITY[m.status] for m in members])
        worse = np.flatnonzero((severity > now[None, :]).any(axis=1))
        return int(worse[0]) if len(worse) else None

    def commit(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> None:
        """Polls *times* passed with no status change: advance the timers, record worst exposures."""
        if not self.sim.crew:
            return
        scanned, self._scanned = self._scanned, None
        if scanned is not None and scanned[0] == _batch_key(times, p, pp) and len(times) <= scanned[1]:
            members, where, since, _ = scanned[2]
            since = {key: a[:len(times)] for key, a in since.items()}
        else:
            members, where, since, _ = self._scan(times, p, pp)
        low_ppO2, low_p = pp[:, where, 1].min(axis=0), p[:, where].min(axis=0)
        for j, m in enumerate(members):
            i = int(where[j])
            state = {key: (None if np.isnan(a[-1, j]) else a[-1, j].item()) for key, a in since.items()}
            state["last"] = (float(times[-1]), i, pp[-1, i, 1], p[-1, i])
            m.below_since = state
            m.min_ppO2 = min(m.min_ppO2, float(low_ppO2[j]))
            m.min_p = min(m.min_p, float(low_p[j]))

    def act(self, t: float, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> None:
        """At a real poll: update timers and change statuses."""
        for m in self.sim.crew.values():
            i = self.sim.index[m.location]
            m.min_ppO2 = min(m.min_ppO2, float(pp[i, 1]))
            m.min_p = min(m.min_p, float(p[i]))
            reached = self._update(m.below_since, t, pp[i, 1], p[i], i)
            if reached is not None and SEVERITY[reached] > SEVERITY[m.status]:
                self.sim.set_status(m, reached, cause=f"ppO2 {pp[i, 1] / 1000:.1f} kPa, p {p[i] / 1000:.1f} kPa")

    def summarize(self, summary: dict) -> None:
        """Nothing of its own: crew results are written by the engine."""
