"""Treserve: how long until a compartment's total pressure falls to the reserve floor.

Two Treserves appear in a run and must not be confused:

* the crew's, read from a gauge (:func:`treserve` applied to a measured dP/dt): it carries the
  gauge's resolution, the length of the measuring window and everything that changed the
  pressure during it, the measurer's own breathing included;
* the model's truth (:func:`leak_treserve`), recorded in the series (``ID.treserve_s``,
  ``station.treserve_s``) and summarized in ``summary["treserve"]``: what the leaks, as the
  model has them at that instant, do to the pressure.

The truth uses the same formula as the crew's reading (a linear extrapolation of dP/dt,
``(p - floor) / -dP/dt``), so the two can be compared directly; only the dP/dt differs. For each
mixed zone *z* (compartments joined by open hatches) the model's dP/dt counts the leaks to
vacuum in the zone and the flows through open equalization valves (and, with
``hatch_model: orifice``, open hatches) to and from neighbouring zones::

    dM_z/dt = - sum_leaks CdA * choked_mass_flux(p_z, T, R_z) + sum_edges (inflow - outflow)
    dp_z/dt = R_z * dM_z/dt / sum_i(V_i / T_i)          (isothermal zone)

Breathing, scrubbers, life support and make-up gas are left out on purpose: Treserve is the
margin the leaks leave. A choked leak empties a volume exponentially, so the actual time to the
floor is longer than the linear extrapolation by ``ln(p/floor) / (1 - floor/p)``, 1.24 at
101.3 kPa with a 490 mmHg floor; the crew's procedures use the linear figure, and so does this.

References
----------
NASA RP-1357 (Salyut 7 practice: Treserve from the measured pressure trend); isentropic
orifice flow of an ideal gas, choked leak to vacuum (Anderson, *Modern Compressible Flow*, ch. 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.atmosphere import R_SPECIES, choked_mass_flux, orifice_mass_flow

__all__ = ["ReserveConfig", "leak_dpdt", "leak_treserve", "treserve"]


def treserve(p: np.ndarray | float, dpdt: np.ndarray | float, floor: float) -> np.ndarray:
    """Time until pressure *p* [Pa] falling at *dpdt* [Pa/s] reaches *floor* [Pa], in [s].

    ``inf`` where the pressure is not falling, 0 where it is already at or below the floor.

    Examples
    --------
    >>> float(treserve(100e3, -1.0, 65e3))
    35000.0
    """
    p, dpdt = np.asarray(p, float), np.asarray(dpdt, float)
    falling = dpdt < 0
    out = np.where(falling, (p - floor) / np.where(falling, -dpdt, 1.0), np.inf)
    return np.where(p <= floor, 0.0, out)


@dataclass(frozen=True)
class ReserveConfig:
    """What the leak-driven dP/dt depends on that stays fixed between two discrete events.

    Attributes
    ----------
    zone_of : ndarray of int (n,)
        Mixed zone of every compartment.
    volume, temperature : ndarray (n,)
        Compartment volumes [m^3] and wall temperatures [K].
    leak_at, leak_cda : ndarray (j,)
        Compartment index and effective area [m^2] of every open leak.
    edge_u, edge_v, edge_cda : ndarray (e,)
        Flow paths between different zones (open valves; open hatches when not merged) and
        their effective areas [m^2].
    laminar_ratio : float
        As in :func:`sim.atmosphere.orifice_mass_flow` [-].
    """

    zone_of: np.ndarray
    volume: np.ndarray
    temperature: np.ndarray
    leak_at: np.ndarray
    leak_cda: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_cda: np.ndarray
    laminar_ratio: float = 0.999

    @cached_property
    def _zones(self) -> tuple[int, list[int], list[int], list[int], np.ndarray]:
        """What :func:`leak_dpdt` derives from the configuration alone, once: the number of zones, the
        zone of every leak and of both ends of every edge, and each compartment's zone capacity
        sum(V/T) [m^3/K]."""
        n = len(self.zone_of)
        nz = int(self.zone_of.max()) + 1 if n else 0
        capacity = np.bincount(self.zone_of, self.volume / self.temperature, nz)
        return (nz, self.zone_of[self.leak_at].tolist(), self.zone_of[self.edge_u].tolist(),
                self.zone_of[self.edge_v].tolist(), capacity[self.zone_of])


def _gas_constant(p: np.ndarray, pp: np.ndarray) -> np.ndarray:
    """Mixture gas constant of every compartment from its partial pressures [J/(kg K)]."""
    per_mass = (pp / R_SPECIES).sum(axis=-1)  # sum of rho_s T, proportional to density
    has_gas = per_mass > 0
    return np.where(has_gas, p / np.where(has_gas, per_mass, 1.0), 287.05)


def leak_dpdt(p: np.ndarray, pp: np.ndarray, cfg: ReserveConfig) -> np.ndarray:
    """Leak-driven dP/dt of every compartment at every sample [Pa/s].

    Parameters
    ----------
    p : ndarray (k, n)
        Total pressures [Pa].
    pp : ndarray (k, n, 3)
        Partial pressures of N2, O2, CO2 [Pa].
    cfg : ReserveConfig
        The configuration these samples were taken in.

    Returns
    -------
    ndarray (k, n)
        dP/dt [Pa/s]: negative where the leaks draw the pressure down.
    """
    p = np.asarray(p, float)
    k = p.shape[0]
    R = _gas_constant(p, np.asarray(pp, float))
    nz, leak_zone, zone_u, zone_v, capacity = cfg._zones
    # each zone's mass rate, accumulated leak by leak and edge by edge (in that order)
    dM = np.zeros((k, nz))
    if leak_zone:
        c = cfg.leak_at
        out = cfg.leak_cda * choked_mass_flux(p[:, c], cfg.temperature[c], R[:, c])
        for j, z in enumerate(leak_zone):
            dM[:, z] += -out[:, j]
    if zone_u:
        u, v = cfg.edge_u, cfg.edge_v
        forward = p[:, u] >= p[:, v]
        T_up = np.where(forward, cfg.temperature[u], cfg.temperature[v])
        R_up = np.where(forward, R[:, u], R[:, v])
        flow = orifice_mass_flow(cfg.edge_cda, p[:, u], p[:, v], T_up, R_up, laminar_ratio=cfg.laminar_ratio)
        for j, z in enumerate(zone_u):
            dM[:, z] += -flow[:, j]
        for j, z in enumerate(zone_v):
            dM[:, z] += flow[:, j]
    return R * dM[:, cfg.zone_of] / capacity


def leak_treserve(p: np.ndarray, pp: np.ndarray, cfg: ReserveConfig, floor: float) -> np.ndarray:
    """Model-truth Treserve of every compartment at every sample [s] (see the module docstring).

    Returns
    -------
    ndarray (k, n)
        ``inf`` where no leak draws the compartment's pressure down, 0 at or below *floor* [Pa].
    """
    return treserve(p, leak_dpdt(p, pp, cfg), floor)
