"""The zonal atmosphere solver: mixed zones, exact local exponentials, implicit inter-zone flow.

Method (see docs/atmosphere.md for the full derivation and the reasons):

1. Zones. With ``hatch_model="merge"`` compartments joined by open hatches form one
   perfectly mixed zone (one pressure, one composition). An open 0.5 m^2 hatch
   equalizes in well under a second and station ventilation mixes through open
   hatches, so merging removes that stiffness exactly instead of resolving it.
   Isothermal zone state: p = sum_s(M_s R_s) / sum_i(V_i/T_i). Zones are recomputed
   only when a hatch changes state; species masses are conserved across the change.
2. Local part (leaks to vacuum, sources, supplies, scrubbers). In isothermal mode a
   choked leak is linear in the zone mass, so with R_mix frozen over a step
   ``dm_s/dt = -(k_leak + k_scrub_s) m_s + S_s`` is solved exactly with exponentials,
   including the instant a consumed species reaches 0 (it then stays 0 and the
   ledger records only what was really consumed). The only approximation, the
   frozen R_mix, is error-controlled. Adiabatic mode uses the exact isentropic
   blowdown M/M0 = (1 + (gamma-1)/2 k0 t)^(-2/(gamma-1)) split with the linear terms.
3. Inter-zone flow (open valves between zones; open hatches in "orifice" mode):
   backward Euler on total zone mass, Newton with a sparse Jacobian, then a
   conservative, positivity-preserving species update that reuses the converged
   edge flows. Strang splitting local(dt/2) flow(dt) local(dt/2); step doubling
   error control on zone pressures; a Newton failure halves the step.
4. Steps never pass a requested time or an internal event (a supply running dry).

References
----------
docs/atmosphere.md (equations, stiffness, accuracy and limits of this solver)
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np

from .base import AtmosphereSolver, SolverError, SolverOptions
from .closed_form import exp_solution, mixture_R
from .flow import GAMMA, R_SPECIES, _orifice_core, choked_flow_factor, critical_pressure_ratio
from .ledger import Ledger
from .network import GasNetwork, components

__all__ = ["ZonalSolver"]

# Below this many zones dense LAPACK beats building a sparse matrix; above it the
# sparse LU keeps the cost linear in the number of zones (tree-like networks).
_DENSE_MAX = 48
# Air-like default composition for a zone that has never held gas; only its R
# matters, and only to scale Newton's Jacobian while p == 0.
_AIR_FRACTIONS = np.array([0.755, 0.2315, 0.0135]) / 1.0
# Up to this many zones the isothermal Newton iteration runs on plain floats: a station's few
# zones make numpy's per-call cost dominate. Both paths do the same IEEE operations in the same
# order (powers stay numpy's: its pow and the C library's differ in the last bit), so they agree
# bit for bit (tests/atmosphere/test_zonal_scalar.py).
_SCALAR_MAX = 8


class _NewtonFailure(Exception):
    pass


class _Inc:
    """Ledger increments of a trial step, committed only if the step is accepted."""

    __slots__ = ("by_leak", "leaked", "scrubbed", "sources", "supplied")

    def __init__(self, n_leaks):
        self.supplied = np.zeros(3)
        self.sources = np.zeros(3)
        self.scrubbed = np.zeros(3)
        self.leaked = np.zeros(3)
        self.by_leak = np.zeros((n_leaks, 3))

    def extrapolate(self, coarse):
        """Richardson: 2 x self (two half steps) - coarse (one full step), in place."""
        for name in self.__slots__:
            setattr(self, name, 2.0 * getattr(self, name) - getattr(coarse, name))
        return self

    def add(self, other):
        self.supplied += other.supplied
        self.sources += other.sources
        self.scrubbed += other.scrubbed
        self.leaked += other.leaked
        self.by_leak += other.by_leak
        return self


class ZonalSolver(AtmosphereSolver):
    """Zonal solver: perfectly mixed zones, exact local terms, implicit inter-zone flow.

    Parameters
    ----------
    network : GasNetwork
        Compartments and hatches; initial hatch and valve states are taken from it.
    masses : ndarray, shape (n, 3)
        Initial species masses per compartment [kg] (N2, O2, CO2). Compartments
        in one zone are mixed at once (their pressures equalize, mass conserved).
    options : SolverOptions, optional
        Defaults: isothermal, merge, rtol 1e-6, atol 1e-3 Pa.

    Examples
    --------
    >>> import numpy as np
    >>> from sim.atmosphere import GasNetwork, ZonalSolver, masses_from_partial_pressures
    >>> net = GasNetwork(("a",), np.array([100.0]), np.array([295.0]), (), [], [], [], [], [], [])
    >>> s = ZonalSolver(net, masses_from_partial_pressures([[79e3, 21e3, 0.0]], [100.0], [295.0]))
    >>> s.add_leak("hole", 0, 0.6e-4)
    >>> s.advance(8364.5)
    >>> round(float(s.pressure()[0] / 100e3), 4)  # ~exp(-1); R of this mix is not 287.05
    0.3671
    """

    def __init__(self, network: GasNetwork, masses: np.ndarray, options: SolverOptions | None = None):
        super().__init__(network, masses, options)
        o = self.options
        self._gamma = GAMMA
        self._K = choked_flow_factor(GAMMA)
        # the choked and linear branches' constants as _orifice_core computes them (its dg/dp_up)
        ones = np.ones(2)
        self._orifice_constants = tuple(_orifice_core(ones, np.array([0.0, 1.0]), GAMMA, o.laminar_ratio)[1].tolist())
        g = GAMMA
        self._orifice_exponents = np.array([2.0 / g, (g + 1.0) / g, 2.0 / g - 1.0, 1.0 / g])[:, None]
        self._adiabatic = o.thermo == "adiabatic"
        self._merge = o.hatch_model == "merge"
        self._hatch_open = network.hatch_open.copy()
        self._valve_open = network.valve_open.copy()
        self._leaks: dict[str, list] = {}
        self._sources: dict = {}
        self._scrubbers: dict = {}
        self._supplies: dict[str, dict] = {}
        self.events: list[tuple[float, str, str]] = []
        self._Tref = network.temperature.astype(float).copy()
        m = np.array(masses, dtype=float)
        self.ledger = Ledger(initial=m.sum(axis=0))
        self._h_flow = o.first_step
        self._h_local = math.inf
        self._frac_c = np.where(m.sum(1, keepdims=True) > 0, m / np.maximum(m.sum(1, keepdims=True), 1e-300), _AIR_FRACTIONS)
        self._set_zones(m)

    # ------------------------------------------------------------------ zones
    def _set_zones(self, m_comp):
        net = self.network
        n = net.n
        if self._merge and self._hatch_open.any():
            sel = self._hatch_open
            nz, labels = components(n, net.edge_u[sel], net.edge_v[sel])
        else:
            nz, labels = n, np.arange(n)
        self._nz = nz
        self._zone_of = labels
        vt = net.volume / self._Tref
        self._Sref = np.bincount(labels, vt, nz)
        self._Sref_list = self._Sref.tolist()
        self._inv_Sref = (1.0 / self._Sref)[:, None]  # theta / Sref when isothermal (theta = 1)
        self._w = vt / self._Sref[labels]
        self._Mzs = np.stack([np.bincount(labels, m_comp[:, s], nz) for s in range(3)], axis=1)
        self._Mref = self._Mzs.sum(1)
        # a zone that is empty keeps the composition its compartments last had
        fr = np.stack([np.bincount(labels, self._frac_c[:, s] * vt, nz) for s in range(3)], axis=1)
        fr /= fr.sum(1, keepdims=True)
        tot = self._Mzs.sum(1, keepdims=True)
        self._frac = np.where(tot > 0, self._Mzs / np.where(tot > 0, tot, 1.0), fr)
        self._dirty = True

    def _theta(self, M):
        if not self._adiabatic:
            return np.ones_like(M)
        ok = self._Mref > 0
        return np.where(ok, (np.maximum(M, 0.0) / np.where(ok, self._Mref, 1.0)) ** (self._gamma - 1.0), 1.0)

    def snapshot(self) -> ZonalSolver:
        """An independent copy of the solver's state, cheap enough to take at every look-ahead.

        Advancing or sampling the copy leaves this solver as it was; the copy computes exactly
        what this solver would (same arrays, same step sizes). Only what stepping changes is
        copied: the arrays it replaces (zone masses, compositions) are shared safely, the
        containers it changes in place (ledger, supplies, solver events) are copied. Controls
        (hatches, leaks, sources) must not be applied to both the copy and the original.
        """
        twin = copy.copy(self)
        twin.ledger = replace(self.ledger, leaked_by_leak=dict(self.ledger.leaked_by_leak))
        twin._supplies = {k: dict(v) for k, v in self._supplies.items()}
        twin.events = list(self.events)
        return twin

    # ------------------------------------------------------------ state access
    def masses(self) -> np.ndarray:
        """Species masses per compartment [kg], shape (n, 3)."""
        return self._Mzs[self._zone_of] * self._w[:, None]

    def temperature(self) -> np.ndarray:
        """Gas temperature per compartment [K], shape (n,)."""
        return self._Tref * self._theta(self._Mzs.sum(1))[self._zone_of]

    def _zone_pp(self, Mzs):
        if not self._adiabatic:
            return Mzs * R_SPECIES * self._inv_Sref
        theta = self._theta(Mzs.sum(-1))
        return Mzs * R_SPECIES * (theta / self._Sref)[..., None]

    def partial_pressures(self) -> np.ndarray:
        """Partial pressures of N2, O2, CO2 per compartment [Pa], shape (n, 3)."""
        return self._zone_pp(self._Mzs)[self._zone_of]

    def zones(self) -> list:
        """Perfectly mixed zones as a list of compartment index arrays."""
        order = np.argsort(self._zone_of, kind="stable")
        cuts = np.flatnonzero(np.diff(self._zone_of[order])) + 1
        return np.split(order, cuts)

    def supply_remaining(self, supply_id: str) -> np.ndarray:
        """Mass left in a supply's reserve per species [kg], shape (3,)."""
        return self._supply(supply_id)["remaining"].copy()

    def supply_exhausted_at(self, supply_id: str):
        """Time the supply ran dry [s], or None."""
        return self._supply(supply_id)["exhausted_at"]

    # --------------------------------------------------------------- controls
    def _edge(self, edge):
        e = int(edge)
        if not 0 <= e < self.network.n_edges:
            raise ValueError(f"edge {edge!r}: expected an index in 0..{self.network.n_edges - 1}")
        return e

    def _comp(self, c, what):
        i = int(c)
        if not 0 <= i < self.network.n:
            raise ValueError(f"{what}: compartment {c!r}, expected an index in 0..{self.network.n - 1}")
        return i

    def set_hatch_open(self, edge: int, is_open: bool) -> None:
        """Open or close hatch ``edge``; in merge mode zones merge or split now."""
        e = self._edge(edge)
        if bool(is_open) == self._hatch_open[e]:
            return
        m = self.masses()
        tc = self.temperature()
        self._hatch_open[e] = bool(is_open)
        if self._merge:
            self._frac_c = self._frac[self._zone_of]
            self._Tref = np.maximum(tc, 1.0)  # adiabatic: the new zones start new isentropes
            self._set_zones(m)
        self._dirty = True

    def set_temperatures(self, temperature) -> None:
        """Set the wall (= gas) temperature of every compartment from now on [K], shape (n,).

        The gas mass of every zone is kept, so a closed compartment's pressure follows its
        temperature (p proportional to T at fixed mass); within a zone the mass shares follow
        the new V/T. In adiabatic mode each compartment starts a new isentrope.
        """
        T = np.array(temperature, dtype=float)
        if T.shape != (self.network.n,) or not np.all(np.isfinite(T) & (T > 0)):
            raise ValueError(f"set_temperatures: {temperature!r}, expected {self.network.n} finite values > 0 [K]")
        m = self.masses()
        self._frac_c = self._frac[self._zone_of]
        self._Tref = T
        self._set_zones(m)

    def set_valve_open(self, edge: int, is_open: bool) -> None:
        """Open or close the equalization valve of hatch ``edge``."""
        e = self._edge(edge)
        self._valve_open[e] = bool(is_open)
        self._dirty = True

    def add_leak(self, leak_id: str, compartment: int, cda_m2: float) -> None:
        """Add a leak to vacuum of effective area ``cda_m2`` = C_d*A [m^2] in ``compartment``."""
        if leak_id in self._leaks:
            raise ValueError(f"add_leak: leak {leak_id!r} exists; use set_leak_cda")
        c = self._comp(compartment, f"add_leak({leak_id!r})")
        self._leaks[leak_id] = [c, self._check_nonneg(cda_m2, f"add_leak({leak_id!r}).cda_m2")]
        self.ledger.leaked_by_leak[leak_id] = np.zeros(3)
        self._dirty = True

    def set_leak_cda(self, leak_id: str, cda_m2: float) -> None:
        """Change a leak's effective area [m^2]; 0 seals it."""
        if leak_id not in self._leaks:
            raise ValueError(f"set_leak_cda: unknown leak {leak_id!r} (known: {sorted(self._leaks)})")
        self._leaks[leak_id][1] = self._check_nonneg(cda_m2, f"set_leak_cda({leak_id!r})")
        self._dirty = True

    @staticmethod
    def _check_nonneg(x, what):
        x = float(x)
        if not (math.isfinite(x) and x >= 0):
            raise ValueError(f"{what}: {x!r}, expected a finite value >= 0")
        return x

    def set_source(self, key, compartment_index: int, rates) -> None:
        """Set (replace) a mass source [kg/s] per species; negative = consumption.

        ``rates=None`` or all zeros removes the source.
        """
        if rates is None or not np.any(rates):
            self._sources.pop(key, None)
        else:
            r = np.asarray(rates, float)
            if r.shape != (3,) or not np.all(np.isfinite(r)):
                raise ValueError(f"set_source({key!r}): rates {rates!r}, expected 3 finite values [kg/s]")
            self._sources[key] = (self._comp(compartment_index, f"set_source({key!r})"), r)
        self._dirty = True

    def set_scrubber(self, key, compartment_index: int, flow_m3_s: float) -> None:
        """Set a perfect CO2 scrubber processing ``flow_m3_s`` [m^3/s] of cabin gas; 0 or None removes it."""
        if flow_m3_s is None or flow_m3_s == 0:
            self._scrubbers.pop(key, None)
        else:
            self._scrubbers[key] = (self._comp(compartment_index, f"set_scrubber({key!r})"),
                                    self._check_nonneg(flow_m3_s, f"set_scrubber({key!r})"))
        self._dirty = True

    def add_supply(self, supply_id: str, reserve_kg) -> None:
        """Add a gas supply with a finite reserve [kg] per species, shape (3,)."""
        if supply_id in self._supplies:
            raise ValueError(f"add_supply: supply {supply_id!r} exists")
        r = np.asarray(reserve_kg, float)
        if r.shape != (3,) or not np.all(np.isfinite(r) & (r >= 0)):
            raise ValueError(f"add_supply({supply_id!r}): reserve {reserve_kg!r}, expected 3 finite values >= 0 [kg]")
        self._supplies[supply_id] = {"remaining": r.copy(), "comp": None, "rate": 0.0, "exhausted_at": None,
                                     "t_empty": math.inf}
        self._dirty = True

    def _supply(self, supply_id):
        try:
            return self._supplies[supply_id]
        except KeyError:
            raise ValueError(f"unknown supply {supply_id!r} (known: {sorted(self._supplies)})") from None

    def set_supply_flow(self, supply_id: str, compartment_index, rate_kg_s: float) -> None:
        """Draw ``rate_kg_s`` [kg/s] from a supply into a compartment until the reserve is empty.

        The rate is split in the reserve's current mass proportions. 0 stops the flow.
        """
        s = self._supply(supply_id)
        rate = self._check_nonneg(rate_kg_s, f"set_supply_flow({supply_id!r})")
        s["comp"] = None if compartment_index is None else self._comp(compartment_index, f"set_supply_flow({supply_id!r})")
        s["rate"] = rate
        # the exhaustion instant is fixed now, so it is exact and not a sum of step lengths
        tot = s["remaining"].sum()
        s["t_empty"] = self.t + tot / rate if (rate > 0 and tot > 0 and s["comp"] is not None) else math.inf
        self._dirty = True

    # ----------------------------------------------------------- coefficients
    def _refresh(self):
        if not self._dirty:
            return
        net, z = self.network, self._zone_of
        nz = self._nz
        cda = np.where(self._valve_open, net.valve_cd * net.valve_area, 0.0)
        cda = cda + np.where(self._hatch_open, 0.0, net.seal_cda)  # a closed hatch's seal path
        if not self._merge:
            cda = cda + np.where(self._hatch_open, net.hatch_cd * net.hatch_area, 0.0)
        zu, zv = z[net.edge_u], z[net.edge_v]
        sel = (cda > 0) & (zu != zv)
        self._fe = (zu[sel], zv[sel], net.edge_u[sel], net.edge_v[sel], cda[sel])
        self._n_flow = int(sel.sum())
        self._scalar = not self._adiabatic and nz <= _SCALAR_MAX
        if self._n_flow and self._scalar:
            # per edge: zones, upstream temperatures when u or v is upstream (theta = 1), cda
            zu_, zv_, cu_, cv_, cda_ = self._fe
            Tu = np.maximum(self._Tref[cu_] * 1.0, 1.0).tolist()
            Tv = np.maximum(self._Tref[cv_] * 1.0, 1.0).tolist()
            self._fe_scalar = list(zip(zu_.tolist(), zv_.tolist(), Tu, Tv, cda_.tolist(), strict=True))
        # leaks: k_leak = a_z sqrt(R theta), a_z = sum cda K sqrt(gamma / Tref_i) / Sref_z
        ids = list(self._leaks)
        self._leak_ids = ids
        lc = np.array([self._leaks[i][0] for i in ids], int)
        la = np.array([self._leaks[i][1] for i in ids], float)
        la = la * self._K * np.sqrt(self._gamma / self._Tref[lc]) / self._Sref[z[lc]] if len(ids) else la
        self._leak_zone = z[lc] if len(ids) else lc
        self._leak_a = la
        self._a_z = np.bincount(self._leak_zone, la, nz) if len(ids) else np.zeros(nz)
        self._leak_share = np.where(self._a_z[self._leak_zone] > 0, la / np.where(self._a_z[self._leak_zone] > 0, self._a_z[self._leak_zone], 1.0), 0.0)
        ks = np.zeros((nz, 3))
        for c, flow in self._scrubbers.values():
            # rho_CO2 of compartment c = M_CO2,z / (Tref_c Sref_z)
            ks[z[c], 2] += flow / (self._Tref[c] * self._Sref[z[c]])
        self._k_scrub = ks
        src = np.zeros((nz, 3))
        for c, r in self._sources.values():
            src[z[c]] += r
        self._src = src
        self._has_linear = bool(ks.any() or src.any())
        self._dirty = False

    def _supply_rates(self):
        """Active supply inflow per zone and species [kg/s], and per-supply draws."""
        sup = np.zeros((self._nz, 3))
        active = []
        for sid, s in self._supplies.items():
            rem = s["remaining"]
            tot = rem.sum()
            if s["comp"] is None or s["rate"] <= 0 or tot <= 0:
                continue
            frac = rem / tot
            sup[self._zone_of[s["comp"]]] += s["rate"] * frac
            active.append((sid, s["rate"] * frac, s["t_empty"]))
        return sup, active

    # ------------------------------------------------------------ local part
    def _local_iso(self, Mzs, dt, sup, R=None):
        if R is None:
            R = mixture_R(Mzs, self._frac)
        kl = self._a_z * np.sqrt(R)
        k = kl[:, None] + self._k_scrub
        S = self._src + sup
        m, te = exp_solution(Mzs, k, S, dt)
        inc = _Inc(len(self._leak_ids))
        removed = Mzs + S * te - m
        share = np.where(k > 0, kl[:, None] / np.where(k > 0, k, 1.0), 0.0)
        leaked = removed * share
        inc.leaked = leaked.sum(0)
        inc.scrubbed = (removed - leaked).sum(0)
        inc.supplied = sup.sum(0) * dt
        inc.sources = (S * te).sum(0) - inc.supplied
        if len(self._leak_ids):
            inc.by_leak = leaked[..., self._leak_zone, :] * self._leak_share[:, None]
        return m, inc

    def _local_linear(self, Mzs, dt, sup):
        """Sources, supplies and scrubbing only (adiabatic splitting)."""
        k = self._k_scrub
        S = self._src + sup
        m, te = exp_solution(Mzs, k, S, dt)
        inc = _Inc(len(self._leak_ids))
        inc.scrubbed = (Mzs + S * te - m).sum(0)
        inc.supplied = sup.sum(0) * dt
        inc.sources = (S * te).sum(0) - inc.supplied
        return m, inc

    def _leak_adiabatic(self, Mzs, dt):
        M = Mzs.sum(1)
        R = mixture_R(Mzs, self._frac)
        k0 = self._a_z * np.sqrt(R * self._theta(M))
        g = self._gamma
        f = (1.0 + 0.5 * (g - 1.0) * k0 * dt) ** (-2.0 / (g - 1.0))
        m = Mzs * f[:, None]
        inc = _Inc(len(self._leak_ids))
        leaked = Mzs - m
        inc.leaked = leaked.sum(0)
        if len(self._leak_ids):
            inc.by_leak = leaked[..., self._leak_zone, :] * self._leak_share[:, None]
        return m, inc

    def _local(self, Mzs, dt, sup):
        if not self._adiabatic:
            return self._local_iso(Mzs, dt, sup)
        if not (self._has_linear or sup.any()):
            return self._leak_adiabatic(Mzs, dt)
        m, inc = self._local_linear(Mzs, 0.5 * dt, sup)
        m, inc2 = self._leak_adiabatic(m, dt)
        m, inc3 = self._local_linear(m, 0.5 * dt, sup)
        return m, inc.add(inc2).add(inc3)

    # ------------------------------------------------------------- flow part
    def _solve(self, rows, cols, vals, diag, rhs):
        nz = self._nz
        if nz <= _DENSE_MAX:
            A = np.zeros((nz, nz))
            np.add.at(A, (rows, cols), vals)
            A[np.diag_indices(nz)] += diag
            return np.linalg.solve(A, rhs)
        import scipy.sparse as sp  # only for many zones: see network.components
        from scipy.sparse.linalg import splu

        idx = np.arange(nz)
        A = sp.csc_matrix((np.concatenate([vals, diag]), (np.concatenate([rows, idx]), np.concatenate([cols, idx]))), shape=(nz, nz))
        return splu(A).solve(rhs)

    def _edge_flows(self, M, R, theta):
        zu, zv, cu, cv, cda = self._fe
        g = self._gamma
        p = M * R * theta / self._Sref
        pu, pv = p[zu], p[zv]
        fwd = pu >= pv
        hi, lo = np.where(fwd, pu, pv), np.where(fwd, pv, pu)
        gg, dhi, dlo = _orifice_core(hi, lo, g, self.options.laminar_ratio)
        Tup = np.maximum(np.where(fwd, self._Tref[cu] * theta[zu], self._Tref[cv] * theta[zv]), 1.0)
        Rup = np.where(fwd, R[zu], R[zv])
        c = cda * np.sqrt(2.0 * g / ((g - 1.0) * Rup * Tup))
        F = np.where(fwd, c * gg, -c * gg)
        dFu = np.where(fwd, c * dhi, -c * dlo)
        dFv = np.where(fwd, c * dlo, -c * dhi)
        return p, F, dFu, dFv

    _stiffness = 0.0  # h |dF/dM| of the last implicit step (set by _flow_be)

    def _flow_be(self, Mzs, dt):
        """Implicit step for inter-zone flow with the leak and scrubber sinks.

        Exponentially fitted backward Euler: for dM/dt = -k M + f(M) with the sink
        rate k frozen over the step, ``M1 = E M0 + dt phi f(M1)`` with
        ``E = exp(-k dt)`` and ``phi = (1 - E)/(k dt)``. It is exact for a pure leak
        (like the local exponential) and gives the exact quasi-steady state
        ``f = k M`` for large steps, which matters for a leaking small zone fed
        through an orifice (a stiff balance that operator splitting would resolve
        only with steps of the zone's own, sub-millisecond, time scale).
        Returns the new species masses and the sink ledger increments.
        """
        M0 = Mzs.sum(1)
        R = mixture_R(Mzs, self._frac)
        xco2 = np.where(M0 > 0, Mzs[:, 2] / np.where(M0 > 0, M0, 1.0), 0.0)
        kl = self._a_z * np.sqrt(R * self._theta(M0))
        k = kl[:, None] + self._k_scrub  # per species
        kdt = k * dt
        E = np.exp(-kdt)
        phi = np.where(kdt > 0, -np.expm1(-kdt) / np.where(kdt > 0, kdt, 1.0), 1.0)
        kt = (kl + self._k_scrub[:, 2] * xco2) * dt
        Et = np.exp(-kt)
        phit = np.where(kt > 0, -np.expm1(-kt) / np.where(kt > 0, kt, 1.0), 1.0)
        M = M0 * Et
        if self._scalar:
            M = self._newton_scalar(M.tolist(), (M0 * Et).tolist(), R.tolist(), (dt * phit).tolist(), phit.tolist(), dt)
        else:
            M = self._newton(M, M0, Et, phit, R, dt)
        if self._scalar:
            y, removed = self._species_scalar(Mzs, M.tolist(), R.tolist(), E, phi, dt)
        else:
            y, removed = self._species(Mzs, M, R, E, phi, dt)
        if np.any(removed < -1e-9 * (Mzs + y + 1e-300)):
            raise _NewtonFailure
        inc = _Inc(len(self._leak_ids))
        share = np.where(k > 0, kl[:, None] / np.where(k > 0, k, 1.0), 0.0)
        leaked = removed * share
        inc.leaked = leaked.sum(0)
        inc.scrubbed = (removed - leaked).sum(0)
        if len(self._leak_ids):
            inc.by_leak = leaked[self._leak_zone] * self._leak_share[:, None]
        return y, inc

    def _species(self, Mzs, M, R, E, phi, dt):
        """Species masses after the implicit step with total masses *M* [kg]; and what each zone lost
        beyond its transfers (to the sinks), both (zones, 3)."""
        nz = self._nz
        zu, zv = self._fe[0], self._fe[1]
        theta = self._theta(M)
        _, F, _, _ = self._edge_flows(M, R, theta)
        aF = np.abs(F)
        up = np.where(F >= 0, zu, zv)
        down = np.where(F >= 0, zv, zu)
        # Species: unknown new masses y; an edge carries |F| y_up / M_up. The matrix is
        # diag(phi) times a column-diagonally-dominant M-matrix, so y >= 0.
        Msafe = np.where(M > 0, M, 1.0)
        outflow = np.where(M > 0, np.bincount(up, aF, nz) / Msafe, 0.0)
        w = np.where(M[up] > 0, aF / Msafe[up], 0.0)
        y = np.empty_like(Mzs)
        if self._k_scrub.any():
            for s_ in range(3):
                y[:, s_] = self._solve(down, up, -dt * phi[down, s_] * w, 1.0 + dt * phi[:, s_] * outflow, E[:, s_] * Mzs[:, s_])
        else:
            y[:] = self._solve(down, up, -dt * phi[down, 0] * w, 1.0 + dt * phi[:, 0] * outflow, E[:, :1] * Mzs)
        y = np.maximum(y, 0.0)
        # Conservative bookkeeping: edge e moves T_e = dt w_e y_up out of one zone and
        # into the other; what the zone lost beyond its transfers went to the sinks
        # (>= 0 analytically: m0 (1 - E/phi) + y (1 - phi)/phi).
        T = (dt * w)[:, None] * y[up]
        removed = Mzs - y
        for s_ in range(3):
            removed[:, s_] += np.bincount(down, T[:, s_], nz) - np.bincount(up, T[:, s_], nz)
        return y, removed

    def _species_scalar(self, Mzs, M, R, E, phi, dt):
        """:meth:`_species` with the matrices built on plain floats (same operations, same order);
        the three species' systems are solved in one stacked LAPACK call."""
        nz = self._nz
        _, F, _, _ = self._edge_flows_scalar(M, R)
        edges = [(zu, zv) if f >= 0 else (zv, zu) for (zu, zv, *_), f in zip(self._fe_scalar, F, strict=True)]
        aF = [abs(f) for f in F]
        out_b = [0.0] * nz
        for (up, _), a in zip(edges, aF, strict=True):
            out_b[up] += a
        outflow = [out_b[z] / M[z] if M[z] > 0 else 0.0 for z in range(nz)]
        w = [a / M[up] if M[up] > 0 else 0.0 for (up, _), a in zip(edges, aF, strict=True)]
        ph = phi.tolist()
        species = range(3) if self._k_scrub.any() else range(1)
        As = []
        for s_ in species:
            A = [[0.0] * nz for _ in range(nz)]
            for (up, down), w_e in zip(edges, w, strict=True):
                A[down][up] += -dt * ph[down][s_] * w_e
            for z in range(nz):
                A[z][z] += 1.0 + dt * ph[z][s_] * outflow[z]
            As.append(A)
        if len(As) == 3:
            y = np.linalg.solve(np.array(As), (E * Mzs).T[:, :, None])[:, :, 0].T
        else:
            y = np.linalg.solve(np.array(As[0]), E[:, :1] * Mzs)
        y = np.maximum(y, 0.0)
        yl = y.tolist()
        removed = (Mzs - y).tolist()
        for s_ in range(3):
            into, out = [0.0] * nz, [0.0] * nz
            for (up, down), w_e in zip(edges, w, strict=True):
                t = dt * w_e * yl[up][s_]
                into[down] += t
                out[up] += t
            for z in range(nz):
                removed[z][s_] += into[z] - out[z]
        return y, np.array(removed)

    def _newton(self, M, M0, Et, phit, R, dt):
        """Newton's iteration for the total zone masses of :meth:`_flow_be` [kg], shape (zones,)."""
        o = self.options
        nz = self._nz
        zu, zv = self._fe[0], self._fe[1]
        gfac = self._gamma if self._adiabatic else 1.0
        for _ in range(o.newton_max_iter):
            theta = self._theta(M)
            dpdM = gfac * R * theta / self._Sref
            p, F, dFu, dFv = self._edge_flows(M, R, theta)
            net = np.bincount(zv, F, nz) - np.bincount(zu, F, nz)
            res = M - Et * M0 - dt * phit * net
            Ju, Jv = dt * dFu * dpdM[zu], dt * dFv * dpdM[zv]
            rows = np.concatenate([zv, zv, zu, zu])
            cols = np.concatenate([zu, zv, zu, zv])
            vals = np.concatenate([-Ju * phit[zv], -Jv * phit[zv], Ju * phit[zu], Jv * phit[zu]])
            self._stiffness = float(np.max(np.abs(Ju) + np.abs(Jv), initial=0.0))
            delta = self._solve(rows, cols, vals, np.ones(nz), res)
            if not np.all(np.isfinite(delta)):
                raise _NewtonFailure
            Mn = np.maximum(M - delta, 0.0)
            step = np.abs(Mn - M) * dpdM
            M = Mn
            if np.all(step <= 1e-3 * (o.atol_pa + o.rtol * p)):
                return M
        raise _NewtonFailure

    def _edge_flows_scalar(self, M, R):
        """:meth:`_edge_flows` on plain floats, isothermal (theta = 1): p, F, dF/dM_u, dF/dM_v per edge."""
        g, lr = self._gamma, self.options.laminar_ratio
        rc = critical_pressure_ratio(g)
        sphi_c, c_lam = self._orifice_constants
        Sref = self._Sref_list
        p = [M[z] * R[z] * 1.0 / Sref[z] for z in range(len(M))]
        F, dFu, dFv = [], [], []
        sub_at, sub_r = [], []
        parts = []
        for zu, zv, Tu, Tv, cda in self._fe_scalar:
            pu, pv = p[zu], p[zv]
            fwd = pu >= pv
            hi, lo = (pu, pv) if fwd else (pv, pu)
            r = lo / hi if hi > 0.0 else 1.0
            r = 0.0 if r < 0.0 else (1.0 if r > 1.0 else r)  # np.clip
            parts.append((fwd, hi, lo, r, Tu if fwd else Tv, R[zu] if fwd else R[zv], cda))
            if not (r <= rc or r > lr):
                sub_at.append(len(parts) - 1)
                sub_r.append(r)
        powers = None
        if sub_r:  # the subsonic branch's four powers of r, all in one numpy call
            powers = np.power(np.array(sub_r)[None, :], self._orifice_exponents).T.tolist()
        two_g, gm1 = 2.0 * g, g - 1.0
        j = 0
        for i, (fwd, hi, lo, r, Tup, Rup, cda) in enumerate(parts):
            if r <= rc:
                gg, dhi, dlo = hi * sphi_c, sphi_c, 0.0
            elif r > lr:
                gg, dhi, dlo = c_lam * (hi - lo), c_lam, -c_lam
            else:
                assert sub_at[j] == i
                a, b, c_, d = powers[j]
                j += 1
                phi = a - b
                sphi = math.sqrt(phi)
                dphi = (2.0 / g) * c_ - ((g + 1.0) / g) * d
                gg, dhi, dlo = hi * sphi, sphi - r * dphi / (2.0 * sphi), dphi / (2.0 * sphi)
            c = cda * math.sqrt(two_g / (gm1 * Rup * Tup))
            if fwd:
                F.append(c * gg)
                dFu.append(c * dhi)
                dFv.append(c * dlo)
            else:
                F.append(-c * gg)
                dFu.append(-c * dlo)
                dFv.append(-c * dhi)
        return p, F, dFu, dFv

    def _newton_scalar(self, M, EtM0, R, dtphit, phit, dt):
        """The Newton iteration of :meth:`_flow_be` on plain floats (isothermal, few zones).

        Same operations in the same order as the array code; the linear solve stays LAPACK's.
        """
        o = self.options
        nz = len(M)
        Sref = self._Sref_list
        dpdM = [1.0 * R[z] * 1.0 / Sref[z] for z in range(nz)]
        edges = self._fe_scalar
        for _ in range(o.newton_max_iter):
            p, F, dFu, dFv = self._edge_flows_scalar(M, R)
            inflow, outflow = [0.0] * nz, [0.0] * nz
            for (zu, zv, *_), f in zip(edges, F, strict=True):
                inflow[zv] += f
                outflow[zu] += f
            res = [M[z] - EtM0[z] - dtphit[z] * (inflow[z] - outflow[z]) for z in range(nz)]
            A = [[0.0] * nz for _ in range(nz)]
            Js = [(dt * fu * dpdM[zu], dt * fv * dpdM[zv]) for (zu, zv, *_), fu, fv in zip(edges, dFu, dFv, strict=True)]
            # the order np.add.at accumulates the array code's (rows, cols, vals) in
            for (zu, zv, *_), (Ju, _) in zip(edges, Js, strict=True):
                A[zv][zu] += -Ju * phit[zv]
            for (_, zv, *_), (_, Jv) in zip(edges, Js, strict=True):
                A[zv][zv] += -Jv * phit[zv]
            for (zu, _, *_), (Ju, _) in zip(edges, Js, strict=True):
                A[zu][zu] += Ju * phit[zu]
            for (zu, zv, *_), (_, Jv) in zip(edges, Js, strict=True):
                A[zu][zv] += Jv * phit[zu]
            self._stiffness = max([0.0] + [abs(Ju) + abs(Jv) for Ju, Jv in Js])
            for z in range(nz):
                A[z][z] += 1.0
            delta = np.linalg.solve(np.array(A), np.array(res))
            if not np.all(np.isfinite(delta)):
                raise _NewtonFailure
            done = True
            Mn = []
            for z, d in enumerate(delta.tolist()):
                x = M[z] - d
                x = x if not x <= 0.0 else 0.0  # np.maximum(x, 0.0)
                if not abs(x - M[z]) * dpdM[z] <= 1e-3 * (o.atol_pa + o.rtol * p[z]):
                    done = False
                Mn.append(x)
            M = Mn
            if done:
                return np.array(M)
        raise _NewtonFailure

    def _sources_only(self, Mzs, dt, sup):
        S = self._src + sup
        # exp_solution with k = 0: exp(-0) = 1 and phi = dt exactly, so m0 + S dt, clamped at 0
        m = Mzs + S * dt
        sink = S < 0
        if sink.any():
            t0 = Mzs / np.where(sink, -S, 1.0)
            clamp = sink & (t0 <= dt)
            m = np.where(clamp, 0.0, np.maximum(m, 0.0))
            te = np.where(clamp, t0, dt)
        else:
            m, te = np.maximum(m, 0.0), dt
        inc = _Inc(len(self._leak_ids))
        inc.supplied = sup.sum(0) * dt
        inc.sources = (S * te).sum(0) - inc.supplied
        inc.scrubbed = (Mzs + S * te - m).sum(0)  # round-off only (k = 0)
        return m, inc

    def _strang(self, Mzs, dt, sup):
        m, inc = self._sources_only(Mzs, 0.5 * dt, sup)
        m, inc2 = self._flow_be(m, dt)
        m, inc3 = self._sources_only(m, 0.5 * dt, sup)
        return m, inc.add(inc2).add(inc3)

    def _zone_p(self, Mzs):
        return self._zone_pp(Mzs).sum(-1)

    # ------------------------------------------------------------- stepping
    def _step_doubling(self, hcap, sup):
        o = self.options
        h = min(hcap, self._h_flow)
        while True:
            try:
                full, inc_full = self._strang(self._Mzs, h, sup)
                stiffness = self._stiffness  # h x |dF/dM| of the full step
                half, inc = self._strang(self._Mzs, 0.5 * h, sup)
                half, inc2 = self._strang(half, 0.5 * h, sup)
            except _NewtonFailure:
                if h <= o.min_step:
                    raise SolverError(f"t={self.t:.9g} s: Newton did not converge at the minimum step "
                                      f"{o.min_step:g} s (zones {self._nz}, inter-zone edges {self._n_flow})") from None
                h = max(0.5 * h, min(o.min_step, h))
                continue
            ph = self._zone_p(half)
            err = float(np.max(np.abs(self._zone_p(full) - ph) / (o.atol_pa + o.rtol * ph)))
            if err <= 1.0:
                fac = min(5.0, 0.9 / math.sqrt(err)) if err > 0 else 5.0
                new_h = max(h * fac, o.min_step)
                self._h_flow = new_h if h < hcap else max(self._h_flow, new_h)
                inc.add(inc2)
                # Local extrapolation: 2 x (two half steps) - (one step) cancels backward Euler's
                # leading error term, so the accepted state is second-order accurate (the estimate
                # above bounds it). A linear combination of conservative states is conservative.
                # Only where the step resolves the flow's time scale (h |dF/dM| < 1/2): on stiff
                # modes the extrapolation can overshoot, while backward Euler alone is monotone and
                # already at equilibrium. Where it would go negative the half-step state is kept.
                if stiffness < 0.5:
                    richer = 2.0 * half - full
                    if np.all(richer >= 0.0):
                        return h, richer, inc.extrapolate(inc_full)
                return h, half, inc
            if h <= o.min_step:
                # Backward Euler is L-stable: a transient faster than min_step is damped,
                # not amplified, so accept it rather than stall.
                self._h_flow = 2.0 * o.min_step
                return h, half, inc.add(inc2)
            h = max(h * max(0.2, 0.9 / math.sqrt(err)), o.min_step)

    def _local_step(self, hcap, sup):
        o = self.options
        if self._adiabatic:
            if not (self._has_linear or sup.any()):
                m, inc = self._leak_adiabatic(self._Mzs, hcap)  # exact for any step
                return hcap, m, inc
            return self._step_doubling_local(hcap, sup)
        h = min(hcap, self._h_local)
        R0 = mixture_R(self._Mzs, self._frac)
        while True:
            m, inc = self._local_iso(self._Mzs, h, sup, R0)
            err = self._rdrift_error(m, h, R0)
            if err <= 1.0:
                fac = 0.9 / math.sqrt(err) if err > 0 else math.inf
                self._h_local = max(h * fac, o.min_step) if h < hcap else max(self._h_local, h * fac)
                return h, m, inc
            h = max(h * max(0.1, 0.9 / math.sqrt(err)), o.min_step)

    def _step_doubling_local(self, hcap, sup):
        o = self.options
        h = min(hcap, self._h_local)
        while True:
            full, _ = self._local(self._Mzs, h, sup)
            half, inc = self._local(self._Mzs, 0.5 * h, sup)
            half, inc2 = self._local(half, 0.5 * h, sup)
            ph = self._zone_p(half)
            err = float(np.max(np.abs(self._zone_p(full) - ph) / (o.atol_pa + o.rtol * ph)))
            if err <= 1.0 or h <= o.min_step:
                fac = min(5.0, 0.9 / math.sqrt(err)) if err > 0 else 5.0
                self._h_local = h * fac if h < hcap else max(self._h_local, h * fac)
                return h, half, inc.add(inc2)
            h = max(h * max(0.2, 0.9 / math.sqrt(err)), o.min_step)

    def _rdrift_error(self, m, h, R0):
        """Scaled error of freezing R_mix (*R0*, that of the current state) over a local step
        (leak rate ~ sqrt(R))."""
        if not self._a_z.any():
            return 0.0
        o = self.options
        R1 = mixture_R(m, self._frac)
        p1 = self._zone_p(m)
        kl = self._a_z * np.sqrt(R0)
        est = 0.25 * np.abs(R1 / R0 - 1.0) * np.minimum(kl * h, 1.0) * p1 / (o.atol_pa + o.rtol * p1)
        return float(est.max())

    def _commit(self, m, inc, h, active):
        self._Mzs = m
        L = self.ledger
        L.supplied = L.supplied + inc.supplied
        L.sources = L.sources + inc.sources
        L.scrubbed = L.scrubbed + inc.scrubbed
        L.leaked = L.leaked + inc.leaked
        for i, lid in enumerate(self._leak_ids):
            L.leaked_by_leak[lid] = L.leaked_by_leak[lid] + inc.by_leak[i]
        for sid, draw, _ in active:
            s = self._supplies[sid]
            s["remaining"] = np.maximum(s["remaining"] - draw * h, 0.0)
        tot = m.sum(1, keepdims=True)
        self._frac = np.where(tot > 0, m / np.where(tot > 0, tot, 1.0), self._frac)

    def _advance_impl(self, t_end: float) -> None:
        self._refresh()
        while self.t < t_end:
            self._one_step(t_end)

    def _one_step(self, t_end: float) -> None:
        """Take one accepted step towards *t_end* (never past it, nor past a supply running out)."""
        o = self.options
        sup, active = self._supply_rates()
        t_ev, ev_id = math.inf, None
        for sid, _, t_empty in active:
            if t_empty < t_ev:
                t_ev, ev_id = t_empty, sid
        stop = min(t_end, t_ev)
        span = stop - self.t
        hcap = min(span, o.max_step)
        if self._n_flow:
            h, m, inc = self._step_doubling(hcap, sup)
        else:
            h, m, inc = self._local_step(hcap, sup)
        self._commit(m, inc, h, active)
        if h >= span:
            self.t = stop
            if stop == t_ev:
                s = self._supplies[ev_id]
                s["remaining"] = np.zeros(3)
                s["exhausted_at"] = t_ev
                s["t_empty"] = math.inf
                self.events.append((t_ev, "supply_exhausted", ev_id))
        else:
            self.t += h

    def _sample_dense(self, times: np.ndarray) -> np.ndarray:
        """Step freely to the last time, interpolating the samples in between (zone partial pressures).

        The steps are chosen by the error control alone, not by the sampling interval; a sample
        inside a step is the linear interpolation of the zone masses at its ends, which is as
        accurate as the (first-order) step itself, conserves mass and keeps it non-negative.
        """
        out = np.empty((len(times), self._nz, 3))
        k = 0
        while k < len(times) and times[k] <= self.t:
            out[k] = self._zone_pp(self._Mzs)
            k += 1
        while k < len(times):
            t0, m0 = self.t, self._Mzs
            self._one_step(float(times[-1]))
            t1, m1 = self.t, self._Mzs
            j = k
            while j < len(times) and times[j] <= t1:
                j += 1
            if j > k:
                w = ((times[k:j] - t0) / (t1 - t0))[:, None, None]
                out[k:j] = self._zone_pp((1.0 - w) * m0 + w * m1)
                k = j
        return out

    def _sample_stepwise(self, times: np.ndarray) -> np.ndarray:
        """Exact local steps, one per sample (zone partial pressures)."""
        out = np.empty((len(times), self._nz, 3))
        for k, tk in enumerate(times):
            self.advance(tk)
            out[k] = self._zone_pp(self._Mzs)
        return out

    def _closed_form(self, Mzs, dts, sup, R):
        """Zone masses at every time ``self.t + dts`` [s], shape (k, 1), of the isothermal local part.

        Exactly :func:`exp_solution` with the rates of :meth:`_local_iso`, evaluated only for the
        (zone, species) pairs that have a rate; the others keep their mass (``m0 + 0.0`` is what
        the exponential gives them, bit for bit).
        """
        kl = self._a_z * np.sqrt(R)
        k = kl[:, None] + self._k_scrub
        S = self._src + sup
        out = np.empty((len(dts), self._nz, 3))
        out[:] = Mzs + 0.0
        # a pure sink (S = +0) is m0 exp(-k dt) + 0.0: nothing to clamp, no source term to integrate
        decay = (k > 0) & (S == 0) & ~np.signbit(S)
        if decay.any():
            out[:, decay] = Mzs[decay] * np.exp(-(k[decay] * dts)) + 0.0
        act = ((k > 0) | (S != 0)) & ~decay
        if act.any():
            out[:, act] = exp_solution(Mzs[act], k[act], S[act], dts)[0]
        return out

    def _sample_zones(self, times: np.ndarray) -> np.ndarray:
        """Advance through *times* [s]; zone partial pressures [Pa], shape (k, zones, 3)."""
        self._refresh()
        sup, active = self._supply_rates()
        t_ev = min((te for _, _, te in active), default=math.inf)
        if self._n_flow:
            return self._sample_dense(times)
        if self._adiabatic or t_ev <= times[-1] or times[-1] - self.t > self.options.max_step:
            return self._sample_stepwise(times)
        # Closed form at all times at once: no inter-zone flow, no event, isothermal.
        R0 = mixture_R(self._Mzs, self._frac)
        h = float(times[-1] - self.t)
        m, inc = self._local_iso(self._Mzs, h, sup, R0)
        if h > 0 and self._rdrift_error(m, h, R0) > 1.0:
            return self._sample_stepwise(times)
        m_all = self._closed_form(self._Mzs, (times - self.t)[:, None], sup, R0)
        self._commit(m, inc, h, active)
        self.t = float(times[-1])
        return self._zone_pp(m_all)

    def _sample_pressures(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # compartments of one zone share its state: sum the species once per zone
        pz = self._sample_zones(times)
        return pz.sum(axis=-1)[:, self._zone_of], pz[:, self._zone_of]

    def _sample_impl(self, times: np.ndarray) -> np.ndarray:
        return self._sample_zones(times)[:, self._zone_of]

    def _check_state(self):
        # every zone holds at least one compartment: checking zones checks them all
        pz = self._zone_pp(self._Mzs)
        if not np.all(np.isfinite(pz)) or np.any(pz < 0):
            raise SolverError(f"t={self.t:.9g} s: non-finite or negative partial pressure in the atmosphere state")
