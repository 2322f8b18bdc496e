"""The station at one instant, derived from a run's events: one state for every view of a run.

``replay --at``, ``report --at``, the drill displays and the live dashboard all show the state
that :func:`state_at` (or, event by event, a :class:`StateTracker`) derives from ``events.jsonl``
and the scenario's initial conditions, so no two views can disagree and none can go stale. A
property test (``tests/results/test_state_property.py``) runs scenarios, drills and random
procedures and checks this state against the engine's own, captured at the same instants.

What each field means and which events set it (``docs/architecture.md``, "The state at time T"):

crew
    ``location`` the compartment the member is in (``move`` events: a member is in the next
    compartment once through the hatch); ``aboard`` the vehicle they left in (``undock``);
    ``activity`` what they are doing, as the engine words it: ``idle``, ``responding`` (the
    response delay, from ``responding`` to ``respond``), ``delayed`` (an inject's delay),
    the task text of ``task_start`` (``go to dragon``, ``repair prk-crack`` …) until the task's
    ``task_end``/``task_interrupted``/``task_failed``, ``departed in V``; ``status`` able,
    impaired or incapacitated (``status``); ``trapped`` waiting for a path that does not exist
    (a ``trapped`` event, while no open path leads to where they were going); ``blocked_by`` the
    hatches in their way, each with its cause (``hatch pma2-dragon: jammed``, ``hatch zvezda-prk:
    12.3 kPa across it``, ``hatch X: closed``): for a trapped member the closed hatches on the
    way to their goal through the fewest hatches, for a member waiting for a hatch to equalize (``hatch_blocked``
    with the valve open, until ``hatch_equalized``) that hatch.
hatches
    ``open`` and ``valve_open`` (``hatch``, ``valve``; None where there is no valve), ``jammed``
    and ``valve_stuck`` (the ``inject`` events of ``hatch_jams`` and ``valve_stuck``).
leaks
    ``active`` (started and not sealed), ``cda_m2`` its effective area now [m^2]
    (``leak_start``, ``leak_change``), ``isolated`` while it is not open to the station
    (``leak_isolated`` until ``leak_open_to_station``: the engine's crewed volume, through open
    hatches and open valves, as the summary's ``open_to_station`` intervals), ``repaired`` after a successful
    ``repair_done`` that nothing has undone since (a later growth clears it).
alarms
    The alarms sounding (``alarm`` until ``alarm_clear``), where and since when; a drill's false
    alarm carries its cause.
procedures
    Per started procedure (label): its name, the phase it is in (``phase_start``) and
    ``running`` or ``done`` (``procedure_start``, ``procedure_end``).
shelter
    Per shelter vehicle: its hatch, who is inside, whether the hatch is closed (``sealed``) and
    whether the vehicle has left.

Pressures are not events: they come from the series (pass ``series`` to :func:`state_at`, or
``pressures`` to :meth:`StateTracker.snapshot`), and are then used to say how much pressure
difference holds a hatch shut.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from sim.results.reader import initial_hatch_states, interpolate_series
from sim.station import build_graph, zones

__all__ = ["DELAYED", "IDLE", "RESPONDING", "AlarmState", "CrewState", "HatchState", "LeakState", "ProcedureState",
           "ShelterState", "StateTracker", "StationState", "block_text", "state_at"]

_TIME_TOL = 1e-9
"""Events within this of T count as having happened at T [s] (event times carry 9 significant digits)."""

IDLE, RESPONDING, DELAYED = "idle", "responding", "delayed"
_TASK_ENDS = ("task_end", "task_interrupted", "task_failed")


@dataclass(frozen=True)
class CrewState:
    """One crew member at an instant (see the module docstring for each field)."""

    location: str
    aboard: str | None = None
    activity: str = IDLE
    status: str = "able"
    trapped: bool = False
    blocked_by: tuple[str, ...] = ()

    def describe(self) -> str:
        """What they are doing, with why they are stuck when they are: for tables and dashboards.

        ``go to dragon — TRAPPED by hatch pma2-dragon: jammed``; ``open hatch zvezda-prk — held by
        hatch zvezda-prk: 12.3 kPa across it, opens below 0.5 kPa``.
        """
        if self.trapped:
            return f"{self.activity} — TRAPPED" + (f" by {'; '.join(self.blocked_by)}" if self.blocked_by else "")
        if self.blocked_by:
            return f"{self.activity} — held by {'; '.join(self.blocked_by)}"
        return self.activity


@dataclass(frozen=True)
class HatchState:
    """One hatch at an instant; ``valve_open`` is None for a hatch without an equalization valve."""

    open: bool
    valve_open: bool | None
    jammed: bool = False
    valve_stuck: bool = False


@dataclass(frozen=True)
class LeakState:
    """One leak at an instant: compartment, whether it leaks, its effective area [m^2]."""

    at: str
    active: bool
    cda_m2: float
    isolated: bool
    repaired: bool


@dataclass(frozen=True)
class AlarmState:
    """An alarm sounding: where, since when [s], and a cause when it is not the atmosphere's."""

    where: tuple[str, ...]
    since: float
    cause: str | None = None


@dataclass(frozen=True)
class ProcedureState:
    """A started procedure: its name, current phase and status (``running`` or ``done``)."""

    name: str
    phase: str | None
    status: str


@dataclass(frozen=True)
class ShelterState:
    """A shelter vehicle: its hatch to the station, who is inside, hatch closed, vehicle gone."""

    hatch: str | None
    crew: tuple[str, ...]
    sealed: bool
    departed: bool = False


@dataclass(frozen=True)
class StationState:
    """Everything discrete about the station at instant ``t`` [s] (see the module docstring)."""

    t: float
    crew: dict[str, CrewState]
    hatches: dict[str, HatchState]
    leaks: dict[str, LeakState]
    alarms: dict[str, AlarmState]
    procedures: dict[str, ProcedureState]
    shelter: dict[str, ShelterState]
    n_events: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data (dataclasses as dicts, tuples as lists)."""
        def plain(x):
            if isinstance(x, dict):
                return {k: plain(v) for k, v in x.items()}
            if isinstance(x, tuple | list):
                return [plain(v) for v in x]
            if hasattr(x, "__dataclass_fields__"):
                return {k: plain(getattr(x, k)) for k in x.__dataclass_fields__}
            return x

        return plain(self)


@dataclass
class _Member:
    location: str
    aboard: str | None = None
    activity: str = IDLE
    status: str = "able"
    trapped_to: str | None = None   # goal of an open ``trapped`` episode
    waiting_at: str | None = None   # hatch being waited on to equalize


@dataclass
class _Leak:
    at: str
    cda_m2: float
    repaired: bool = False
    open_to_station: bool = False


class StateTracker:
    """The station's discrete state, advanced one event at a time (for live views and replays).

    Parameters
    ----------
    loaded : LoadedScenario
        The run's scenario (initial hatch and valve states, crew positions, the station graph).

    Examples
    --------
    >>> tracker = StateTracker(loaded)            # doctest: +SKIP
    >>> for event in new_events:                  # doctest: +SKIP
    ...     tracker.apply(event)
    >>> tracker.snapshot(pressures=p).crew["fe5"].activity   # doctest: +SKIP
    'repair prk-crack'
    """

    def __init__(self, loaded):
        st, sc = loaded.station, loaded.scenario
        self.station = st
        self.G = build_graph(st)
        self.hatch_open, valves = initial_hatch_states(loaded)
        self.valve_open: dict[str, bool | None] = {h: valves.get(h) if st.hatches[h].valve else None
                                                   for h in self.hatch_open}
        self.jammed: set[str] = set()
        self.stuck: set[str] = set()
        self.members = {c.id: _Member(c.at) for c in sc.crew}
        self.leaks: dict[str, _Leak] = {}
        self.alarms: dict[str, AlarmState] = {}
        self.procedures: dict[str, ProcedureState] = {}
        self.departed: set[str] = set()
        self.t = 0.0
        self.n_events = 0
        self._shelters = {v: next((h for h, x in st.hatches.items() if set(x.between) == {v, veh.docked_to}), None)
                          for v, veh in st.vehicles.items() if veh.shelter}

    # -- events ----------------------------------------------------------------------------
    def apply(self, event: Mapping[str, Any]) -> None:
        """Advance the state by one event (events must come in log order)."""
        self.t = float(event["t"])
        self.n_events += 1
        kind = event["kind"]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event)

    def apply_all(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Apply every event of *events* in order."""
        for e in events:
            self.apply(e)

    def _move(self, e):
        m = self.members.get(e["crew"])
        if m is not None:
            m.location = e["to"]
            m.trapped_to = None

    def _status(self, e):
        m = self.members.get(e["crew"])
        if m is not None:
            m.status = e["status"]

    def _task_start(self, e):
        m = self.members.get(e["crew"])
        if m is not None:
            m.activity = str(e["task"])

    def _task_over(self, e):
        m = self.members.get(e["crew"])
        if m is None:
            return
        # a task interrupted while still queued behind another never became the activity
        if m.activity in (e.get("task"), RESPONDING, DELAYED):
            m.activity = IDLE
            m.trapped_to = m.waiting_at = None

    def _trapped(self, e):
        m = self.members.get(e["crew"])
        if m is not None:
            m.trapped_to = e["to"]

    def _hatch_blocked(self, e):
        m = self.members.get(e.get("by"))
        if m is not None and e.get("valve") == "open":
            m.waiting_at = e["hatch"]  # it waits for the valve to equalize the hatch

    def _hatch_equalized(self, e):
        m = self.members.get(e.get("by"))
        if m is not None:
            m.waiting_at = None

    def _undock(self, e):
        self.departed.add(e["vehicle"])
        for cid in e.get("crew", []):
            m = self.members.get(cid)
            if m is not None:
                m.aboard = e["vehicle"]
                m.activity = f"departed in {e['vehicle']}"

    def _hatch(self, e):
        self.hatch_open[e["hatch"]] = e["state"] == "open"

    def _valve(self, e):
        self.valve_open[e["hatch"]] = e["state"] == "open"

    def _inject(self, e):
        if e.get("fault") == "hatch_jams":
            self.jammed.add(e["hatch"])
        elif e.get("fault") == "valve_stuck":
            self.stuck.add(e["hatch"])

    def _leak_start(self, e):
        self.leaks[e["leak"]] = _Leak(e["at"], float(e["cda_m2"]))

    def _leak_change(self, e):
        leak = self.leaks.get(e["leak"])
        if leak is None:
            return
        grew = float(e["cda_m2"]) > leak.cda_m2
        leak.cda_m2 = float(e["cda_m2"])
        if grew and e.get("cause") != "repair":
            leak.repaired = False

    def _repair_done(self, e):
        leak = self.leaks.get(e["leak"])
        if leak is not None and e.get("success"):
            leak.repaired = True

    def _alarm(self, e):
        self.alarms[e["alarm"]] = AlarmState(tuple(e.get("where", ())), float(e["t"]), e.get("cause"))

    def _alarm_clear(self, e):
        self.alarms.pop(e["alarm"], None)

    def _procedure_start(self, e):
        self.procedures[e["procedure"]] = ProcedureState(str(e.get("name", e["procedure"])), None, "running")

    def _phase_start(self, e):
        p = self.procedures.get(e["procedure"])
        if p is not None:
            self.procedures[e["procedure"]] = ProcedureState(p.name, e["phase"], p.status)

    def _procedure_end(self, e):
        p = self.procedures.get(e["procedure"])
        if p is not None:
            self.procedures[e["procedure"]] = ProcedureState(p.name, p.phase, "done")

    # -- the state ---------------------------------------------------------------------------
    @property
    def state(self) -> StationState:
        """The state after the last applied event (no pressures: blocked hatches say "closed")."""
        return self.snapshot()

    def snapshot(self, t: float | None = None, pressures: Mapping[str, float] | None = None) -> StationState:
        """The state now, as an immutable :class:`StationState`.

        Parameters
        ----------
        t : float, optional
            The instant to label it with [s] (default: the last event's time).
        pressures : mapping, optional
            Total pressure per compartment at that instant [Pa], to say how much pressure
            difference holds a blocked hatch shut.
        """
        passable = self.hatch_open.__getitem__
        groups = zones(self.G, passable)
        zone_of = {n: k for k, g in enumerate(groups) for n in g}
        crew = {}
        for cid, m in self.members.items():
            trapped, blocked = False, ()
            if m.trapped_to is not None and m.aboard is None and zone_of[m.location] != zone_of[m.trapped_to]:
                trapped = True
                way = self.in_the_way(m.location, m.trapped_to)
                blocked = (tuple(self.cause(h, pressures) for h in way) if way is not None
                           else (block_text({"hatch": None, "cause": "no hatch leads there"}),))
            elif m.waiting_at is not None:
                blocked = (self.cause(m.waiting_at, pressures),)
            crew[cid] = CrewState(m.location, m.aboard, m.activity, m.status, trapped, blocked)
        hatches = {h: HatchState(self.hatch_open[h], self.valve_open[h], h in self.jammed, h in self.stuck)
                   for h in self.hatch_open}
        leaks = {lid: LeakState(lk.at, lk.cda_m2 > 0, lk.cda_m2, not lk.open_to_station, lk.repaired)
                 for lid, lk in self.leaks.items()}
        shelter = {}
        for v, hatch in self._shelters.items():
            inside = tuple(cid for cid, m in self.members.items() if m.location == v)
            sealed = hatch is not None and not self.hatch_open[hatch]
            shelter[v] = ShelterState(hatch, inside, sealed, v in self.departed)
        return StationState(self.t if t is None else float(t), crew, hatches, leaks, dict(self.alarms),
                            dict(self.procedures), shelter, self.n_events)

    def in_the_way(self, start: str, goal: str) -> list[str] | None:
        """The closed hatches on the way from *start* to *goal*, None when no hatch leads there.

        The way is the one with the fewest hatches, whatever their state: the rule the engine
        uses for the ``blocked_by`` of a ``trapped`` event (:meth:`sim.crew.Mover.blocked_by`).
        """
        try:
            nodes = nx.shortest_path(self.G, start, goal, weight=lambda u, v, edges: 1)
        except nx.NetworkXNoPath:
            return None
        out = []
        for u, v in itertools.pairwise(nodes):
            edges = self.G.get_edge_data(u, v)
            if not any(self.hatch_open[h] for h in edges):
                out.append(min(edges))
        return out

    def block(self, hatch: str, pressures: Mapping[str, float] | None = None) -> dict[str, Any]:
        """Why *hatch* stops someone, as the engine's ``blocked_by`` entries say it (see :func:`block_text`)."""
        h = self.station.hatches[hatch]
        if any(v in self.departed for v in h.between):
            return {"hatch": hatch, "cause": "vehicle departed"}
        if hatch in self.jammed:
            return {"hatch": hatch, "cause": "jammed"}
        if pressures is not None:
            a, b = h.between
            dp = abs(pressures[a] - pressures[b])
            if dp > h.max_open_dp:
                return {"hatch": hatch, "cause": "pressure difference", "dp_Pa": dp, "limit_Pa": h.max_open_dp}
        return {"hatch": hatch, "cause": "equalizing" if self.hatch_open[hatch] else "closed"}

    def cause(self, hatch: str, pressures: Mapping[str, float] | None = None) -> str:
        """Why *hatch* stops someone, in words (:func:`block_text`)."""
        return block_text(self.block(hatch, pressures))


def block_text(block: Mapping[str, Any]) -> str:
    """One hatch in someone's way, in words, from a ``blocked_by`` entry of an event or the state.

    ``hatch pma2-dragon: jammed``, ``hatch zvezda-prk: 12.3 kPa across it, opens below 0.5 kPa``,
    ``hatch soyuz-rassvet: vehicle departed``, ``hatch X: closed``, ``no hatch leads there``.

    Examples
    --------
    >>> block_text({"hatch": "h", "cause": "pressure difference", "dp_Pa": 12345.0, "limit_Pa": 500.0})
    'hatch h: 12.3 kPa across it, opens below 0.5 kPa'
    """
    if block.get("hatch") is None:
        return str(block.get("cause", "no hatch leads there"))
    if "dp_Pa" in block:
        return (f"hatch {block['hatch']}: {block['dp_Pa'] / 1000:.1f} kPa across it, "
                f"opens below {block['limit_Pa'] / 1000:.1f} kPa")
    return f"hatch {block['hatch']}: {block['cause']}"


def _sets_activity(value: str):
    def handler(tracker: StateTracker, e) -> None:
        m = tracker.members.get(e["crew"])
        if m is not None:
            m.activity = value
    return handler


def _sets_open_to_station(value: bool):
    def handler(tracker: StateTracker, e) -> None:
        leak = tracker.leaks.get(e["leak"])
        if leak is not None:
            leak.open_to_station = value
    return handler


_HANDLERS = {
    "move": StateTracker._move,
    "status": StateTracker._status,
    "responding": _sets_activity(RESPONDING),
    "respond": _sets_activity(IDLE),   # the task starts next, at the same instant, if it can
    "delayed": _sets_activity(DELAYED),
    "task_start": StateTracker._task_start,
    **{k: StateTracker._task_over for k in _TASK_ENDS},
    "trapped": StateTracker._trapped,
    "hatch_blocked": StateTracker._hatch_blocked,
    "hatch_equalized": StateTracker._hatch_equalized,
    "undock": StateTracker._undock,
    "hatch": StateTracker._hatch,
    "valve": StateTracker._valve,
    "inject": StateTracker._inject,
    "leak_start": StateTracker._leak_start,
    "leak_change": StateTracker._leak_change,
    "repair_done": StateTracker._repair_done,
    "leak_open_to_station": _sets_open_to_station(True),
    "leak_isolated": _sets_open_to_station(False),
    "alarm": StateTracker._alarm,
    "alarm_clear": StateTracker._alarm_clear,
    "procedure_start": StateTracker._procedure_start,
    "phase_start": StateTracker._phase_start,
    "procedure_end": StateTracker._procedure_end,
}
"""Which events change the state, and how (every other kind only advances the clock)."""


def _pressures(series, t: float) -> dict[str, float] | None:
    if series is None or not len(series.t) or not series.t[0] - _TIME_TOL <= t <= series.t[-1] + _TIME_TOL:
        return None
    return interpolate_series(series, t).p


def state_at(events: Iterable[Mapping[str, Any]], t: float, loaded, series=None) -> StationState:
    """The station at instant *t* [s], from a run's events (events at exactly *t* have happened).

    Parameters
    ----------
    events : iterable of dict
        The run's events in log order (``events.jsonl`` or ``RunResult.events.events``).
    t : float
        The instant [s].
    loaded : LoadedScenario
        The run's scenario (initial states and the station).
    series : Series, optional
        The run's series, for the pressure difference across a blocked hatch at *t*.

    Returns
    -------
    StationState
    """
    tracker = StateTracker(loaded)
    for e in events:
        if e["t"] > t + _TIME_TOL:
            break
        tracker.apply(e)
    return tracker.snapshot(t, _pressures(series, t))

