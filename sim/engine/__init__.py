"""The simulation engine: one simpy Environment per run, the atmosphere advancing with it.

``from sim.engine import Simulation, simulate, RunResult`` is the engine's public face. Inside,
one module per concept, wired by the coordinator :class:`~sim.engine.simulation.Simulation`:

=================== ===========================================================================
``simulation``      the coordinator: builds the run, wires the parts, runs, the outcome
``coupling``        the atmosphere advanced with simulation time: sync, series, minimum pressures
``monitor``         caution and warning: look-ahead batches of polls, alarms, dP/dt, reserve floor
``crew_actions``    crew moving into compartments and breathing there, status, trapped, in place
``station_actions`` hatches, valves, leaks, gas supplies, undocking, the scenario's script
``measurements``    the crew's readings beside the model's truth
=================== ===========================================================================

Time and the atmosphere. The solver is advanced lazily: whatever changes the atmosphere first
calls :meth:`~sim.engine.coupling.AtmosphereCoupling.sync`, which integrates up to ``env.now``
and records the series samples passed on the way. Between discrete events the monitor looks
ahead on a snapshot of the solver over a batch of poll instants (up to the next scheduled simpy
event), so a quiet hour costs one vectorized solver call, not 360 polls; only when something
trips (an alarm, a hazard, a procedure's wait condition) does it move the clock to that instant
and act.
"""

from sim.engine.simulation import Simulation, simulate
from sim.results.result import RunResult

__all__ = ["RunResult", "Simulation", "simulate"]
