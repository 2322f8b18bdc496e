"""The coordinator: one simpy Environment per run, and the parts of the engine wired together.

Data flow: a :class:`~sim.scenario.load.LoadedScenario` goes in; :class:`Simulation` builds the
station graph, the atmosphere solver and the parts that act on them, starts the processes
(scripted leaks and events, the caution-and-warning monitor, crew and procedures) and returns a
:class:`~sim.results.result.RunResult`, which the writers in :mod:`sim.results` turn into a run
directory. Each part holds one concept (docs/architecture.md):

* :mod:`sim.engine.coupling`: the atmosphere advanced with simulation time, the series;
* :mod:`sim.engine.monitor`: the caution-and-warning monitor (alarms, dP/dt, the reserve floor,
  crew hazards and procedures' waits, in look-ahead batches);
* :mod:`sim.engine.crew_actions`: crew moving into compartments, breathing, their status;
* :mod:`sim.engine.station_actions`: hatches, valves, leaks, supplies, undocking;
* :mod:`sim.engine.measurements`: the crew's readings beside the model's truth.

Crew (:mod:`sim.crew`), their exposure (:mod:`sim.exposure`), procedures (:mod:`sim.procedures`)
and the summary (:mod:`sim.results.summary`) never import the engine: each names the state and
operations it uses in a ``typing.Protocol`` (:class:`~sim.crew.MoverWorld`,
:class:`~sim.procedures.world.ProcedureWorld`, ...), and the coordinator provides them, mostly by
handing on the part that does each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import simpy

from sim.atmosphere import SolverError, SolverOptions, make_solver
from sim.crew import INCAPACITATED, CrewMember, HazardMonitor, Mover
from sim.engine.coupling import AtmosphereCoupling, pressure_of
from sim.engine.crew_actions import CrewActions
from sim.engine.measurements import Measurements
from sim.engine.monitor import Monitor
from sim.engine.station_actions import StationActions
from sim.errors import SimulationError
from sim.exposure import Exposure
from sim.instruments import gauge_csv, gauge_readings
from sim.procedures.conditions import ConditionRuntimeError
from sim.procedures.lookup import StateLookup
from sim.procedures.runner import ProcedureRun
from sim.results.events import EventLog
from sim.results.result import RunResult
from sim.results.series import Series, SeriesRecorder, sample_times
from sim.results.summary import build_summary
from sim.scenario.load import TIMELINE, LoadedScenario
from sim.scenario.scenario_model import RunEntry
from sim.station import build_graph, gas_network, initial_masses

__all__ = ["Simulation", "simulate"]

_GAUGE_STREAM = 0x6761756765
"""Spawn key of the gauges' noise, a stream of its own so gauges never shift the run's other draws."""


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
    env : simpy.Environment, optional
        The environment to run in (a drill's, or a probing one); a new one by default.

    Attributes
    ----------
    atmosphere : AtmosphereCoupling
    monitor : Monitor
    crew_actions : CrewActions
    station_actions : StationActions
    readings : Measurements
    mover : Mover
    exposure : Exposure
        The parts. The operations that crew, procedures, drills and the summary use are the
        parts' own methods, handed on as attributes of the same name (``sim.set_hatch`` is
        ``sim.station_actions.set_hatch``); the state they read (``hatch_open``, ``leak_state``,
        ``crew``, ``faults``, ...) is the parts' own objects.
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
        self.log = log = EventLog()
        self.G = build_graph(st)
        hatch_open = {h: s == "open" for h, s in sc.initial.hatches.items()}
        valve_open = {h: s == "open" for h, s in sc.initial.valves.items()}
        self.net = net = gas_network(st, hatch_open, valve_open)
        self.names = net.names
        self.end = sc.duration
        m0 = initial_masses(st)
        self.p0 = pressure_of(net, m0)
        options = SolverOptions(thermo=sc.solver.thermo, hatch_model=sc.solver.hatch_model)
        solver = make_solver("zonal", net, m0, options)
        recorder = SeriesRecorder(self.names, sample_times(sc.duration, sc.output.every))
        self.atmosphere = air = AtmosphereCoupling(self.env, sc, st.limits.reserve_floor, net, solver, recorder,
                                                   self.p0)
        self.crew: dict[str, CrewMember] = {}
        self.station_actions = actions = StationActions(self.env, sc, st, self.G, net, air, log, self.crew)
        self.index, self.edge_index = actions.index, actions.edge_index
        for sid, supply in st.gas_supply.items():
            solver.add_supply(sid, np.array([supply.N2, supply.O2, 0.0]))
        for cid, comp in (st.compartments | st.vehicles).items():
            if comp.life_support is not None:
                i = self.index[cid]
                solver.set_scrubber(f"ls:{cid}", i, comp.life_support.co2_scrub)
                if comp.life_support.o2_supply > 0:
                    solver.set_source(f"ls:{cid}", i, np.array([0.0, comp.life_support.o2_supply, 0.0]))
        self.monitor = monitor = Monitor(self.env, air, st, sc.duration, log, self.on_alarm)
        self.crew_actions = people = CrewActions(self.env, self.G, self.crew, self.index, sc.physiology, air, log)
        self._hand_on()
        self.mover = actions.mover = people.mover = Mover(self)
        for c in sc.crew:
            self.crew[c.id] = CrewMember(
                id=c.id, roles=tuple(c.roles), home=c.at, location=c.at, vehicle=c.vehicle, speed=c.speed,
                response=c.response, resource=simpy.Resource(self.env, capacity=1),
            )
            people.breathe(self.crew[c.id])
        if self.crew:
            monitor.extensions = [HazardMonitor(self), monitor.watchers]
        self.procedure_runs: list[ProcedureRun] = []
        self.started_entries: set[int] = set()
        self.exposure = air.air = actions.exposure = people.exposure = Exposure(self)
        self.readings = Measurements(self.env, st, sc.physiology, net, air, self.exposure, self.crew,
                                     actions.leak_state, actions.leak_detected, actions.open_zones, log)
        self.record_measurement = self.readings.record_measurement
        self.measured_volume = self.readings.measured_volume
        self.crew_in_volume = self.readings.crew_in_volume
        self.breathing_dpdt = self.readings.breathing_dpdt
        self.truth_now = self.readings.truth_now

    def _hand_on(self) -> None:
        """Make the parts' state and operations this object's: what crew, procedures, drills and
        the summary use (the Protocols of :mod:`sim.crew`, :mod:`sim.exposure`,
        :mod:`sim.procedures.world`, :mod:`sim.results.summary`)."""
        air, monitor, actions, people = self.atmosphere, self.monitor, self.station_actions, self.crew_actions
        self.sync, self.pressures, self.temperature_csv = air.sync, air.pressures, air.temperature_csv
        self.recorder, self.temperature_log = air.recorder, air.temperature_log
        self.poll, self.alarms_active, self.floor_crossed = monitor.poll, monitor.alarms_active, monitor.floor_crossed
        self.watchers = monitor.watchers
        self.watch, self.dpdt_now, self.raise_alarm = monitor.watch, monitor.dpdt_now, monitor.raise_alarm
        self.hatch_open, self.valve_open, self.faults = actions.hatch_open, actions.valve_open, actions.faults
        self.leak_cda, self.leak_state, self.leak_detected = actions.leak_cda, actions.leak_state, actions.leak_detected
        self.departed, self.departed_hatches = actions.departed, actions.departed_hatches
        self.start_leak, self.set_leak_scale = actions.start_leak, actions.set_leak_scale
        self.set_hatch, self.set_valve, self.open_zones = actions.set_hatch, actions.set_valve, actions.open_zones
        self.set_supply, self.lose_supply, self.supply_empty = actions.set_supply, actions.lose_supply, actions.supply_empty
        self.undock, self.vehicle_hatch = actions.undock, actions.vehicle_hatch
        self.relocate, self.set_status = people.relocate, people.set_status
        self.still_trapped, self.in_place = people.still_trapped, people.in_place

    # -- state a part replaces as the run goes on ------------------------------------------------
    @property
    def solver(self):
        """The atmosphere solver now (the monitor's look-ahead replaces it with the snapshot it advanced)."""
        return self.atmosphere.solver

    @property
    def p_min(self) -> np.ndarray:
        """The lowest pressure of every compartment so far [Pa]."""
        return self.atmosphere.p_min

    @property
    def p_min_t(self) -> np.ndarray:
        """When each compartment reached its lowest pressure [s]."""
        return self.atmosphere.p_min_t

    @property
    def extensions(self) -> list[Any]:
        """What the monitor looks at besides the alarms (the crew hazard model, the watchers)."""
        return self.monitor.extensions

    @property
    def measurements(self) -> list[dict[str, Any]]:
        """The crew's readings so far, as measured."""
        return self.readings.measurements

    @property
    def treserve_first(self) -> tuple[float, float] | None:
        """(when [s], value [s]) of the crew's first dP/dt or Treserve reading."""
        return self.readings.treserve_first

    # -- procedures ------------------------------------------------------------------------------
    def on_alarm(self, name: str, where: list[str]) -> None:
        """Start the procedures whose run entry waits for this alarm (each once)."""
        for k, entry in enumerate(self.scenario.run):
            if entry.on == name and k not in self.started_entries:
                self._start_procedure(k)
        for leak_id in self.leak_state:
            if name == "rapid_depress" and leak_id not in self.leak_detected:
                self.leak_detected[leak_id] = (self.env.now, "alarm")

    def watch_condition(self, condition, run) -> simpy.Event:
        """An event that fires when a procedure's condition first holds."""

        def predicate(t, p, pp, dpdt):
            try:
                return bool(condition.evaluate(StateLookup(self, run, t, p, pp, dpdt)))
            except ConditionRuntimeError:
                return False

        return self.monitor.watch_dpdt(predicate)

    def live_lookup(self, run) -> StateLookup:
        """Condition lookup over the state now."""
        self.sync()
        solver = self.solver
        p = solver.pressure()
        return StateLookup(self, run, self.env.now, p, solver.partial_pressures(), self.monitor.dpdt(self.env.now, p))

    def _start_procedure(self, k: int) -> None:
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

    def start_processes(self) -> None:
        """Start the procedures that run at a time (alarm-triggered ones start in on_alarm),
        and schedule the actions of an as-flown timeline."""
        for k, entry in enumerate(self.scenario.run):
            if entry.at is not None:
                self.env.process(self._start_at(k, entry.at))
        timeline = self.loaded.procedures.get(TIMELINE)
        if timeline is not None:
            run = ProcedureRun(self, timeline, RunEntry(procedure=TIMELINE, at=0.0), label="timeline")
            run.phase, run.status = "timeline", "running"
            for entry in self.scenario.timeline:
                self.env.process(self._timeline_action(run, entry))

    def _timeline_action(self, run, entry):
        """Carry out one as-flown action at its recorded time (after the crew member is free)."""
        if entry.at > self.env.now:
            yield self.env.timeout(entry.at - self.env.now)
        yield self.env.process(run.run_steps([entry.step]))

    # -- the outcome -----------------------------------------------------------------------------
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

    # -- running ---------------------------------------------------------------------------------
    def _monitor(self):
        """The caution-and-warning process (:meth:`Monitor.run`), for drivers that run the engine by hand."""
        return self.monitor.run()

    def run(self) -> RunResult:
        """Run to the scenario's duration and return the result (failed runs included)."""
        sc = self.scenario
        self.log.emit(0.0, "run_start", scenario=sc.name, seed=self.seed, spawn_key=list(self.spawn_key),
                      duration_s=sc.duration)
        self.exposure.update()
        if sc.cabin_temperature is not None:
            self.env.process(self.atmosphere.cabin_temperature())
        self.env.process(self.station_actions.scripted())
        self.start_processes()
        self.env.process(self.monitor.run())
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
