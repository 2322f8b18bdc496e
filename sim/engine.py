"""The simulation engine: one simpy Environment per run, the atmosphere advancing with it.

Data flow: a :class:`~sim.scenario.load.LoadedScenario` goes in; the engine builds the station
graph, the atmosphere solver and the processes (scripted leaks and events, the caution-and-warning
monitor, crew and procedures); :meth:`Simulation.run` returns a :class:`RunResult` that the
writers in :mod:`sim.results` turn into a run directory.

Time and the atmosphere. The solver is advanced lazily: whatever changes the atmosphere (a hatch
closing, a leak starting, a crew member moving and breathing elsewhere) first calls
:meth:`Simulation.sync`, which integrates up to ``env.now`` and records the series samples
passed on the way. Between discrete events the monitor looks ahead on a copy of the solver over
a batch of poll instants (up to the next scheduled simpy event), so a quiet hour costs one
vectorized solver call, not 360 polls; only when something trips (an alarm, a hazard, a
procedure's wait condition) does it move the clock to that instant and act.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from sim.atmosphere import (
    R_SPECIES,
    SolverError,
    SolverOptions,
    cda_from_leak_rate,
    hole_area_from_diameter,
    make_solver,
    mixture_gas_constant,
)
from sim.crew import INCAPACITATED, CrewMember, HazardMonitor, Mover
from sim.errors import SimulationError
from sim.exposure import Exposure
from sim.faults import Faults
from sim.instruments import gauge_csv, gauge_readings
from sim.procedures.lookup import StateLookup
from sim.reserve import leak_dpdt, leak_treserve, treserve
from sim.results.events import EventLog
from sim.results.series import Series, SeriesRecorder, sample_times
from sim.scenario.load import TIMELINE, LoadedScenario
from sim.station import build_graph, gas_network, initial_masses
from sim.station import zones as station_zones
from sim.temperature import temperatures_at

__all__ = ["RunResult", "Simulation", "simulate"]

SPECIES = ("N2", "O2", "CO2")
_LOOKAHEAD_POLLS = 360
_GAUGE_STREAM = 0x6761756765
"""Spawn key of the gauges' noise, a stream of its own so gauges never shift the run's other draws."""
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


@dataclass
class RunResult:
    """Everything a run produced, in memory.

    Attributes
    ----------
    status : "ok" or "failed"; a failed run (the solver could not continue) keeps what it had.
    message : why it failed, empty when ok.
    """

    loaded: LoadedScenario
    seed: int
    events: EventLog
    series: Series
    summary: dict[str, Any]
    status: str = "ok"
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str | Path, *, force: bool = False, fmt: str | None = None) -> Path:
        """Write this result as a run directory (see :func:`sim.results.writers.write_run`)."""
        from sim.results.writers import write_run

        return write_run(self, directory, force=force, fmt=fmt)

    def to_dataframe(self):
        """The series as a pandas DataFrame indexed by ``t_s`` (columns as in series.csv)."""
        from sim.results.reader import series_dataframe

        return series_dataframe(self.series)


class Watchers:
    """Events waiting for a predicate of the atmosphere, checked at every alarm poll.

    A predicate is called as ``predicate(t, p, pp, dpdt)`` with the time [s], total [Pa] (n,)
    and partial [Pa] (n, 3) pressures and dP/dt [Pa/s] (n,) at one poll, and must be pure.

    Like every monitor extension it provides ``first_trip(times, p, pp, dpdt, stop)`` (the first
    of the polls ``[:stop]`` at which it wants to act, or None; its state unchanged),
    ``commit(times, p, pp, dpdt)`` (polls at which nothing tripped have passed),
    ``act(t, p, pp, dpdt)`` (a real poll, on the real state) and ``summarize(summary)``.
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


class Simulation:
    """One run of one scenario.

    Parameters
    ----------
    loaded : LoadedScenario
        A validated scenario.
    seed : int or numpy.random.SeedSequence, optional
        Overrides the scenario's seed; every random draw of the run comes from one
        ``numpy.random.Generator`` derived from it. A sweep passes
        ``SeedSequence(root, spawn_key=(run_id,))`` so that any run can be reproduced alone.
    """

    def __init__(self, loaded: LoadedScenario, seed: int | None = None, *, env: simpy.Environment | None = None):
        self.loaded = loaded
        sc, st = loaded.scenario, loaded.station
        self.scenario, self.station = sc, st
        if isinstance(seed, np.random.SeedSequence):
            self.seed_sequence = seed
        else:
            self.seed_sequence = np.random.SeedSequence(sc.seed if seed is None else int(seed))
        self.seed = int(self.seed_sequence.entropy)
        self.spawn_key = tuple(int(k) for k in self.seed_sequence.spawn_key)
        self.rng = np.random.default_rng(self.seed_sequence)
        self.env = env if env is not None else simpy.Environment()
        self.log = EventLog()
        self.G = build_graph(st)
        hatch_open = {h: s == "open" for h, s in sc.initial.hatches.items()}
        valve_open = {h: s == "open" for h, s in sc.initial.valves.items()}
        self.net = gas_network(st, hatch_open, valve_open)
        self.names = self.net.names
        self.index = {n: i for i, n in enumerate(self.names)}
        self.edge_index = {h: j for j, h in enumerate(self.net.edge_names)}
        self.hatch_open = dict(zip(self.net.edge_names, map(bool, self.net.hatch_open), strict=True))
        self.valve_open = dict(zip(self.net.edge_names, map(bool, self.net.valve_open), strict=True))
        m0 = initial_masses(st)
        self.p0 = self._pressure_of(m0)
        options = SolverOptions(thermo=sc.solver.thermo, hatch_model=sc.solver.hatch_model)
        self.solver = make_solver("zonal", self.net, m0, options)
        self.end = sc.duration
        self.recorder = SeriesRecorder(self.names, sample_times(sc.duration, sc.output.every))
        self.poll = st.alarms.poll
        n = len(self.names)
        self.p_min = self.p0.copy()
        self.p_min_t = np.zeros(n)
        self.floor_crossed: dict[str, float] = {}
        self.leak_cda: dict[str, float] = {}
        self.leak_state: dict[str, dict[str, Any]] = {}
        self.alarms_active: set[str] = set()
        self._history: list[tuple[float, np.ndarray]] = []  # (t, p) at polls, for dP/dt
        self._zones_cache: dict[tuple[bool, ...], list[set[str]]] = {}
        for sid, supply in st.gas_supply.items():
            self.solver.add_supply(sid, np.array([supply.N2, supply.O2, 0.0]))
        for cid, comp in (st.compartments | st.vehicles).items():
            if comp.life_support is not None:
                i = self.index[cid]
                self.solver.set_scrubber(f"ls:{cid}", i, comp.life_support.co2_scrub)
                if comp.life_support.o2_supply > 0:
                    self.solver.set_source(f"ls:{cid}", i, np.array([0.0, comp.life_support.o2_supply, 0.0]))
        self.failure: str | None = None
        # crew and procedures
        self.crew: dict[str, CrewMember] = {}
        self.mover = Mover(self)
        for c in sc.crew:
            self.crew[c.id] = CrewMember(
                id=c.id, roles=tuple(c.roles), home=c.at, location=c.at, vehicle=c.vehicle, speed=c.speed,
                response=c.response, resource=simpy.Resource(self.env, capacity=1),
            )
            self._breathe(self.crew[c.id])
        self.watchers = Watchers()
        self.extensions: list[Any] = [HazardMonitor(self), self.watchers] if self.crew else [self.watchers]
        self.procedure_runs: list[Any] = []
        self.started_entries: set[int] = set()
        self.departed: set[str] = set()
        self.departed_hatches: set[str] = set()
        self.leak_detected: dict[str, tuple[float, str]] = {}
        self.treserve_first: tuple[float, float] | None = None
        self.measurements: list[dict[str, Any]] = []
        self.faults = Faults()
        self.temperature_log: list[tuple[float, np.ndarray]] = []
        self.exposure = Exposure(self)

    # -- the atmosphere -------------------------------------------------------------------
    def _pressure_of(self, masses: np.ndarray) -> np.ndarray:
        return (masses * R_SPECIES).sum(axis=1) * self.net.temperature / self.net.volume

    def sync(self) -> None:
        """Advance the atmosphere to ``env.now``, recording the series samples on the way."""
        t = self.env.now
        if t < self.solver.t:
            return
        due = self.recorder.due(t)
        if len(due):
            s = self.solver.sample(due)
            self._record(s.pressure, s.partial_pressure)
            self._observe(due, s.pressure)
        self.solver.advance(t)

    def _record(self, p: np.ndarray, pp: np.ndarray) -> None:
        """Add series samples taken since the last discrete change, with their true Treserves."""
        tr = leak_treserve(p, pp, self.exposure.reserve_config(), self.station.limits.reserve_floor)
        station = tr[:, self.exposure.crewed_mask()].min(axis=1)
        self.recorder.add(p, pp, tr, station)

    def _observe(self, times: np.ndarray, p: np.ndarray) -> None:
        """Track minimum pressures and floor crossings over samples *p* (k, n) at *times* [s]."""
        if not len(times):
            return
        k = np.argmin(p, axis=0)
        lows = p[k, np.arange(p.shape[1])]
        better = lows < self.p_min
        self.p_min = np.where(better, lows, self.p_min)
        self.p_min_t = np.where(better, times[k], self.p_min_t)

    def pressures(self) -> np.ndarray:
        """Total pressure of every compartment now [Pa] (syncs first)."""
        self.sync()
        return self.solver.pressure()

    # -- scripted leaks and events ----------------------------------------------------------
    def _leak_cda(self, leak) -> float:
        i = self.index[leak.at]
        if leak.rate is not None:
            m0 = initial_masses(self.station)[i]
            R = float(mixture_gas_constant(m0 / m0.sum()))
            return float(cda_from_leak_rate(leak.rate, self.p0[i], self.net.temperature[i], R))
        area = leak.area if leak.area is not None else float(hole_area_from_diameter(leak.diameter))
        return leak.cd * area

    def start_leak(self, leak) -> None:
        """Open a leak now."""
        self.sync()
        cda = self._leak_cda(leak)
        self.leak_cda[leak.id] = cda
        self.leak_state[leak.id] = {"at": leak.at, "cda_m2": cda, "started": self.env.now, "scale": 1.0}
        self.solver.add_leak(leak.id, self.index[leak.at], cda)
        self.log.emit(self.env.now, "leak_start", leak=leak.id, at=leak.at, cda_m2=cda)
        if leak.known:
            self.leak_detected[leak.id] = (self.env.now, "known")
        self.exposure.update()

    def set_leak_scale(self, leak_id: str, scale: float, cause: str) -> None:
        """Multiply a leak's current effective area by *scale* (0 seals it)."""
        self.sync()
        state = self.leak_state.get(leak_id)
        if state is None:  # not started yet: applies when it starts
            self.leak_cda[leak_id] = self.leak_cda.get(leak_id, 1.0) * scale
            return
        state["cda_m2"] *= scale
        state["scale"] *= scale
        self.solver.set_leak_cda(leak_id, state["cda_m2"])
        self.log.emit(self.env.now, "leak_change", leak=leak_id, cda_m2=state["cda_m2"], cause=cause)
        self.exposure.update()

    def set_hatch(self, hatch: str, is_open: bool, by: str | None = None) -> None:
        """Open or close a hatch now (the time it takes is the caller's business)."""
        self.sync()
        self.hatch_open[hatch] = is_open
        self.solver.set_hatch_open(self.edge_index[hatch], is_open)
        details = {"hatch": hatch, "state": "open" if is_open else "closed"}
        if by:
            details["by"] = by
        self.log.emit(self.env.now, "hatch", **details)
        self.mover.notify_hatch_change()
        self.exposure.update()

    def set_valve(self, hatch: str, is_open: bool, by: str | None = None) -> None:
        """Open or close a hatch's equalization valve now."""
        self.sync()
        self.valve_open[hatch] = is_open
        self.solver.set_valve_open(self.edge_index[hatch], is_open)
        details = {"hatch": hatch, "state": "open" if is_open else "closed"}
        if by:
            details["by"] = by
        self.log.emit(self.env.now, "valve", **details)
        self.exposure.update()

    def _scripted(self):
        items = []
        for leak in self.scenario.leaks:
            items.append((leak.start, 0, "leak", leak))
        for i, event in enumerate(self.scenario.events):
            items.append((event.at, 1 + i, "event", event))
        for t, _, kind, item in sorted(items, key=lambda x: (x[0], x[1])):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            if kind == "leak":
                self.start_leak(item)
            elif item.leak is not None:
                self.set_leak_scale(item.leak, 0.0 if item.seal else item.scale, cause="scripted")
            elif item.hatch is not None:
                self.set_hatch(item.hatch, item.state == "open", by="scripted")
            else:
                self.set_valve(item.valve, item.state == "open", by="scripted")

    def _cabin_temperature(self):
        """Apply the scenario's temperature disturbances, each value held for ``every`` seconds."""
        spec = self.scenario.cabin_temperature
        t = 0.0
        while True:
            T = temperatures_at(spec, self.names, self.net.temperature, [t + 0.5 * spec.every])[0]
            if t > 0:  # at t = 0 this process runs first, before anything is sampled
                self.sync()
            self.solver.set_temperatures(T)
            self.temperature_log.append((t, T))
            t += spec.every
            if t >= self.end:
                return
            yield self.env.timeout(t - self.env.now)

    def temperature_csv(self) -> str:
        """``temperature.csv``: the gas temperature of every compartment from each update on [K]."""
        lines = ["t_s," + ",".join(f"{n}.T_K" for n in self.names)]
        lines += [f"{t:.9g}," + ",".join(f"{x:.9g}" for x in T) for t, T in self.temperature_log]
        return "\n".join(lines) + "\n"

    # -- caution and warning: the monitor ------------------------------------------------
    def _monitor(self):
        env = self.env
        while True:
            now = env.now
            horizon = min(env.peek(), self.end)
            polls = now + self.poll * np.arange(_LOOKAHEAD_POLLS)
            polls = polls[(polls < horizon) | (polls == now)]
            polls = polls[polls <= self.end]
            trip = self._look_ahead(polls)
            if trip is None:
                t_next = polls[-1] + self.poll
            else:
                t_trip = float(polls[trip])
                if t_trip > now:
                    yield env.timeout(t_trip - now)
                self.sync()
                self._poll_now()
                t_next = t_trip + self.poll
            if t_next > self.end:
                return
            yield env.timeout(t_next - env.now)

    def _look_ahead(self, polls: np.ndarray) -> int | None:
        """Evaluate poll instants on a snapshot of the solver; adopt it when nothing trips.

        Returns the index of the first poll at which something trips, or None.
        """
        due = self.recorder.due(float(polls[-1]))
        times = np.union1d(polls, due)
        trial = self.solver.snapshot()
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
        self.solver = trial
        in_series = _members_of(times, due)
        self._record(s.pressure[in_series], s.partial_pressure[in_series])
        self._observe(times, s.pressure)
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

    def _dpdt(self, t: float, p: np.ndarray) -> np.ndarray:
        """dP/dt over the alarm window ending at *t* [Pa/s]; zeros until a window has passed."""
        window = self.station.alarms.dpdt_window
        for t0, p0 in reversed(self._history):
            if t - t0 >= window - 1e-9:
                return (p - p0) / (t - t0)
        return np.zeros_like(p)

    def _dpdt_batch(self, times: np.ndarray, p: np.ndarray) -> np.ndarray:
        """:meth:`_dpdt` at every poll of a batch (k,) with pressures *p* (k, n), all at once [Pa/s].

        Poll *j* sees the history and the polls before it: its reference is the newest of those
        at least one window older (pruning the history never drops that one), exactly as if
        the polls had been pushed one by one.
        """
        k = len(times)
        if self._history:
            t_all = np.concatenate([[t for t, _ in self._history], times])
            p_all = np.concatenate([np.stack([q for _, q in self._history]), p])
        else:
            t_all, p_all = times, p
        h = len(t_all) - k
        window = self.station.alarms.dpdt_window - 1e-9
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
        h = len(self._history)
        t_all = np.concatenate([[t for t, _ in self._history], times])
        older = np.count_nonzero(t_all[-1] - t_all >= self.station.alarms.dpdt_window)
        drop = max(0, min(older - 1, len(t_all) - 2))
        kept = self._history[drop:] if drop < h else []
        self._history = kept + [(t_all[j].item(), p[j - h]) for j in range(max(drop, h), len(t_all))]

    def _alarm_matrix(self, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> np.ndarray:
        """Which alarm conditions hold where, per poll: bool (k, 3 alarms, n) in :data:`ALARMS` order."""
        a = self.station.alarms
        return np.stack([dpdt < a.rapid_depress, pp[..., 2] > a.ppCO2_high, (pp[..., 1] < a.ppO2_low) & (p > 0)],
                        axis=-2)

    def _alarm_states(self, t: float, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> dict[str, list[str]]:
        where = self._alarm_matrix(p, pp, dpdt)
        return {name: [self.names[i] for i in np.flatnonzero(row)] for name, row in zip(ALARMS, where, strict=True)}

    def _first_trip(self, times: np.ndarray, p: np.ndarray, pp: np.ndarray, dpdt: np.ndarray) -> int | None:
        """Index of the first poll at which an alarm changes or an extension wants to act."""
        sounding = self._alarm_matrix(p, pp, dpdt).any(axis=-1)
        active = np.array([name in self.alarms_active for name in ALARMS])
        changed = np.flatnonzero((sounding != active).any(axis=1))
        first = int(changed[0]) if len(changed) else None
        for ext in self.extensions:
            k = ext.first_trip(times, p, pp, dpdt, len(times) if first is None else first)
            if k is not None and (first is None or k < first):
                first = k
        return first

    def _push_history(self, t: float, p: np.ndarray) -> None:
        self._history.append((t, p))
        window = self.station.alarms.dpdt_window
        while len(self._history) > 2 and t - self._history[1][0] >= window:
            self._history.pop(0)

    def _record_floor_crossings(self, times: np.ndarray | list[float], p: np.ndarray) -> None:
        """Log the first poll at which each compartment is below the reserve floor, in poll order."""
        floor = self.station.limits.reserve_floor
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
                previous = self._history[-1] if self._history else None
            # logged when the poll sees it (events stay in simulation order), with the crossing
            # instant interpolated between the two polls
            name = self.names[i]
            self.floor_crossed[name] = _crossing_time(previous, i, t, p[k, i], floor)
            self.log.emit(t, "reserve_floor", at=name, p_Pa=floor, crossed_s=self.floor_crossed[name])

    def _poll_now(self) -> None:
        """Act at a poll instant on the real solver state (after a look-ahead tripped)."""
        t = self.env.now
        p, pp = self.solver.pressure(), self.solver.partial_pressures()
        dpdt = self._dpdt(t, p)
        self._observe(np.array([t]), p[None, :])
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
        self.sync()
        self.log.emit(self.env.now, "alarm", alarm=name, where=where, cause=cause)
        self.on_alarm(name, where)

    def on_alarm(self, name: str, where: list[str]) -> None:
        """Start the procedures whose run entry waits for this alarm (each once)."""
        for k, entry in enumerate(self.scenario.run):
            if entry.on == name and k not in self.started_entries:
                self._start_procedure(k)
        for leak_id in self.leak_state:
            if name == "rapid_depress" and leak_id not in self.leak_detected:
                self.leak_detected[leak_id] = (self.env.now, "alarm")

    # -- crew ------------------------------------------------------------------------------
    def _breathe(self, member: CrewMember) -> None:
        ph = self.scenario.physiology
        rates = np.array([0.0, -ph.o2_consumption, ph.co2_production])
        self.solver.set_source(f"crew:{member.id}", self.index[member.location], rates)

    def relocate(self, member: CrewMember, place: str, via: str | None = None) -> None:
        """*member* is now in *place* (they breathe there from now on)."""
        self.sync()
        member.location = place
        self._breathe(member)
        self.log.emit(self.env.now, "move", crew=member.id, to=place, via=via)
        node = self.G.nodes[place]
        if node.get("shelter") and member.sheltered_at is None:
            member.sheltered_at = self.env.now
            self.log.emit(self.env.now, "in_shelter", crew=member.id, vehicle=place)
        self.exposure.update()

    def set_status(self, member: CrewMember, status: str, cause: str) -> None:
        """Change a member's status; an incapacitated member stops whatever they were doing."""
        from sim.crew import _SEVERITY

        member.status = status
        if _SEVERITY[status] > _SEVERITY[member.worst_status]:
            member.worst_status = status
        self.log.emit(self.env.now, "status", crew=member.id, status=status, at=member.location, cause=cause)
        if status == INCAPACITATED and member.task is not None and member.task.is_alive:
            if member.task is not self.env.active_process:
                member.task.interrupt("incapacitated")

    def undock(self, vehicle: str) -> None:
        """A vehicle leaves with whoever is aboard; its hatch is closed for good."""
        self.sync()
        aboard = [m for m in self.crew.values() if m.location == vehicle and m.aboard is None]
        for m in aboard:
            m.aboard = vehicle
            m.activity = f"departed in {vehicle}"
        self.departed.add(vehicle)
        for hid, hatch in self.station.hatches.items():
            if vehicle in hatch.between:
                self.departed_hatches.add(hid)
        self.log.emit(self.env.now, "undock", vehicle=vehicle, crew=[m.id for m in aboard])
        self.exposure.update()

    def vehicle_hatch(self, vehicle: str) -> str:
        """The hatch between a vehicle and the compartment it is docked to."""
        v = self.station.vehicles[vehicle]
        return next(h for h, x in self.station.hatches.items() if set(x.between) == {vehicle, v.docked_to})

    def open_zones(self) -> list[set[str]]:
        """Groups of compartments joined through open hatches now (do not modify them).

        Computed once per hatch state: crew moves ask for it far more often than hatches change.
        """
        key = tuple(self.hatch_open.values())
        groups = self._zones_cache.get(key)
        if groups is None:
            groups = self._zones_cache[key] = station_zones(self.G, lambda h: self.hatch_open[h])
        return groups

    # -- what procedures wait on -------------------------------------------------------------
    def watch(self, predicate) -> simpy.Event:
        """An event that fires at the first alarm poll where ``predicate(t, p, pp)`` holds.

        It fires at once when the predicate already holds now.
        """
        return self._watch(lambda t, p, pp, _dpdt: predicate(t, p, pp))

    def _watch(self, predicate) -> simpy.Event:
        """Like :meth:`watch`, for a predicate that also reads dP/dt: ``predicate(t, p, pp, dpdt)``."""
        event = self.env.event()
        self.sync()
        t, p = self.env.now, self.solver.pressure()
        if predicate(t, p, self.solver.partial_pressures(), self._dpdt(t, p)):
            event.succeed()
        else:
            self.watchers.items.append((predicate, event))
        return event

    def watch_condition(self, condition, run) -> simpy.Event:
        """An event that fires when a procedure's condition first holds."""
        from sim.procedures.conditions import ConditionRuntimeError

        def predicate(t, p, pp, dpdt):
            try:
                return bool(condition.evaluate(StateLookup(self, run, t, p, pp, dpdt)))
            except ConditionRuntimeError:
                return False

        return self._watch(predicate)

    def live_lookup(self, run) -> StateLookup:
        """Condition lookup over the state now."""
        self.sync()
        p = self.solver.pressure()
        return StateLookup(self, run, self.env.now, p, self.solver.partial_pressures(), self._dpdt(self.env.now, p))

    def dpdt_now(self) -> np.ndarray:
        """dP/dt of every compartment now, as the alarm system computes it [Pa/s]."""
        self.sync()
        return self._dpdt(self.env.now, self.solver.pressure())

    def measured_volume(self, of: str) -> list[str]:
        """The compartments a gauge of *of* reads: its zone through open hatches (all for ``station``)."""
        if of == "station":
            return list(self.names)
        zone = next(g for g in self.open_zones() if of in g)
        return [c for c in self.names if c in zone]

    def crew_in_volume(self, of: str) -> list[str]:
        """Crew aboard the station who breathe in the volume a gauge of *of* reads now."""
        volume = set(self.measured_volume(of))
        return [m.id for m in self.crew.values() if m.aboard is None and m.location in volume]

    def breathing_dpdt(self, compartments: list[str], people: int) -> float:
        """How fast *people* breathing in *compartments* change their total pressure [Pa/s].

        O2 taken up and CO2 given off at the physiology's rates, in a perfectly mixed isothermal
        volume: ``sum_s(rate_s R_s) / sum_i(V_i / T_i)``; negative (more O2 molecules are taken
        than CO2 molecules given back). Scrubbers and life support are not counted.
        """
        ph = self.scenario.physiology
        idx = [self.index[c] for c in compartments]
        capacity = float(np.sum(self.net.volume[idx] / self.net.temperature[idx]))
        per_person = -ph.o2_consumption * R_SPECIES[1] + ph.co2_production * R_SPECIES[2]
        return people * per_person / capacity

    def truth_now(self, of: str) -> dict[str, float]:
        """The model's leak-driven dP/dt [Pa/s] and Treserve [s] of *of* now (``station``: the
        crewed volume's lowest Treserve and the steepest leak-driven fall)."""
        self.sync()
        p, pp = self.solver.pressure()[None, :], self.solver.partial_pressures()[None, :, :]
        cfg = self.exposure.reserve_config()
        rate = leak_dpdt(p, pp, cfg)[0]
        tres = treserve(p[0], rate, self.station.limits.reserve_floor)
        if of == "station":
            mask = self.exposure.crewed_mask()
            return {"dpdt_Pa_s": float(rate[mask].min()), "treserve_s": float(tres[mask].min())}
        i = self.index[of]
        return {"dpdt_Pa_s": float(rate[i]), "treserve_s": float(tres[i])}

    def record_measurement(self, run, step, readings: dict[str, float], by: str | None, *,
                           resolution: float = 0.0, breathers: list[str] = ()) -> None:
        """Log a gauge reading and keep it, as measured, for the summary's ``measurements``.

        The first reading of dP/dt or Treserve also sets ``treserve_first_s`` (the crew's figure).
        *breathers* are the crew inside the measured volume during the window: their breathing
        is in the reading, which is then marked confounded.
        """
        t = self.env.now
        self.log.emit(t, "measure", procedure=run.label, of=step.of, what=step.what, value=readings[step.what],
                      dpdt_Pa_s=readings["dpdt"], treserve_s=readings["treserve"], variable=step.as_, by=by)
        if self.treserve_first is None and step.what in ("dpdt", "treserve"):
            self.treserve_first = (t, readings["treserve"])
        volume = self.measured_volume(step.of)
        confounded = None
        if breathers and step.what in ("dpdt", "treserve"):
            rate = self.breathing_dpdt(volume, len(breathers))
            share = rate / readings["dpdt"] if readings["dpdt"] < 0 else float("nan")
            size = float(np.sum(self.net.volume[[self.index[c] for c in volume]]))
            reason = (f"{', '.join(breathers)} breathed inside the measured volume ({', '.join(volume)}, "
                      f"{size:.1f} m^3) during the window: breathing alone changes its pressure by "
                      f"{rate:.3g} Pa/s")
            if np.isfinite(share):
                reason += f", {100 * share:.0f} % of the measured {readings['dpdt']:.3g} Pa/s"
            confounded = {"reason": reason, "crew": list(breathers), "breathing_dpdt_Pa_s": rate,
                          "share": share}
        units = {"dpdt": "Pa/s", "treserve": "s", "pressure": "Pa", "ppO2": "Pa", "ppCO2": "Pa"}
        member = self.crew.get(by) if by else None
        self.measurements.append({
            "as": step.as_, "what": step.what, "of": step.of, "by": by,
            "where": member.location if member is not None else None,
            "t_s": t, "window_s": step.window, "value": readings[step.what], "unit": units[step.what],
            "dpdt_Pa_s": readings["dpdt"], "treserve_s": readings["treserve"],
            "resolution": resolution, "resolution_unit": "Pa",
            # the smallest pressure trend the gauge can show over this window: one step of it
            "resolution_dpdt_Pa_s": resolution / step.window if step.window > 0 else None,
            "volume": volume,
            "confounded": confounded, "truth": self.truth_now(step.of),
        })
        if readings["dpdt"] < 0:
            measured = set(volume)
            for leak_id, state in self.leak_state.items():
                if leak_id not in self.leak_detected and state["at"] in measured and state["cda_m2"] > 0:
                    self.leak_detected[leak_id] = (t, "measurement")

    def set_supply(self, supply: str, into: str, rate: float, by: str | None = None) -> bool:
        """Start (rate > 0) or stop a make-up gas flow from *supply* into *into* [kg/s].

        Returns False (and logs why) when the supply has been lost.
        """
        self.sync()
        if rate > 0 and supply in self.faults.lost_supplies:
            self.log.emit(self.env.now, "supply_unavailable", supply=supply, by=by)
            return False
        self.solver.set_supply_flow(supply, self.index[into], rate)
        kind = "repress_start" if rate > 0 else "repress_stop"
        self.log.emit(self.env.now, kind, supply=supply, into=into, rate_kg_s=rate, by=by)
        return True

    def lose_supply(self, supply: str) -> None:
        """A gas supply is lost: any flow from it stops and it gives nothing more."""
        self.sync()
        self.faults.lost_supplies.add(supply)
        for i in self.station.gas_supply[supply].into:
            self.solver.set_supply_flow(supply, self.index[i], 0.0)

    def supply_empty(self, supply: str) -> bool:
        """Whether a gas supply has nothing left."""
        return float(np.sum(self.solver.supply_remaining(supply))) <= 0.0

    def _start_procedure(self, k: int) -> None:
        from sim.procedures.runner import ProcedureRun

        entry = self.scenario.run[k]
        self.started_entries.add(k)
        run = ProcedureRun(self, self.loaded.procedures[entry.procedure], entry, label=f"{k}:{Path(entry.procedure).stem}")
        self.procedure_runs.append(run)
        self.env.process(run.process())

    def _start_at(self, k: int, t: float):
        if t > self.env.now:
            yield self.env.timeout(t - self.env.now)
        if k not in self.started_entries:
            self._start_procedure(k)

    def still_trapped(self, member: CrewMember) -> bool:
        """Whether *member* is trapped now: a move found no open path and none has opened since."""
        trapped = member.trapped
        return trapped is not None and member.location == trapped["at"] and \
            self.mover.route(member.location, trapped["to"]) is None

    def in_place(self, member: CrewMember) -> bool:
        """Whether *member* is where the last move sent them (true if never sent anywhere)."""
        return member.aboard is None and (member.destination is None or member.location == member.destination)

    def outcome(self) -> str:
        """The run's outcome, the first that applies of:

        ``crew_incapacitated``, ``evacuated`` (a vehicle left with crew), ``crew_impaired``,
        ``crew_trapped`` (someone cannot reach where they were sent: no open path),
        ``crew_at_risk`` (a hazard is still present at the end: crew sealed into an isolated or
        leaking compartment, a vehicle over its seats), ``sheltering`` (someone is in a shelter
        vehicle with its hatch closed at the end), ``resumed`` (crew sheltered during the run,
        and every crew member is able, free and where the procedure last sent them),
        ``crew_out_of_place`` (crew sheltered and came out, but someone is not where they were
        sent), ``procedures_done``, ``procedures_running``, ``completed`` (no crew procedures:
        a pure atmosphere run).
        """
        crew = list(self.crew.values())
        if any(m.worst_status == INCAPACITATED for m in crew):
            return "crew_incapacitated"
        if any(m.aboard for m in crew):
            return "evacuated"
        if any(m.worst_status == "impaired" for m in crew):
            return "crew_impaired"
        if any(self.still_trapped(m) for m in crew):
            return "crew_trapped"
        if any(h["hazard"] != "shelter_not_sealed" for h in self.exposure.open_hazards()):
            return "crew_at_risk"
        closed_in = [m for m in crew if self.G.nodes[m.location].get("shelter")
                     and not any(self.hatch_open[h] for _, _, h in self.G.edges(m.location, keys=True))]
        if closed_in:
            return "sheltering"
        if any(m.sheltered_at is not None for m in crew):
            return "resumed" if all(self.in_place(m) for m in crew) else "crew_out_of_place"
        if self.procedure_runs:
            finished = ("done", "stopped")  # a procedure the instructor stopped runs no more
            return "procedures_done" if all(r.status in finished for r in self.procedure_runs) else "procedures_running"
        return "completed"

    # -- running ------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run to the scenario's duration and return the result (failed runs included)."""
        sc = self.scenario
        self.log.emit(0.0, "run_start", scenario=sc.name, seed=self.seed, spawn_key=list(self.spawn_key),
                      duration_s=sc.duration)
        self.exposure.update()
        if sc.cabin_temperature is not None:
            self.env.process(self._cabin_temperature())
        self.env.process(self._scripted())
        self.start_processes()
        self.env.process(self._monitor())
        status, message = "ok", ""
        try:
            self.env.run(until=self.end)
            self.sync()
        except SolverError as exc:
            status, message = "failed", f"atmosphere solver: {exc}"
            self.log.emit(self.env.now, "run_failed", reason=message)
        self.exposure.finish()
        self.log.emit(self.env.now, "run_end", status=status)
        series = self.recorder.series()
        from sim.results.summary import build_summary

        summary = build_summary(self, series, status, message)
        return RunResult(self.loaded, self.seed, self.log, series, summary, status, message, extra=self._instrument_files(series))

    def _instrument_files(self, series: Series) -> dict[str, Any]:
        """Gauge readings beside the truth (``gauges.csv``) and the applied temperatures (``temperature.csv``)."""
        extra: dict[str, Any] = {}
        files = {}
        if self.station.gauges:
            noise = np.random.default_rng(np.random.SeedSequence(self.seed_sequence.entropy,
                                                                 spawn_key=(*self.spawn_key, _GAUGE_STREAM)))
            extra["gauges"] = gauge_readings(self.station, series, noise)
            files["gauges.csv"] = gauge_csv(extra["gauges"])
        if self.temperature_log:
            files["temperature.csv"] = self.temperature_csv()
        if files:
            extra["files"] = files
        return extra

    def start_processes(self) -> None:
        """Start the procedures that run at a time (alarm-triggered ones start in on_alarm),
        and schedule the actions of an as-flown timeline."""
        for k, entry in enumerate(self.scenario.run):
            if entry.at is not None:
                self.env.process(self._start_at(k, entry.at))
        timeline = self.loaded.procedures.get(TIMELINE)
        if timeline is not None:
            from sim.procedures.runner import ProcedureRun
            from sim.scenario.scenario_model import RunEntry

            run = ProcedureRun(self, timeline, RunEntry(procedure=TIMELINE, at=0.0), label="timeline")
            run.phase, run.status = "timeline", "running"
            for entry in self.scenario.timeline:
                self.env.process(self._timeline_action(run, entry))

    def _timeline_action(self, run, entry):
        """Carry out one as-flown action at its recorded time (after the crew member is free)."""
        if entry.at > self.env.now:
            yield self.env.timeout(entry.at - self.env.now)
        yield self.env.process(run.run_steps([entry.step]))


def simulate(loaded: LoadedScenario, seed: int | None = None) -> RunResult:
    """Run a loaded scenario once.

    Raises
    ------
    SimulationError
        Only for a defect in the scenario that validation could not see; numerical failure
        is reported in the result's ``status``.
    """
    try:
        return Simulation(loaded, seed).run()
    except (ValueError, KeyError) as exc:  # a model inconsistency the loader should have caught
        raise SimulationError(str(exc)) from exc

