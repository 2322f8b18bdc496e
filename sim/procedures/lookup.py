"""What conditions read: the engine's state, live or at a look-ahead poll."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.crew import SEVERITY
from sim.procedures.conditions import STATION
from sim.reserve import treserve

if TYPE_CHECKING:
    from sim.procedures.world import ConditionWorld, StepRun

__all__ = ["StateLookup", "treserve"]

_SPECIES = {"N2": 0, "O2": 1, "CO2": 2}


class StateLookup:
    """A :class:`~sim.procedures.conditions.ConditionLookup` over pressures at one instant.

    Parameters
    ----------
    sim : ConditionWorld
        The run's station, compartment index and crew (the engine provides it).
    run : StepRun or None
        Supplies measured variables and phase start times.
    t : float
        The instant [s].
    p, pp : ndarray
        Total [Pa] (n,) and partial [Pa] (n, 3) pressures at *t*.
    dpdt : ndarray
        dP/dt of every compartment at *t* [Pa/s], as the alarm system computes it.
    """

    def __init__(self, sim: ConditionWorld, run: StepRun | None, t: float, p, pp, dpdt):
        self.sim, self.run, self.t, self.p, self.pp, self._dpdt = sim, run, t, p, pp, dpdt

    def _i(self, compartment: str) -> int:
        return self.sim.index[compartment]

    def pressure(self, compartment: str) -> float:
        if compartment == STATION:
            return float(np.min(self.p))
        return float(self.p[self._i(compartment)])

    def partial_pressure(self, compartment: str, species: str) -> float:
        column = self.pp[:, _SPECIES[species]]
        if compartment == STATION:
            return float(np.min(column) if species == "O2" else np.max(column))
        return float(column[self._i(compartment)])

    def dpdt(self, compartment: str) -> float:
        if compartment == STATION:
            return float(np.min(self._dpdt))
        return float(self._dpdt[self._i(compartment)])

    def treserve(self, compartment: str) -> float:
        floor = self.sim.station.limits.reserve_floor
        values = treserve(self.p, self._dpdt, floor)
        if compartment == STATION:
            return float(np.min(values))
        return float(values[self._i(compartment)])

    def elapsed(self, phase: str) -> float:
        started = self.run.phase_started.get(phase) if self.run else None
        if started is None:
            raise LookupError(f"phase '{phase}' has not started")
        return self.t - started

    def _members(self, who: str):
        members = self.run.members(who) if self.run else [m for m in self.sim.crew.values() if m.id == who]
        if not members:
            raise LookupError(f"no crew member is '{who}'")
        return members

    def status(self, crew: str) -> str:
        return max((m.status for m in self._members(crew)), key=SEVERITY.__getitem__)

    def location(self, crew: str) -> str:
        return self._members(crew)[0].location

    def variable(self, name: str) -> float:
        value = self.run.variables.get(name) if self.run else None
        if value is None:
            raise LookupError(f"variable '{name}' has not been measured yet")
        return value

    def time(self) -> float:
        return self.t


