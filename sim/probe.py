"""An engine probe: the engine's own discrete state at chosen instants, read without changing the run.

Views of a run (``replay --at``, ``report --at``, the drill displays) derive the station's state
from the event log (:mod:`sim.results.state`). To prove that derivation right, the property test
runs the same scenario with a :class:`ProbingEnvironment`, which reads the live
:class:`~sim.engine.Simulation` (crew, hatches, faults, leaks, alarms, procedures) each time the
clock is about to pass one of the instants asked for. It only reads: it schedules nothing, so the
engine's look-ahead batches, and hence the events, are exactly those of an ordinary run. An ordinary
run uses a plain ``simpy.Environment`` and never pays for the probe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import simpy

__all__ = ["EngineState", "ProbingEnvironment", "engine_state"]


@dataclass(frozen=True)
class EngineState:
    """What the engine itself holds at instant ``t`` [s] (plain dicts, for comparison in tests).

    Attributes
    ----------
    crew : {id: {location, aboard, activity, status, trapped_to, waiting_at}}
    hatches : {id: {open, valve_open (None without a valve), jammed, valve_stuck}}
    leaks : {id: {at, active, cda_m2 [m^2], isolated}}
    alarms : names of the alarms the atmosphere has raised and not cleared.
    procedures : {label: {phase, status}}.
    shelter : {vehicle: {crew, sealed}}.
    n_events : events logged so far.
    """

    t: float
    crew: dict[str, dict[str, Any]]
    hatches: dict[str, dict[str, Any]]
    leaks: dict[str, dict[str, Any]]
    alarms: frozenset[str]
    procedures: dict[str, dict[str, Any]]
    shelter: dict[str, dict[str, Any]]
    n_events: int


def engine_state(sim, t: float, extra_runs: Iterable[Any] = ()) -> EngineState:
    """Read the live state of *sim* (a :class:`~sim.engine.Simulation`) at its current instant.

    Parameters
    ----------
    sim : Simulation
    t : float
        The instant to label it with [s].
    extra_runs : iterable of ProcedureRun
        Procedure runs the engine does not list itself (a live drill's one-step commands).
    """
    crew = {m.id: {"location": m.location, "aboard": m.aboard, "activity": m.activity, "status": m.status,
                   "trapped_to": m.trapped_to, "waiting_at": m.waiting_at} for m in sim.crew.values()}
    st = sim.station
    hatches = {h: {"open": sim.hatch_open[h], "valve_open": sim.valve_open[h] if st.hatches[h].valve else None,
                   "jammed": h in sim.faults.jammed_hatches, "valve_stuck": h in sim.faults.stuck_valves}
               for h in st.hatches}
    leaks = {lid: {"at": s["at"], "active": s["cda_m2"] > 0, "cda_m2": float(s["cda_m2"]),
                   # open to the crewed volume now, or when the run ended (finish() closes the books)
                   "isolated": lid not in sim.exposure.open_since and lid not in sim.exposure.open_at_end}
             for lid, s in sim.leak_state.items()}
    runs = {r.label: r for r in [*sim.procedure_runs, *extra_runs] if r.status != "pending"}
    procedures = {label: {"phase": r.phase, "status": r.status} for label, r in runs.items()}
    shelter = {}
    for v, veh in st.vehicles.items():
        if not veh.shelter:
            continue
        hatch = next((h for h, x in st.hatches.items() if set(x.between) == {v, veh.docked_to}), None)
        shelter[v] = {"crew": [m.id for m in sim.crew.values() if m.location == v],
                      "sealed": hatch is not None and not sim.hatch_open[hatch]}
    return EngineState(float(t), crew, hatches, leaks, frozenset(sim.alarms_active), procedures, shelter,
                       len(sim.log.events))


class ProbingEnvironment(simpy.Environment):
    """A simpy environment that calls ``capture(t)`` once everything up to each instant *t* is done.

    ``capture(t)`` runs when the next scheduled event lies after *t* (so every event at or before
    *t* has been processed and none after), and for instants at or after the end of the run once
    :meth:`finish` is called. Nothing is scheduled, so the run is the same as without the probe.

    Parameters
    ----------
    times : iterable of float
        The instants [s].
    capture : callable
        Called with each instant, in increasing order.
    """

    def __init__(self, times: Iterable[float], capture: Callable[[float], None]):
        super().__init__()
        self._pending = sorted(float(t) for t in times)
        self._capture = capture

    def step(self) -> None:
        next_t = self.peek()
        while self._pending and next_t > self._pending[0]:
            self._capture(self._pending.pop(0))
        super().step()

    def finish(self) -> None:
        """Capture the instants not yet reached (the run has ended)."""
        while self._pending:
            self._capture(self._pending.pop(0))
