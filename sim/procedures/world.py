"""What procedures see of a run: the narrow interfaces the interpreter and its step handlers use.

Procedures never import the engine. They act on the world through :class:`ProcedureWorld`, which
names exactly the state and operations the interpreter (:mod:`sim.procedures.runner`) and the
step handlers (:mod:`sim.procedures.steps`) use; conditions read it through
:class:`ConditionWorld` (:mod:`sim.procedures.lookup`). The engine's coordinator,
:class:`sim.engine.Simulation`, provides both. A step handler sees its own procedure run through
:class:`StepRun`. ``tests/test_architecture.py`` checks that the code uses no more than these
names and that each is used.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence, Set
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import simpy

    from sim.atmosphere.base import AtmosphereSolver
    from sim.crew import CrewMember, Mover
    from sim.exposure import Exposure
    from sim.faults import Faults
    from sim.procedures.conditions import Condition, ConditionLookup
    from sim.results.events import EventLog
    from sim.scenario.procedure_load import LoadedProcedure
    from sim.scenario.scenario_model import Scenario
    from sim.scenario.station_model import Station

__all__ = ["ConditionWorld", "ProcedureWorld", "StepRun"]


class ConditionWorld(Protocol):
    """What a condition lookup reads of the run besides the pressures it is given."""

    station: Station
    index: Mapping[str, int]
    crew: Mapping[str, CrewMember]


class ProcedureWorld(Protocol):
    """The run as procedures act on it: crew, hatches, valves, leaks, supplies, gauges, waits.

    Every change goes through an operation here, which synchronises the atmosphere to the
    instant and logs it; the state attributes are read, never assigned.
    """

    env: simpy.Environment
    log: EventLog
    rng: np.random.Generator
    scenario: Scenario
    station: Station
    index: Mapping[str, int]
    crew: Mapping[str, CrewMember]
    mover: Mover
    faults: Faults
    hatch_open: Mapping[str, bool]
    valve_open: Mapping[str, bool]
    departed: Set[str]
    departed_hatches: Set[str]
    solver: AtmosphereSolver
    exposure: Exposure

    def sync(self) -> None:
        """Advance the atmosphere to ``env.now``."""

    def pressures(self) -> np.ndarray:
        """Total pressure of every compartment now [Pa] (synchronised first)."""

    def dpdt_now(self) -> np.ndarray:
        """dP/dt of every compartment now, as the alarm system computes it [Pa/s]."""

    def set_hatch(self, hatch: str, is_open: bool, by: str | None = None) -> None:
        """Open or close a hatch now."""

    def set_valve(self, hatch: str, is_open: bool, by: str | None = None) -> None:
        """Open or close a hatch's equalization valve now."""

    def set_leak_scale(self, leak_id: str, scale: float, cause: str) -> None:
        """Multiply a leak's effective area by *scale* (0 seals it)."""

    def set_supply(self, supply: str, into: str, rate: float, by: str | None = None) -> bool:
        """Start or stop a make-up gas flow [kg/s]; False when the supply is lost."""

    def supply_empty(self, supply: str) -> bool:
        """Whether a gas supply has nothing left."""

    def undock(self, vehicle: str) -> None:
        """A vehicle leaves with whoever is aboard."""

    def crew_in_volume(self, of: str) -> list[str]:
        """Crew who breathe in the volume a gauge of *of* reads now."""

    def record_measurement(self, run: StepRun, step: Any, readings: dict[str, float], by: str | None, *,
                           resolution: float = 0.0, breathers: Sequence[str] = ()) -> None:
        """Log a gauge reading and keep it for the summary."""

    def watch(self, predicate: Any) -> simpy.Event:
        """An event that fires at the first alarm poll where ``predicate(t, p, pp)`` holds."""

    def watch_condition(self, condition: Condition, run: StepRun | None) -> simpy.Event:
        """An event that fires when a procedure's condition first holds."""

    def live_lookup(self, run: StepRun) -> ConditionLookup:
        """The condition lookup over the state now."""


class StepRun(Protocol):
    """A procedure run as its step handlers and condition lookups see it."""

    sim: ProcedureWorld
    env: simpy.Environment
    label: str
    loaded: LoadedProcedure
    variables: dict[str, float]
    phase_started: dict[str, float]

    def members(self, who: str) -> list[CrewMember]:
        """Crew members a role, crew id or ``all`` refers to."""

    def pick(self, who: str, near: tuple[str, ...] = ()) -> CrewMember | None:
        """The member of *who* best placed to act."""

    def engage(self, member: CrewMember, activity: str, body: Generator) -> simpy.Process:
        """Run *body* as a task of *member*."""

    def spawn(self, body: Generator) -> simpy.Process:
        """Start a sub-process of this procedure."""

    def all_of(self, procs: list[simpy.Process]) -> Generator:
        """Wait for every process; returns their values in order."""

    def run_steps(self, steps: list) -> Generator:
        """Run *steps* in order; returns the flow that left them."""
