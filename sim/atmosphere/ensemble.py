"""Many runs of one zonal atmosphere at once: the closed-form local solution with a member axis.

A batch of B *members* shares one station, one zone structure (no hatch changes), the same
scrubbers and constant sources; the members differ in the effective areas of their leaks. Without
flow between zones every zone's species masses obey ``dm/dt = -(k_leak + k_scrub) m + S`` with the
mixture's gas constant frozen over a step, which is solved exactly with exponentials
(docs/atmosphere.md, "Local part"). The arrays here carry a leading member axis, and every number
is computed with the same floating-point operations, in the same order, as
:class:`~sim.atmosphere.zonal.ZonalSolver` computes it for one run, so a member equals its single
run to the last bit (``tests/sweep/test_batch.py`` proves it through the sweep command).

Not modelled here (a scenario that needs any of these runs member by member): flow between zones
(open valves, the seal path of a closed hatch between two zones, orifice hatches), adiabatic
blowdown, hatch changes, gas supplies, crew breathing.

A zone without sources or scrubbers needs one exponential per member and instant (its species
share one rate), which keeps a poll of 10^5 members cheap, and exact.
"""

from __future__ import annotations

import numpy as np

from .base import SolverOptions
from .closed_form import exp_solution, mixture_R
from .flow import GAMMA, R_SPECIES, choked_flow_factor
from .network import GasNetwork, components

__all__ = ["EnsembleAtmosphere", "zone_labels"]


def zone_labels(network: GasNetwork) -> np.ndarray:
    """Zone of every compartment with open hatches merged, numbered in order of each zone's first
    compartment (the zonal solver's numbering)."""
    sel = network.hatch_open
    return components(network.n, network.edge_u[sel], network.edge_v[sel])[1]


class EnsembleAtmosphere:
    """B members of one isothermal, merged-hatch zonal atmosphere without inter-zone flow.

    Parameters
    ----------
    network : GasNetwork
        Compartments and hatches (their states stay as given).
    masses : ndarray, shape (n, 3)
        Initial species masses per compartment [kg], the same in every member.
    n_members : int
        B, the number of members.
    options : SolverOptions, optional
        Only ``rtol`` and ``atol_pa`` are used (the error control of the frozen gas constant).

    Attributes
    ----------
    M : ndarray (B, nz, 3)
        Species masses per zone [kg].
    t : ndarray (B,)
        Each member's time [s].
    leaked : ndarray (B, 3), leaked_by_leak : ndarray (B, L, 3)
        Gas lost to vacuum, in all and per leak [kg] (the ledger's ``leaked`` and ``leaked_by_leak``).
    """

    def __init__(self, network: GasNetwork, masses: np.ndarray, n_members: int, options: SolverOptions | None = None):
        o = options if options is not None else SolverOptions()
        if o.thermo != "isothermal" or o.hatch_model != "merge":
            raise ValueError("EnsembleAtmosphere: only the isothermal solver with merged hatches")
        self.network, self.options, self.B = network, o, int(n_members)
        self.zone_of = zone_labels(network)
        self.nz = nz = int(self.zone_of.max()) + 1
        self._T = network.temperature.astype(float).copy()
        m = np.array(masses, dtype=float)
        vt = network.volume / self._T
        self._Sref = np.bincount(self.zone_of, vt, nz)
        M0 = np.stack([np.bincount(self.zone_of, m[:, s], nz) for s in range(3)], axis=1)
        tot = M0.sum(1, keepdims=True)
        frac_c = np.where(m.sum(1, keepdims=True) > 0, m / np.maximum(m.sum(1, keepdims=True), 1e-300),
                          np.array([0.755, 0.2315, 0.0135]))
        fr = np.stack([np.bincount(self.zone_of, frac_c[:, s] * vt, nz) for s in range(3)], axis=1)
        fr /= fr.sum(1, keepdims=True)
        frac0 = np.where(tot > 0, M0 / np.where(tot > 0, tot, 1.0), fr)
        self.M = np.broadcast_to(M0, (self.B, nz, 3)).copy()
        self.frac = np.broadcast_to(frac0, (self.B, nz, 3)).copy()
        self.t = np.zeros(self.B)
        self._scale = np.ones(nz) / self._Sref  # theta / Sref with theta = 1 (isothermal)
        self._k_scrub = np.zeros((nz, 3))
        self._src = np.zeros((nz, 3))
        self._K = choked_flow_factor(GAMMA)
        self.leak_ids: list[str] = []
        self._leak_zone = np.zeros(0, dtype=np.int64)
        self._leak_a = np.zeros((self.B, 0))
        self.a_z = np.zeros((self.B, nz))
        self._leak_share = np.zeros((self.B, 0))
        self.leaked = np.zeros((self.B, 3))
        self.leaked_by_leak = np.zeros((self.B, 0, 3))

    # ------------------------------------------------------------------ controls (all members alike)
    def add_scrubber(self, compartment: int, flow_m3_s: float) -> None:
        """A perfect CO2 scrubber of *flow_m3_s* [m^3/s] in *compartment* (call in the solver's order)."""
        z = self.zone_of[compartment]
        self._k_scrub[z, 2] += flow_m3_s / (self._T[compartment] * self._Sref[z])

    def add_source(self, compartment: int, rates) -> None:
        """A constant source of N2, O2, CO2 [kg/s] in *compartment* (call in the solver's order)."""
        self._src[self.zone_of[compartment]] += np.asarray(rates, float)

    def add_leak(self, leak_id: str, compartment: int, cda_m2) -> None:
        """A leak to vacuum in *compartment*, effective area C_d*A [m^2] per member, shape (B,)."""
        cda = np.broadcast_to(np.asarray(cda_m2, float), (self.B,))
        z = int(self.zone_of[compartment])
        la = cda * self._K * np.sqrt(GAMMA / self._T[compartment]) / self._Sref[z]
        self.leak_ids.append(leak_id)
        self._leak_zone = np.append(self._leak_zone, z)
        self._leak_a = np.concatenate([self._leak_a, la[:, None]], axis=1)
        a_z = np.zeros((self.B, self.nz))
        for i, zi in enumerate(self._leak_zone.tolist()):  # bincount's order: leaks in insertion order
            a_z[:, zi] = a_z[:, zi] + self._leak_a[:, i]
        self.a_z = a_z
        az = a_z[:, self._leak_zone]
        self._leak_share = np.where(az > 0, self._leak_a / np.where(az > 0, az, 1.0), 0.0)
        self.leaked_by_leak = np.concatenate([self.leaked_by_leak, np.zeros((self.B, 1, 3))], axis=1)

    @property
    def pure_zones(self) -> np.ndarray:
        """Zones without sources or scrubbers (bool, nz): their species share one decay rate."""
        return ~(self._src.any(1) | self._k_scrub.any(1))

    @property
    def shared_zones(self) -> np.ndarray:
        """Zones that no member's leak reaches (bool, nz)."""
        return ~self.a_z.any(0)

    # ------------------------------------------------------------------ evaluation
    def zone_pp(self, M: np.ndarray) -> np.ndarray:
        """Partial pressures per zone [Pa] of masses shaped (..., nz, 3)."""
        return M * R_SPECIES * self._scale[:, None]

    def zone_p(self, M: np.ndarray) -> np.ndarray:
        """Total pressure per zone [Pa] of masses shaped (..., nz, 3)."""
        return self.zone_pp(M).sum(-1)

    def gas_constant(self, idx) -> np.ndarray:
        """Mixture gas constant per zone of members *idx* now [J/(kg K)], shape (b, nz)."""
        return mixture_R(self.M[idx], self.frac[idx])

    def local(self, idx, h, R=None):
        """The local step of members *idx* over *h* [s] (shape (b,) or scalar) from their state now.

        Returns ``(m, leaked, by_leak)``: masses (b, nz, 3) [kg] and the ledger increments (b, 3),
        (b, L, 3) [kg]. *R* (b, nz) is the frozen gas constant (default: the mixture's now).
        """
        M = self.M[idx]
        if R is None:
            R = mixture_R(M, self.frac[idx])
        kl = self.a_z[idx] * np.sqrt(R)
        k = kl[..., None] + self._k_scrub
        S = self._src
        dt = np.asarray(h, float).reshape(-1, 1, 1) if np.ndim(h) else float(h)
        m, te = exp_solution(M, k, S, dt)
        removed = M + S * te - m
        share = np.where(k > 0, kl[..., None] / np.where(k > 0, k, 1.0), 0.0)
        leaked = removed * share
        by_leak = leaked[:, self._leak_zone, :] * self._leak_share[idx][:, :, None]
        return m, leaked.sum(-2), by_leak

    def drift_error(self, idx, m, h) -> np.ndarray:
        """The solver's scaled error of freezing R_mix over a step to *m* of length *h* [s] (b,)."""
        o = self.options
        M, frac = self.M[idx], self.frac[idx]
        R0 = mixture_R(M, frac)
        R1 = mixture_R(m, frac)
        p1 = self.zone_p(m)
        kl = self.a_z[idx] * np.sqrt(R0)
        hh = np.asarray(h, float).reshape(-1, 1) if np.ndim(h) else float(h)
        est = 0.25 * np.abs(R1 / R0 - 1.0) * np.minimum(kl * hh, 1.0) * p1 / (o.atol_pa + o.rtol * p1)
        err = est.max(axis=-1)
        return np.where(self.a_z[idx].any(-1), err, 0.0)

    def commit(self, idx, m, leaked, by_leak, t) -> None:
        """Adopt masses *m* for members *idx* at time(s) *t* [s], adding the ledger increments."""
        self.M[idx] = m
        self.leaked[idx] = self.leaked[idx] + leaked
        self.leaked_by_leak[idx] = self.leaked_by_leak[idx] + by_leak
        tot = m.sum(-1, keepdims=True)
        self.frac[idx] = np.where(tot > 0, m / np.where(tot > 0, tot, 1.0), self.frac[idx])
        self.t[idx] = t

    def sample(self, idx, dts: np.ndarray, z: int):
        """Zone *z* of members *idx* at their times plus *dts* [s], not adopted.

        *dts* is (J,) for all members or (b, J), each row sorted. The closed form starts from each
        member's state now with the gas constant frozen there, as the zonal solver samples a
        quiet interval. Returns the total pressure, ppO2 and ppCO2 [Pa], each (b, J).
        """
        M = self.M[idx, z]
        R0 = mixture_R(M, self.frac[idx, z])
        d = dts if dts.ndim == 2 else dts[None, :]
        s_z = self._scale[z]  # pp = (m R_s) (theta / Sref): the solver's association
        kl = self.a_z[idx, z] * np.sqrt(R0)  # (b,)
        if self.pure_zones[z]:
            # k is the same for every species (k_leak + 0), and m0 exp(-k dt) + 0 phi is m0 exp(-k dt)
            e = np.exp(-(kl[:, None] * d))  # (b, J)
            pp = [M[:, s, None] * e * R_SPECIES[s] * s_z for s in range(3)]
        elif not self.a_z[idx, z].any():
            # no leak: k is the scrubber's alone, one number per species, and each species takes the
            # branch of the closed form that its k and S select (the same operations on those values)
            pp = []
            for s in range(3):
                k, S, m0 = self._k_scrub[z, s], self._src[z, s], M[:, s, None]
                if S == 0:
                    m = m0 * np.exp(-(k * d)) if k > 0 else m0 * 1.0
                elif S > 0 and k == 0:
                    m = np.maximum(m0 * 1.0 + S * d, 0.0)
                else:
                    m, _ = exp_solution(m0, k, S, d)
                pp.append(m * R_SPECIES[s] * s_z)
        else:
            k = kl[:, None] + self._k_scrub[z]
            m, _ = exp_solution(M[:, None, :], k[:, None, :], self._src[z], d[:, :, None])
            pp = [m[..., s] * R_SPECIES[s] * s_z for s in range(3)]
        return pp[0] + pp[1] + pp[2], pp[1], pp[2]  # numpy's sum over the species, in its order
