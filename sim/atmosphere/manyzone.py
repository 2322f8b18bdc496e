"""The many-zone solver: the zonal model with a third-order Rosenbrock-W step for inter-zone flow.

The zones, the controls, the local exponentials and the ledger are the :class:`ZonalSolver`'s.
Only the step of a network with inter-zone flow (open valves, seals, hatches in orifice mode) is
replaced, in isothermal mode, by ROS34PW2 (Rang & Angermann 2005: 4 stages, order 3, embedded
order 2, L-stable, stiffly accurate, order kept with an approximate Jacobian) and samples inside a
step by cubic Hermite interpolation, which is of the same order. Why this method and its limits:
docs/atmosphere.md, "Many zones".

Equations, per zone i and species s (masses m [kg], isothermal):
``dm_is/dt = sum_e +-F_e(p_u, p_v) y_s,up(e) - (k_leak,i + k_scrub,is) m_is + S_is`` with
``p_i = sum_s R_s m_is / sum(V/T)_i``. The stage matrix ``W = 1/(h gamma) - J`` uses the part
of the Jacobian that makes the system stiff, the orifice flows' pressure slopes and the sinks:
``J = -diag(k) + U V`` with ``V`` the map from masses to zone pressures (nz x 3nz) and ``U``
(3nz x nz) the flows' slopes times the upstream compositions. By the Sherman-Morrison-Woodbury
identity a stage solve needs one sparse LU of an nz x nz matrix with the network's sparsity (one
row per zone, four entries per flow edge), not of the 3nz x 3nz system: the cost is linear in the
number of zones on tree-like networks. The neglected terms (the slope of the mixture gas constant
and of the upstream composition) change neither the order (a W-method's order conditions hold
for any matrix) nor conservation: every column sum of ``U V`` is zero per species, so each species
is conserved to round-off, and the leak and scrubber sinks are integrated in the same stages as
ledger accumulators, so the ledger balances exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .base import SolverOptions
from .flow import GAMMA, R_SPECIES, _orifice_core
from .network import GasNetwork
from .zonal import _DENSE_MAX, ZonalSolver, _Inc

__all__ = ["DEFAULT_OPTIONS", "ROS34PW2", "ManyZoneSolver"]

#: Tolerances per step at which bench case c's largest error matches solve_ivp BDF's at rtol 1e-6
#: (docs/atmosphere.md, "Many zones").
DEFAULT_OPTIONS = SolverOptions(rtol=3e-6, atol_pa=0.1)


def _transformed(gamma_diag, alpha, gamma, b, b_hat):
    """Tableau in the variables ``u_i = sum_j Gamma_ij k_j`` (Hairer & Wanner IV.7, (7.25)).

    Stages ``(1/(h g) - J) u_i = f(y + sum_j a_ij u_j) + sum_j c_ij u_j / h`` and
    ``y1 = y + sum_i m_i u_i``: no product with J is needed.
    """
    G = np.array(gamma, float) + gamma_diag * np.eye(len(b))
    Ginv = np.linalg.inv(G)
    a = np.array(alpha, float) @ Ginv
    c = np.diag(1.0 / np.diag(G)) - Ginv
    return a, c, np.array(b, float) @ Ginv, np.array(b_hat, float) @ Ginv


#: ROS34PW2 (Rang & Angermann, BIT 45 (2005) 761-787): gamma, alpha (a_ij), Gamma off-diagonal
#: (gamma_ij), b, embedded b_hat. Stiffly accurate: b = last row of alpha + Gamma.
_G = 4.3586652150845900e-01
ROS34PW2 = dict(
    gamma_diag=_G,
    alpha=[[0, 0, 0, 0],
           [8.7173304301691801e-01, 0, 0, 0],
           [8.4457060015369423e-01, -1.1299064236484185e-01, 0, 0],
           [0, 0, 1, 0]],
    gamma=[[0, 0, 0, 0],
           [-8.7173304301691801e-01, 0, 0, 0],
           [-9.0338057013044082e-01, 5.4180672388095326e-02, 0, 0],
           [2.4212380706095346e-01, -1.2232505839045147e+00, 5.4526025533510214e-01, 0]],
    b=[2.4212380706095346e-01, -1.2232505839045147e+00, 1.5452602553351020e+00, _G],
    b_hat=[3.7810903145819369e-01, -9.6042292212423178e-02, 0.5, 2.1793326075422950e-01],
)
_A, _C, _M, _MHAT = _transformed(**ROS34PW2)
_S = len(_M)
#: Order of the embedded solution: the error estimate is O(h^(order+1)).
_EMBEDDED_ORDER = 2
#: Steps a stage matrix (its Jacobian and LU) is kept at an unchanged step size.
_JAC_AGE = 30
#: An accepted step whose error estimate would let the step grow by less than this keeps its
#: size, and with it the stage matrix's LU (as scipy's Radau does).
_KEEP_H = 1.5
#: Largest growth of the step from one accepted step to the next.
_GROW_MAX = 5.0


def _hermite(t0, t1, m0, m1, f0, f1, times):
    """Cubic Hermite interpolation of the masses at ``times`` in [t0, t1] (third order) [kg]."""
    h = t1 - t0
    s = ((np.asarray(times) - t0) / h)[:, None, None]
    h00 = (1 + 2 * s) * (1 - s) ** 2
    h10 = s * (1 - s) ** 2
    h01 = s * s * (3 - 2 * s)
    h11 = s * s * (s - 1)
    return np.maximum(h00 * m0 + h10 * h * f0 + h01 * m1 + h11 * h * f1, 0.0)


class _Rates:
    """Right-hand side at one state, with what the stage matrix needs (slopes, compositions)."""

    __slots__ = ("dFu", "dFv", "dm", "kl", "leak", "scrub", "y_up")


class ManyZoneSolver(ZonalSolver):
    """Zonal solver whose inter-zone flow is integrated by a third-order Rosenbrock-W method.

    For networks of many zones joined by valves (and seals, or hatches in orifice mode): at its
    default tolerances it reaches ``solve_ivp`` BDF's accuracy at rtol 1e-6 at a fraction of its
    cost (``python bench/bench_atmosphere.py``). Adiabatic mode, and a
    step that the Rosenbrock step cannot take at ``min_step`` (a zone emptying to vacuum through
    its valves), use the :class:`ZonalSolver`'s first-order step.

    Parameters
    ----------
    network : GasNetwork
        Compartments and hatches.
    masses : ndarray, shape (n, 3)
        Initial species masses per compartment [kg].
    options : SolverOptions, optional
        ``rtol`` [-] and ``atol_pa`` [Pa] bound the embedded error estimate of zone partial
        pressures per step; default :data:`DEFAULT_OPTIONS` (rtol 3e-6, atol 0.1 Pa).

    Examples
    --------
    >>> import numpy as np
    >>> from sim.atmosphere import GasNetwork, ManyZoneSolver, masses_from_partial_pressures
    >>> net = GasNetwork(("a", "b"), np.array([10.0, 30.0]), np.full(2, 295.0), ("h",), [0], [1],
    ...                  [0.5], [0.6], [1e-4], [0.6], valve_open=[True])
    >>> m = masses_from_partial_pressures([[79e3, 21e3, 0.0], [75e3, 20e3, 0.0]], net.volume, net.temperature)
    >>> s = ManyZoneSolver(net, m)
    >>> s.advance(3600.0)
    >>> [round(float(p)) for p in s.pressure()]  # both at the volume-weighted mean pressure
    [96250, 96250]
    """

    def __init__(self, network: GasNetwork, masses: np.ndarray, options: SolverOptions | None = None):
        super().__init__(network, masses, options if options is not None else DEFAULT_OPTIONS)
        self._rates_cache = None  # (state array, supply rates, coefficients generation, _Rates)
        self._stage = None  # ((generation, nz, h), uses, solve, leak rates) of the stage matrix
        self._generation = 0

    def _refresh(self):
        if not self._dirty:
            return
        self._generation += 1  # coefficients change: cached rates and stage matrices are stale
        super()._refresh()
        zu, zv = self._fe[0], self._fe[1]
        nz, e = self._nz, len(zu)
        # edge -> zone: +1 into the downstream side v, -1 out of u (F is signed u -> v)
        vals, rows, cols = np.r_[np.ones(e), -np.ones(e)], np.r_[zv, zu], np.r_[np.arange(e), np.arange(e)]
        if nz <= _DENSE_MAX:
            incidence = np.zeros((nz, e))
            np.add.at(incidence, (rows, cols), vals)
        else:
            import scipy.sparse as sp  # on first use only: see _factor

            incidence = sp.csr_matrix((vals, (rows, cols)), shape=(nz, e))
        self._spread = incidence.__matmul__
        self._cda_coef = self._fe[4] * math.sqrt(2.0 * GAMMA / (GAMMA - 1.0))
        self._T_u, self._T_v = self._Tref[self._fe[2]], self._Tref[self._fe[3]]
        self._has_scrub = bool(self._k_scrub.any())
        self._has_source = bool(self._src.any())

    # ---------------------------------------------------------------- rates
    def _rates(self, m, sup) -> _Rates:
        """dm/dt [kg/s] (nz, 3) at zone masses ``m``, and the flows' pressure slopes [kg/(s Pa)]."""
        zu, zv = self._fe[0], self._fe[1]
        # an intermediate stage may overshoot below 0 on a fast sink; its rates are those of the
        # nearest physical state (a negative end state is rejected by the step control)
        m = np.maximum(m, 0.0)
        mR = m @ R_SPECIES
        M = m.sum(1)
        empty = M <= 0
        R = mR / np.where(empty, 1.0, M)
        if empty.any():  # a zone that is empty keeps the gas constant of its last composition
            R = np.where(empty, self._frac @ R_SPECIES, R)
        p = mR / self._Sref
        pu, pv = p[zu], p[zv]
        fwd = pu >= pv
        g, dhi, dlo = _orifice_core(np.maximum(pu, pv), np.minimum(pu, pv), GAMMA, self.options.laminar_ratio)
        up = np.where(fwd, zu, zv)
        c = self._cda_coef / np.sqrt(R[up] * np.where(fwd, self._T_u, self._T_v))
        r = _Rates()
        r.dFu = np.where(fwd, c * dhi, -c * dlo)
        r.dFv = np.where(fwd, c * dlo, -c * dhi)
        M_up = M[up]
        # an empty upstream zone has p = 0, so it can only be upstream of another empty zone: F = 0
        r.y_up = m[up] / np.where(M_up > 0, M_up, 1.0)[:, None]
        cg = c * g
        r.kl = self._a_z * np.sqrt(R)
        r.leak = r.kl[:, None] * m
        r.dm = self._spread(np.where(fwd, cg, -cg)[:, None] * r.y_up) - r.leak
        if self._has_scrub:
            r.scrub = self._k_scrub * m
            r.dm -= r.scrub
        if self._has_source or sup.any():
            r.dm += self._src + sup
        return r

    def _rates_at(self, m, sup) -> _Rates:
        """``_rates`` with the last result reused: the end of an accepted step is the next start."""
        key = self._rates_cache
        if key is not None and key[0] is m and key[2] == self._generation and np.array_equal(key[1], sup):
            return key[3]
        r = self._rates(m, sup)
        self._rates_cache = (m, sup, self._generation, r)
        return r

    # ------------------------------------------------------------ stage matrix
    def _stage_solver(self, r: _Rates, h: float):
        """A solve of ``(1/(h gamma) - J) x = b`` for b of shape (nz, 3), by Woodbury (see module).

        Returns the solve and the leak rate constants it used [1/s]. The matrix is kept while the
        step size stays the same and for at most ``_JAC_AGE`` steps: a W-method keeps its order
        with a Jacobian from an earlier step, and every column of the matrix still sums to the
        same value, so conservation is exact with a kept matrix too.
        """
        key = (self._generation, self._nz, h)
        kept = self._stage
        if kept is not None and kept[0] == key and kept[1] < _JAC_AGE:
            self._stage = (key, kept[1] + 1, kept[2], kept[3])
            return kept[2], kept[3]
        zu, zv = self._fe[0], self._fe[1]
        kl = r.kl
        D = 1.0 / (h * _G) + kl[:, None] + self._k_scrub  # (nz, 3)
        w = R_SPECIES / (D * self._Sref[:, None])  # V D^-1, per zone and species
        av = np.einsum("es,es->e", w[zv], r.y_up)
        au = np.einsum("es,es->e", w[zu], r.y_up)
        rows = np.concatenate([zv, zv, zu, zu])
        cols = np.concatenate([zu, zv, zu, zv])
        vals = np.concatenate([-av * r.dFu, -av * r.dFv, au * r.dFu, au * r.dFv])
        lu = self._factor(rows, cols, vals)
        dFu, dFv, y_up, spread = r.dFu, r.dFv, r.y_up, self._spread

        def solve(b):
            z = b / D
            s = lu((z @ R_SPECIES) / self._Sref)
            return z + spread((dFu * s[zu] + dFv * s[zv])[:, None] * y_up) / D

        self._stage = (key, 1, solve, kl)
        return solve, kl

    def _factor(self, rows, cols, vals):
        """LU of ``I + sparse(rows, cols, vals)`` (nz x nz); returns its solve."""
        nz = self._nz
        if nz <= _DENSE_MAX:
            # scipy.linalg only here, for the same start-up reason as scipy.sparse below
            from scipy.linalg import lu_factor, lu_solve

            A = np.eye(nz)
            np.add.at(A, (rows, cols), vals)
            f = lu_factor(A, check_finite=False)
            return lambda x: lu_solve(f, x, check_finite=False)
        # scipy.sparse is imported on first use, as in ZonalSolver: a command that never builds a
        # many-zone network would pay ~0.15 s for it at start-up
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        idx = np.arange(nz)
        A = sp.csc_matrix((np.concatenate([vals, np.ones(nz)]), (np.concatenate([rows, idx]), np.concatenate([cols, idx]))),
                          shape=(nz, nz))
        return splu(A).solve

    # ------------------------------------------------------------- stepping
    def _rosenbrock(self, m0, r0: _Rates, h, sup):
        """One ROS34PW2 step of h [s] from ``m0``: (m1, embedded m1, leaked, scrubbed) [kg]."""
        solve, kl = self._stage_solver(r0, h)
        hg = h * _G
        scrub = self._has_scrub
        u, ul, us = [], [], []  # stages of the masses and of the leak and scrubber accumulators
        for i in range(_S):
            r = r0 if i == 0 else self._rates(m0 + sum(_A[i, j] * u[j] for j in range(i)), sup)
            ui = solve(r.dm + sum(_C[i, j] / h * u[j] for j in range(i))) if i else solve(r.dm)
            # accumulators q' = k m: their rows of W are explicit given the masses' stage
            ul.append(hg * (r.leak + kl[:, None] * ui + sum(_C[i, j] / h * ul[j] for j in range(i))))
            if scrub:
                us.append(hg * (r.scrub + self._k_scrub * ui + sum(_C[i, j] / h * us[j] for j in range(i))))
            u.append(ui)
        m1 = m0 + sum(_M[i] * u[i] for i in range(_S))
        m1_hat = m0 + sum(_MHAT[i] * u[i] for i in range(_S))
        leaked = sum(_M[i] * ul[i] for i in range(_S))
        scrubbed = sum(_M[i] * us[i] for i in range(_S)) if scrub else np.zeros_like(m0)
        return m1, m1_hat, leaked, scrubbed

    def _step_doubling(self, hcap, sup):
        """One accepted step of at most ``hcap`` [s]: (h, masses, ledger increments).

        Keeps the name and contract of the :class:`ZonalSolver` step it replaces, so the
        stepping loop, events and ledger commit are the :class:`ZonalSolver`'s.
        """
        if self._adiabatic:
            return super()._step_doubling(hcap, sup)
        o = self.options
        h = min(hcap, self._h_flow)
        m0 = self._Mzs
        r0 = self._rates_at(m0, sup)
        rejected = 0
        while True:
            m1, m1_hat, leaked, scrubbed = self._rosenbrock(m0, r0, h, sup)
            ok = bool(np.all(np.isfinite(m1)) and np.all(m1 >= -1e-12 * m0.sum(1, keepdims=True)))
            if ok:
                pp1 = m1 * R_SPECIES / self._Sref[:, None]
                err_pp = np.abs(m1 - m1_hat) * R_SPECIES / self._Sref[:, None]
                err = float(np.max(err_pp / (o.atol_pa + o.rtol * pp1.sum(1, keepdims=True))))
            else:
                err = math.inf
            if err <= 1.0:
                fac = 0.9 * err ** (-1.0 / (_EMBEDDED_ORDER + 1)) if err > 0 else math.inf
                # no growth right after a rejection (Hairer & Wanner IV.8): the error there was
                # not smooth in h, a kink of the orifice law (laminar continuation, reversal)
                fac = min(fac, 1.0 if rejected else _GROW_MAX)
                new_h = h if 1.0 <= fac < _KEEP_H else max(h * fac, o.min_step)
                self._h_flow = new_h if h < hcap else max(self._h_flow, new_h)
                m1 = np.maximum(m1, 0.0)
                inc = _Inc(len(self._leak_ids))
                inc.supplied = sup.sum(0) * h
                inc.sources = self._src.sum(0) * h
                inc.leaked = leaked.sum(0)
                inc.scrubbed = scrubbed.sum(0)
                if len(self._leak_ids):
                    inc.by_leak = leaked[self._leak_zone] * self._leak_share[:, None]
                return h, m1, inc
            if h <= o.min_step:
                # the first-order step is monotone and positivity-preserving where this one is not
                return super()._step_doubling(hcap, sup)
            rejected += 1
            if not ok:
                shrink = 0.25
            elif rejected == 1:
                shrink = min(0.9, max(0.2, 0.9 * err ** (-1.0 / (_EMBEDDED_ORDER + 1))))
            else:
                # a second rejection in a row: the error is not O(h^3) here (a kink), so assume
                # first order and cut harder instead of creeping down
                shrink = min(0.5, max(0.1, 0.9 / err))
            h = max(h * shrink, o.min_step)

    def _sample_dense(self, times: np.ndarray) -> np.ndarray:
        """Step freely to the last time; zone partial pressures [Pa] (k, zones, 3) at *times*.

        Samples inside a step are the cubic Hermite interpolation of the zone masses. The
        interpolant uses the masses and their rates at both ends of the step, so it is of
        the step's own (third) order; the rates at the end are the next step's first stage.
        """
        if self._adiabatic:
            return super()._sample_dense(times)
        out = np.empty((len(times), self._nz, 3))
        k = 0
        while k < len(times) and times[k] <= self.t:
            out[k] = self._zone_pp(self._Mzs)
            k += 1
        while k < len(times):
            sup, _ = self._supply_rates()
            t0, m0 = self.t, self._Mzs
            f0 = self._rates_at(m0, sup).dm
            self._one_step(float(times[-1]))
            t1, m1 = self.t, self._Mzs
            j = k
            while j < len(times) and times[j] <= t1:
                j += 1
            if j > k:
                sup1, _ = self._supply_rates()
                f1 = self._rates_at(m1, sup1).dm if np.array_equal(sup1, sup) else self._rates(m1, sup).dm
                out[k:j] = self._zone_pp(_hermite(t0, t1, m0, m1, f0, f1, times[k:j]))
                k = j
        return out
