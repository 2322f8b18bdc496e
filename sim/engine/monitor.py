"""The caution-and-warning monitor: alarm polls in look-ahead batches, dP/dt, reserve-floor crossings.

Between discrete events the monitor looks at the atmosphere every ``alarms.poll`` seconds for
alarms (dP/dt, ppO2, ppCO2), and lets its extensions (the crew hazard model
:class:`sim.crew.HazardMonitor`, the :class:`Watchers` of procedures' ``wait until``) look too.
It does this in batches: on a snapshot of the solver it samples every poll instant up to the next
scheduled simpy event (at most :data:`LOOKAHEAD_POLLS`), in one vectorized call, and evaluates
every poll as arrays over the batch. If nothing trips, the snapshot becomes the solver and the
batch's samples are kept; if something trips at poll *k*, the monitor moves the clock to that
poll and acts on the real state (:meth:`Monitor.poll_now`). The batch gives exactly the values
the poll-by-poll code gave.

Data flow: the monitor reads and advances the atmosphere (:mod:`sim.engine.coupling`), logs
``alarm``, ``alarm_clear`` and ``reserve_floor`` events, and calls the coordinator back through
the ``on_alarm`` function it was given; it knows nothing of crew or procedures.

Batch mode of sweeps (:mod:`sim.sweep.batch`) repeats this module's course for many runs at once,
operation for operation: the look-ahead batches (its own copy of :data:`LOOKAHEAD_POLLS`), the
alarm conditions, the dP/dt history and the reserve-floor interpolation (:func:`_crossing_time`).
A change here must be made there too; ``tests/sweep/test_batch.py``
(``test_integrate_matches_single_runs_bit_for_bit``) fails until both agree to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import simpy

    from sim.engine.coupling import AtmosphereCoupling
    from sim.results.events import EventLog
    from sim.scenario.station_model import Station

__all__ = ["ALARMS", "LOOKAHEAD_POLLS", "Monitor", "MonitorExtension", "Watchers"]

LOOKAHEAD_POLLS = 360
"""Most poll instants evaluated in one look-ahead batch (1 h at the default 10 s poll)."""
ALARMS = ("rapid_depress", "ppCO2_high", "ppO2_low")
"""The caution-and-warning alarms the monitor evaluates, in the order it logs them."""


def _members_of(times: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """Where the sorted *times* hold a value of the sorted *subset* (bool mask, like ``np.isin``)."""
    mask = np.zeros(len(times), dtype=bool)
    if len(subset):
        mask[np.searchsorted(times, subset)] = True
    return mask


def _crossing_time(previous: tuple[float, np.ndarray] | None, i: int, t: float, p: float, level: float) -> float:
    """When compartment *i*, now at *p* [Pa], crossed *level* [Pa] since the *previous* poll (t0, p0) [s]."""
    if previous is None:
        return t
    t0, p_prev = previous
    p0 = p_prev[i]
    if p0 <= level or p0 == p:
        return t
    return t0 + (t - t0) * (p0 - level) / (p0 - p)


class MonitorExtension(Protocol):
    """Something that looks at every alarm poll besides the alarms themselves.

    All arrays are over a batch of K polls: *times* [s] (K,), total pressures *p* [Pa] (K, n),
    partial pressures *pp* [Pa] (K, n, 3), *dpdt* [Pa/s] (K, n); at a real poll (:meth:`act`)
    one poll without the K axis.
    """

    def first_trip(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray,
                   stop: int) -> int | None:
        """The first of the polls ``[:stop]`` at which it wants to act, or None; its state unchanged."""

    def commit(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> None:
        """The polls at which nothing tripped have passed."""

    def act(self, t: float, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> None:
        """A real poll, on the real state."""

    def summarize(self, summary: dict) -> None:
        """Add to the run's summary."""


class Watchers:
    """Events waiting for a predicate of the atmosphere, checked at every alarm poll.

    A predicate is called as ``predicate(t, p, pp, dpdt)`` with the time [s], total [Pa] (n,)
    and partial [Pa] (n, 3) pressures and dP/dt [Pa/s] (n,) at one poll, and must be pure.
    A :class:`MonitorExtension`.
    """

    def __init__(self):
        self.items: list[tuple[Any, simpy.Event]] = []

    def first_trip(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray,
                   stop: int) -> int | None:
        """The first poll at which a waiting predicate holds."""
        preds = [pred for pred, event in self.items if not event.triggered]
        if not preds:
            return None
        for k in range(stop):
            t, pk, ppk, dk = float(times[k]), p[k], pp[k], dpdt[k]
            if any(pred(t, pk, ppk, dk) for pred in preds):
                return k
        return None

    def commit(self, times, p, pp, dpdt) -> None:
        """Nothing to keep: predicates are pure."""

    def act(self, t: float, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> None:
        """Fire the events whose predicates hold now."""
        keep = []
        for pred, event in self.items:
            if event.triggered:
                continue
            if pred(t, p, pp, dpdt):
                event.succeed()
            else:
                keep.append((pred, event))
        self.items = keep

    def summarize(self, summary: dict) -> None:
        """Nothing to add."""


class Monitor:
    """The caution-and-warning system of one run.

    Parameters
    ----------
    env : simpy.Environment
    atmosphere : AtmosphereCoupling
        Read at every poll; the look-ahead replaces its solver with the snapshot it advanced.
    station : Station
        Its ``alarms`` (poll [s], dP/dt window [s], thresholds [Pa], [Pa/s]) and reserve floor [Pa].
    end : float
        The end of the run [s].
    log : EventLog
    on_alarm : callable
        ``on_alarm(name, where)``, called when an alarm starts sounding (after it is logged).

    Attributes
    ----------
    alarms_active : set of str
        The alarms sounding now.
    floor_crossed : dict
        Compartment -> when it fell below the reserve floor [s] (interpolated between polls).
    watchers : Watchers
    extensions : list of MonitorExtension
        Looked at in order after the alarms; the coordinator puts the crew hazard model first.
    """

    def __init__(self, env: simpy.Environment, atmosphere: AtmosphereCoupling, station: Station, end: float,
                 log: EventLog, on_alarm: Callable[[str, list[str]], None]):
        self.env = env
        self.atmosphere = atmosphere
        self.names = atmosphere.names
        self.alarms = station.alarms
        self.reserve_floor = station.limits.reserve_floor
        self.poll = station.alarms.poll
        self.end = end
        self.log = log
        self.on_alarm = on_alarm
        self.alarms_active: set[str] = set()
        self.floor_crossed: dict[str, float] = {}
        # the polls dP/dt looks back on: times [s] (h,) and pressures [Pa] (h, n), oldest first
        self._history_t = np.zeros(0)
        self._history_p = np.zeros((0, len(self.names)))
        self.watchers = Watchers()
        self.extensions: list[MonitorExtension] = [self.watchers]

    # -- the process ------------------------------------------------------------------------
    def run(self):
        """simpy process: poll in look-ahead batches to the end of the run."""
        env = self.env
        while True:
            now = env.now
            horizon = min(env.peek(), self.end)
            polls = now + self.poll * np.arange(LOOKAHEAD_POLLS)
            polls = polls[(polls < horizon) | (polls == now)]
            polls = polls[polls <= self.end]
            trip = self._look_ahead(polls)
            if trip is None:
                t_next = polls[-1] + self.poll
            else:
                t_trip = float(polls[trip])
                if t_trip > now:
                    yield env.timeout(t_trip - now)
                self.atmosphere.sync()
                self.poll_now()
                t_next = t_trip + self.poll
            if t_next > self.end:
                return
            yield env.timeout(t_next - env.now)

    def _look_ahead(self, polls: np.ndarray) -> int | None:
        """Evaluate poll instants on a snapshot of the solver; adopt it when nothing trips.

        Returns the index of the first poll at which something trips, or None.
        """
        atmosphere = self.atmosphere
        due = atmosphere.recorder.due(float(polls[-1]))
        times = np.union1d(polls, due)
        trial = atmosphere.solver.snapshot()
        s = trial.sample(times)
        at_poll = _members_of(times, polls)
        tp, p, pp = times[at_poll], s.pressure[at_poll], s.partial_pressure[at_poll]
        dpdt = self._dpdt_batch(tp, p)
        trip = self._first_trip(tp, p, pp, dpdt)
        if trip is not None:
            # what came before the trip still happened: keep its bookkeeping (the real solver
            # recomputes the same states when it syncs to the trip)
            self._commit_polls(tp[:trip], p[:trip], pp[:trip], dpdt[:trip])
            return trip
        atmosphere.solver = trial
        in_series = _members_of(times, due)
        atmosphere.record(s.pressure[in_series], s.partial_pressure[in_series])
        atmosphere.observe(times, s.pressure)
        self._commit_polls(tp, p, pp, dpdt)
        return None

    def _commit_polls(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> None:
        """Record polls at which nothing tripped: floor crossings, dP/dt history, extensions."""
        if not len(times):
            return
        for ext in self.extensions:
            ext.commit(times, p, pp, dpdt)
        self._record_floor_crossings(times, p)
        self._extend_history(times, p)

    # -- dP/dt over the alarm window --------------------------------------------------------
    def dpdt(self, t: float, p: np.ndarray) -> np.ndarray:
        """dP/dt over the alarm window ending at *t* [Pa/s]; zeros until a window has passed."""
        window = self.alarms.dpdt_window
        old_enough = np.flatnonzero(t - self._history_t >= window - 1e-9)
        if len(old_enough):
            j = old_enough[-1]  # the newest poll at least one window back
            return (p - self._history_p[j]) / (t - self._history_t[j])
        return np.zeros_like(p)

    def _dpdt_batch(self, times: np.ndarray, p: np.ndarray) -> np.ndarray:
        """:meth:`dpdt` at every poll of a batch (k,) with pressures *p* (k, n), all at once [Pa/s].

        Poll *j* sees the history and the polls before it: its reference is the newest of those
        at least one window older (pruning the history never drops that one), exactly as if
        the polls had been pushed one by one.
        """
        k = len(times)
        if len(self._history_t):
            t_all = np.concatenate([self._history_t, times])
            p_all = np.concatenate([self._history_p, p])
        else:
            t_all, p_all = times, p
        h = len(t_all) - k
        window = self.alarms.dpdt_window - 1e-9
        # the newest entry j before poll k with times[k] - t_all[j] >= window: a sorted search,
        # then the exact test of the scalar code on the found entry and its neighbour (rounding
        # in times[k] - window can move the boundary by one entry, never more: polls are apart)
        limit = h + np.arange(k) - 1
        ref = np.minimum(np.searchsorted(t_all, times - window, side="right") - 1, limit)
        nxt = np.minimum(ref + 1, limit)
        ref = np.where((nxt > ref) & (times - t_all[nxt] >= window), nxt, ref)
        ref = np.where((ref >= 0) & ~(times - t_all[np.maximum(ref, 0)] >= window), ref - 1, ref)
        rows = np.flatnonzero(ref >= 0)
        out = np.zeros_like(p)
        if len(rows):
            ref = ref[rows]
            out[rows] = (p[rows] - p_all[ref]) / (times[rows] - t_all[ref])[:, None]
        return out

    def _extend_history(self, times: np.ndarray, p: np.ndarray) -> None:
        """Push polls onto the dP/dt history and prune it as :meth:`_push_history` would, one by one."""
        h = len(self._history_t)
        t_all = np.concatenate([self._history_t, times])
        older = np.count_nonzero(t_all[-1] - t_all >= self.alarms.dpdt_window)
        drop = max(0, min(older - 1, len(t_all) - 2))
        self._history_t = t_all[drop:]
        self._history_p = p[drop - h:] if drop >= h else np.concatenate([self._history_p[drop:], p])

    def _push_history(self, t: float, p: np.ndarray) -> None:
        """Add the poll at *t* and drop the polls more than one window older than the next-oldest."""
        t_all = np.append(self._history_t, t)
        window = self.alarms.dpdt_window
        drop = 0
        while len(t_all) - drop > 2 and t - t_all[drop + 1] >= window:
            drop += 1
        self._history_t = t_all[drop:]
        self._history_p = np.concatenate([self._history_p[drop:], p[None, :]])

    def dpdt_now(self) -> np.ndarray:
        """dP/dt of every compartment now, as the alarm system computes it [Pa/s]."""
        self.atmosphere.sync()
        return self.dpdt(self.env.now, self.atmosphere.solver.pressure())

    # -- alarms and the reserve floor ----------------------------------------------------------
    def _alarm_matrix(self, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> np.ndarray:
        """Which alarm conditions hold where, per poll: bool (k, 3 alarms, n) in :data:`ALARMS` order."""
        a = self.alarms
        return np.stack([dpdt < a.rapid_depress, pp[..., 2] > a.ppCO2_high, (pp[..., 1] < a.ppO2_low) & (p > 0)],
                        axis=-2)

    def _alarm_states(self, t: float, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> dict[str, list[str]]:
        where = self._alarm_matrix(p, pp, dpdt)
        return {name: [self.names[i] for i in np.flatnonzero(row)] for name, row in zip(ALARMS, where, strict=True)}

    def _first_trip(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> int | None:
        """Index of the first poll at which an alarm changes or an extension wants to act."""
        a = self.alarms
        sounding = np.column_stack([(dpdt < a.rapid_depress).any(axis=1), (pp[..., 2] > a.ppCO2_high).any(axis=1),
                                    ((pp[..., 1] < a.ppO2_low) & (p > 0)).any(axis=1)])  # (k, 3), ALARMS order
        active = np.array([name in self.alarms_active for name in ALARMS])
        changed = np.flatnonzero((sounding != active).any(axis=1))
        first = int(changed[0]) if len(changed) else None
        for ext in self.extensions:
            k = ext.first_trip(times, p, pp, dpdt, len(times) if first is None else first)
            if k is not None and (first is None or k < first):
                first = k
        return first

    def _record_floor_crossings(self, times: np.ndarray | list[float], p: np.ndarray) -> None:
        """Log the first poll at which each compartment is below the reserve floor, in poll order."""
        floor = self.reserve_floor
        below = p < floor
        fresh = [i for i in np.flatnonzero(below.any(axis=0)) if self.names[i] not in self.floor_crossed]
        if not fresh:
            return
        first = {int(i): int(np.argmax(below[:, i])) for i in fresh}
        for i, k in sorted(first.items(), key=lambda item: (item[1], item[0])):
            t = times[k].item() if isinstance(times, np.ndarray) else times[k]  # env.now stays as it is
            if k:
                previous = (float(times[k - 1]), p[k - 1])
            else:
                previous = (self._history_t[-1], self._history_p[-1]) if len(self._history_t) else None
            # logged when the poll sees it (events stay in simulation order), with the crossing
            # instant interpolated between the two polls
            name = self.names[i]
            self.floor_crossed[name] = _crossing_time(previous, i, t, p[k, i], floor)
            self.log.emit(t, "reserve_floor", at=name, p_Pa=floor, crossed_s=self.floor_crossed[name])

    def poll_now(self) -> None:
        """Act at a poll instant on the real solver state (after a look-ahead tripped)."""
        t = self.env.now
        solver = self.atmosphere.solver
        p, pp = solver.pressure(), solver.partial_pressures()
        dpdt = self.dpdt(t, p)
        self.atmosphere.observe(np.array([t]), p[None, :])
        states = self._alarm_states(t, p, pp, dpdt)
        for name, where in states.items():
            if where and name not in self.alarms_active:
                self.alarms_active.add(name)
                self.log.emit(t, "alarm", alarm=name, where=where)
                self.on_alarm(name, where)
            elif not where and name in self.alarms_active:
                self.alarms_active.discard(name)
                self.log.emit(t, "alarm_clear", alarm=name)
        for ext in self.extensions:
            ext.act(t, p, pp, dpdt)
        self._record_floor_crossings([t], p[None, :])
        self._push_history(t, p)

    def raise_alarm(self, name: str, where: list[str], cause: str = "false alarm") -> None:
        """Sound an alarm that the atmosphere did not cause (a drill's false alarm)."""
        self.atmosphere.sync()
        self.log.emit(self.env.now, "alarm", alarm=name, where=where, cause=cause)
        self.on_alarm(name, where)

    # -- what procedures wait on ---------------------------------------------------------------
    def watch(self, predicate) -> simpy.Event:
        """An event that fires at the first alarm poll where ``predicate(t, p, pp)`` holds.

        It fires at once when the predicate already holds now.
        """
        return self.watch_dpdt(lambda t, p, pp, _dpdt: predicate(t, p, pp))

    def watch_dpdt(self, predicate) -> simpy.Event:
        """Like :meth:`watch`, for a predicate that also reads dP/dt: ``predicate(t, p, pp, dpdt)``."""
        event = self.env.event()
        self.atmosphere.sync()
        solver = self.atmosphere.solver
        t, p = self.env.now, solver.pressure()
        if predicate(t, p, solver.partial_pressures(), self.dpdt(t, p)):
            event.succeed()
        else:
            self.watchers.items.append((predicate, event))
        return event
