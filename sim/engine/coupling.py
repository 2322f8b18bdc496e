"""The atmosphere coupled to simulation time: the solver advanced lazily, the series recorded.

Whatever changes the atmosphere (a hatch closing, a leak starting, a crew member moving and
breathing elsewhere) first calls :meth:`AtmosphereCoupling.sync`, which integrates the solver up
to ``env.now`` and records the series samples passed on the way, with their true Treserves and
the minimum pressures. The caution-and-warning monitor (:mod:`sim.engine.monitor`) may replace
:attr:`AtmosphereCoupling.solver` with a look-ahead snapshot that it has advanced; everything
else reads the solver through this object, never keeping its own reference.

Batch mode of sweeps (:mod:`sim.sweep.batch`) repeats :meth:`AtmosphereCoupling.observe`'s
minimum-pressure tracking for many runs at once; a change here must be made there too
(``tests/sweep/test_batch.py``, ``test_integrate_matches_single_runs_bit_for_bit``, proves they agree).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from sim.atmosphere import R_SPECIES
from sim.reserve import leak_treserve
from sim.temperature import temperatures_at

if TYPE_CHECKING:
    import simpy

    from sim.atmosphere.base import AtmosphereSolver
    from sim.atmosphere.network import GasNetwork
    from sim.reserve import ReserveConfig
    from sim.results.series import SeriesRecorder
    from sim.scenario.scenario_model import Scenario

__all__ = ["AtmosphereCoupling", "CrewedAir", "pressure_of"]


def pressure_of(net: GasNetwork, masses: np.ndarray) -> np.ndarray:
    """Total pressure of every compartment holding *masses* [kg] (n, 3) [Pa]."""
    return (masses * R_SPECIES).sum(axis=1) * net.temperature / net.volume


class CrewedAir(Protocol):
    """Which air the crew breathe and what draws it down (:class:`sim.exposure.Exposure`)."""

    def reserve_config(self) -> ReserveConfig:
        """The configuration of the leak-driven dP/dt now."""

    def crewed_mask(self) -> np.ndarray:
        """Which compartments hold the crew's air now (bool, compartment order)."""


class AtmosphereCoupling:
    """The solver of one run, advanced with its simpy clock; the series and minimum pressures.

    Parameters
    ----------
    env : simpy.Environment
    scenario : Scenario
        For its ``duration`` [s] and ``cabin_temperature``.
    reserve_floor : float
        The station's reserve floor, for the series' Treserves [Pa].
    net : GasNetwork
    solver : AtmosphereSolver
        Configured (supplies, life support, breathing crew) by the coordinator.
    recorder : SeriesRecorder
    p0 : ndarray
        Pressure of every compartment at the start [Pa].

    Attributes
    ----------
    p_min, p_min_t : ndarray
        The lowest pressure of every compartment so far [Pa] and when [s].
    temperature_log : list of (t [s], T [K] (n,))
        The cabin temperatures applied, from each update on.
    air : CrewedAir
        Set by the coordinator once the crew's air is known; the series' Treserves need it.
    """

    def __init__(self, env: simpy.Environment, scenario: Scenario, reserve_floor: float, net: GasNetwork,
                 solver: AtmosphereSolver, recorder: SeriesRecorder, p0: np.ndarray):
        self.env = env
        self.scenario = scenario
        self.net = net
        self.names = net.names
        self.solver = solver
        self.recorder = recorder
        self.reserve_floor = reserve_floor
        self.end = scenario.duration
        self.p0 = p0
        self.p_min = p0.copy()
        self.p_min_t = np.zeros(len(self.names))
        self.temperature_log: list[tuple[float, np.ndarray]] = []
        self.air: CrewedAir | None = None

    def sync(self) -> None:
        """Advance the atmosphere to ``env.now``, recording the series samples on the way."""
        t = self.env.now
        if t < self.solver.t:
            return
        due = self.recorder.due(t)
        if len(due):
            s = self.solver.sample(due)
            self.record(s.pressure, s.partial_pressure)
            self.observe(due, s.pressure)
        self.solver.advance(t)

    def record(self, p: np.ndarray, pp: np.ndarray) -> None:
        """Add series samples taken since the last discrete change, with their true Treserves."""
        tr = leak_treserve(p, pp, self.air.reserve_config(), self.reserve_floor)
        station = tr[:, self.air.crewed_mask()].min(axis=1)
        self.recorder.add(p, pp, tr, station)

    def observe(self, times: np.ndarray, p: np.ndarray) -> None:
        """Track minimum pressures over samples *p* (k, n) [Pa] at *times* [s]."""
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

    def cabin_temperature(self):
        """simpy process: apply the scenario's temperature disturbances, each held for ``every`` [s]."""
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
