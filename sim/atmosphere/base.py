"""Solver contract, options, results and errors shared by all atmosphere solvers."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from .network import GasNetwork

__all__ = ["AtmosphereSolver", "Samples", "SolverError", "SolverOptions"]


class SolverError(Exception):
    """The atmosphere solver cannot continue (e.g. Newton fails at the minimum step).

    The message says at which simulated time [s] and why. The lead will re-parent
    this under the package's root ``SimError``.
    """


@dataclass(frozen=True)
class SolverOptions:
    """Options of the atmosphere solvers.

    Parameters
    ----------
    thermo : {"isothermal", "adiabatic"}
        Isothermal: walls hold each compartment at its temperature (right for
        leaks lasting minutes or more). Adiabatic: each compartment's gas follows
        its isentrope; only for fast blowdowns (no heat from the walls, mixing
        does not conserve energy).
    hatch_model : {"merge", "orifice"}
        "merge": compartments joined by open hatches form one perfectly mixed zone.
        "orifice": open hatches are integrated as orifices (stiff; for checks).
    rtol : float
        Relative tolerance on zone pressures per step [-].
    atol_pa : float
        Absolute tolerance on zone pressures per step [Pa].
    max_step : float
        Largest step [s]; ``inf`` lets steps without inter-zone flow span the whole
        requested interval (the local solution is exact there).
    laminar_ratio : float
        Pressure ratio above which orifice flow is continued linearly [-]; see
        :func:`sim.atmosphere.flow.orifice_mass_flow`.
    min_step : float
        Smallest step before a Newton failure becomes a :class:`SolverError` [s].
    first_step : float
        Initial step when inter-zone flows start [s].
    newton_max_iter : int
        Newton iterations per implicit step before the step is halved.
    """

    thermo: str = "isothermal"
    hatch_model: str = "merge"
    rtol: float = 1e-4
    atol_pa: float = 0.1
    max_step: float = math.inf
    laminar_ratio: float = 0.999
    min_step: float = 1e-6
    first_step: float = 1e-2
    newton_max_iter: int = 12

    def __post_init__(self):
        if self.thermo not in ("isothermal", "adiabatic"):
            raise ValueError(f"SolverOptions.thermo: {self.thermo!r}, expected 'isothermal' or 'adiabatic'")
        if self.hatch_model not in ("merge", "orifice"):
            raise ValueError(f"SolverOptions.hatch_model: {self.hatch_model!r}, expected 'merge' or 'orifice'")
        for name in ("rtol", "atol_pa", "max_step", "min_step", "first_step"):
            v = getattr(self, name)
            if not v > 0:
                raise ValueError(f"SolverOptions.{name}: {v!r}, expected > 0")
        if not 0.5283 < self.laminar_ratio < 1.0:
            raise ValueError(f"SolverOptions.laminar_ratio: {self.laminar_ratio!r}, expected in (0.5283, 1)")


@dataclass(frozen=True)
class Samples:
    """Sampled solver output.

    Attributes
    ----------
    t : ndarray, shape (k,)
        Times [s].
    pressure : ndarray, shape (k, n)
        Total pressure per compartment [Pa].
    partial_pressure : ndarray, shape (k, n, 3)
        Partial pressures of N2, O2, CO2 [Pa].
    """

    t: np.ndarray
    pressure: np.ndarray
    partial_pressure: np.ndarray


class AtmosphereSolver:
    """Base class of atmosphere solvers.

    A concrete solver provides:

    1. ``__init__(network, masses, options)`` calling ``super().__init__`` and then
       building its state from ``masses`` (n, 3) [kg] in species order N2, O2, CO2.
    2. ``_advance_impl(t_end)``: integrate from ``self.t`` to exactly ``t_end`` (never
       past it) and leave ``self.t == t_end``; discrete changes happen only between
       calls, at the exact time reached.
    3. ``_sample_impl(times)`` (optional): like the default, which advances to each
       time in turn, but may vectorize when the solution has a closed form; or
       ``_sample_pressures(times)``, which returns the total pressures too.
    4. State accessors ``masses()``, ``temperature()``, ``partial_pressures()``,
       ``zones()``, all SI, never NaN, pressures >= 0.
    5. Control methods (hatches, valves, leaks, sources, scrubbers, supplies) that
       take effect from the current time.
    6. A ``ledger`` whose balance holds to round-off after every public call.
    7. Failure as :class:`SolverError` with the time and reason; never NaN output.
    8. ``snapshot()``: an independent copy whose advancing leaves this solver untouched and
       computes exactly what this solver would (the engine's look-ahead samples a snapshot).

    The public :meth:`advance` and :meth:`sample` check arguments and results and
    delegate to the private methods.
    """

    def __init__(self, network: GasNetwork, masses: np.ndarray, options: SolverOptions | None = None):
        self.network = network
        self.options = options if options is not None else SolverOptions()
        m = np.array(masses, dtype=float)
        if m.shape != (network.n, 3):
            raise ValueError(f"masses: shape {m.shape}, expected ({network.n}, 3)")
        bad = np.argwhere(~(np.isfinite(m) & (m >= 0)))
        if len(bad):
            i, s = bad[0]
            raise ValueError(f"masses[{i}, {s}] ({network.names[i]!r}): {m[i, s]!r}, expected a finite value >= 0")
        self.t = 0.0

    def advance(self, t_end: float) -> None:
        """Integrate to ``t_end`` [s] exactly.

        Raises
        ------
        ValueError
            If ``t_end`` is before the current time or not finite.
        SolverError
            If the integration cannot continue.
        """
        t_end = float(t_end)
        if not math.isfinite(t_end) or t_end < self.t:
            raise ValueError(f"advance: t_end={t_end!r} must be finite and >= current time {self.t!r}")
        if t_end > self.t:
            self._advance_impl(t_end)
            self._check_state()
        self.t = t_end

    def sample(self, times) -> Samples:
        """Advance through sorted ``times`` [s] (>= current time) and return the states.

        Returns
        -------
        Samples
            Pressures [Pa] (k, n) and partial pressures [Pa] (k, n, 3).
        """
        times = np.asarray(times, dtype=float).ravel()
        if len(times) == 0:
            n = self.network.n
            return Samples(times, np.zeros((0, n)), np.zeros((0, n, 3)))
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0) or times[0] < self.t:
            raise ValueError(f"sample: times must be finite, sorted and >= current time {self.t!r}")
        p, pp = self._sample_pressures(times)
        self._check_state()
        return Samples(times, p, pp)

    def _sample_pressures(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Total (k, n) and partial (k, n, 3) pressures [Pa] at *times*; a solver whose compartments
        share states (mixed zones) may sum the partial pressures once per zone instead."""
        pp = self._sample_impl(times)
        return pp.sum(axis=-1), pp

    def _sample_impl(self, times: np.ndarray) -> np.ndarray:
        out = np.empty((len(times), self.network.n, 3))
        for k, tk in enumerate(times):
            self.advance(tk)
            out[k] = self.partial_pressures()
        return out

    def _check_state(self):
        pp = self.partial_pressures()
        if not np.all(np.isfinite(pp)) or np.any(pp < 0):
            raise SolverError(f"t={self.t:.9g} s: non-finite or negative partial pressure in the atmosphere state")

    def _advance_impl(self, t_end: float) -> None:
        raise NotImplementedError

    def snapshot(self) -> AtmosphereSolver:
        """An independent copy of this solver (the default deep-copies; subclasses do it cheaply)."""
        return copy.deepcopy(self)

    def pressure(self) -> np.ndarray:
        """Total pressure per compartment [Pa], shape (n,)."""
        return self.partial_pressures().sum(axis=1)

    def partial_pressures(self) -> np.ndarray:
        """Partial pressures [Pa], shape (n, 3)."""
        raise NotImplementedError

    def masses(self) -> np.ndarray:
        """Species masses per compartment [kg], shape (n, 3)."""
        raise NotImplementedError

    def temperature(self) -> np.ndarray:
        """Gas temperature per compartment [K], shape (n,)."""
        raise NotImplementedError

    def zones(self) -> list:
        """Perfectly mixed zones as a list of compartment index arrays."""
        raise NotImplementedError
