"""Gas properties and orifice flow formulas (pure, vectorized functions).

Everything is SI: pressures [Pa], temperatures [K], areas [m^2], mass flows [kg/s].

The mixture is treated with a single ratio of specific heats ``GAMMA = 1.4``:
N2 and O2 are diatomic (gamma 1.40) and CO2 (gamma 1.29) is at most a few percent
of cabin air, which moves the mixture gamma by < 0.3 %, so the air value serves
for N2/O2/CO2 cabin air. The gas constant, in contrast, is computed from the
actual composition (``mixture_gas_constant``) because it sets the pressure.

References
----------
Compressible flow of an ideal gas through an orifice (choked below the critical pressure ratio
0.5283 for gamma = 1.4, subsonic above); docs/atmosphere.md, "Modelling choices".
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "GAMMA",
    "MOLAR_MASS",
    "R_AIR",
    "R_SPECIES",
    "R_UNIVERSAL",
    "SPECIES",
    "cda_from_leak_rate",
    "choked_flow_factor",
    "choked_mass_flux",
    "critical_pressure_ratio",
    "hole_area_from_diameter",
    "masses_from_partial_pressures",
    "mixture_gas_constant",
    "orifice_mass_flow",
]

#: Ratio of specific heats used for the cabin mixture [-] (see module docstring).
GAMMA = 1.4
#: Molar gas constant [J/(mol K)].
R_UNIVERSAL = 8.314462618
#: Species order used everywhere in ``sim.atmosphere``.
SPECIES = ("N2", "O2", "CO2")
#: Molar masses [kg/mol], in ``SPECIES`` order.
MOLAR_MASS = np.array([28.0134e-3, 31.9988e-3, 44.0095e-3])
#: Specific gas constants [J/(kg K)], in ``SPECIES`` order.
R_SPECIES = R_UNIVERSAL / MOLAR_MASS
#: Gas constant of dry air, used to convert a leak given as a rate into an area [J/(kg K)].
R_AIR = 287.05


def critical_pressure_ratio(gamma: float = GAMMA) -> float:
    """Return r_crit = (2/(gamma+1))^(gamma/(gamma-1)) [-] (0.5283 for gamma 1.4)."""
    return (2.0 / (gamma + 1.0)) ** (gamma / (gamma - 1.0))


def choked_flow_factor(gamma: float = GAMMA) -> float:
    """Return K = (2/(gamma+1))^((gamma+1)/(2(gamma-1))) [-] (0.5787 for gamma 1.4)."""
    return (2.0 / (gamma + 1.0)) ** ((gamma + 1.0) / (2.0 * (gamma - 1.0)))


def choked_mass_flux(p_up, T_up, R=R_AIR, gamma: float = GAMMA):
    """Choked mass flux through a unit of effective area.

    Parameters
    ----------
    p_up : array_like
        Upstream stagnation pressure [Pa].
    T_up : array_like
        Upstream stagnation temperature [K].
    R : array_like, optional
        Specific gas constant of the upstream gas [J/(kg K)].
    gamma : float, optional
        Ratio of specific heats [-].

    Returns
    -------
    ndarray
        Mass flux per unit C_d*A, ``p*sqrt(gamma/(R*T))*K`` [kg/(s m^2)].

    References
    ----------
    Isentropic flow of an ideal gas through an orifice, choked case: ``mdot = Cd A p_up
    sqrt(gamma/(R T)) K`` with ``K = (2/(gamma+1))^((gamma+1)/(2(gamma-1)))`` (any gas-dynamics text,
    e.g. Anderson, *Modern Compressible Flow*, ch. 5).

    Examples
    --------
    >>> round(float(0.6e-4 * choked_mass_flux(101325.0, 295.0)) * 1e3, 3)  # g/s
    14.305
    """
    p_up = np.asarray(p_up, dtype=float)
    return p_up * np.sqrt(gamma / (np.asarray(R, float) * np.asarray(T_up, float))) * choked_flow_factor(gamma)


def _phi(r, gamma):
    return r ** (2.0 / gamma) - r ** ((gamma + 1.0) / gamma)


def _orifice_core(p_up, p_down, gamma, laminar_ratio):
    """g(p_up, p_down) [Pa] with mdot = cda*sqrt(2 gamma/((gamma-1) R T))*g, for p_up >= p_down.

    Returns g, dg/dp_up, dg/dp_down. Three branches: choked (r <= r_crit),
    subsonic, and a linear continuation in (p_up - p_down) for r > laminar_ratio
    that matches the subsonic value at laminar_ratio. The continuation exists
    because the subsonic law has an infinite slope d(mdot)/d(dp) at dp -> 0,
    which would stall Newton's method near equilibrium.
    """
    p_up = np.asarray(p_up, float)
    p_down = np.asarray(p_down, float)
    rc = critical_pressure_ratio(gamma)
    sphi_c = np.sqrt(_phi(rc, gamma))
    c_lam = np.sqrt(_phi(laminar_ratio, gamma)) / (1.0 - laminar_ratio)
    safe_up = np.where(p_up > 0.0, p_up, 1.0)
    r = np.where(p_up > 0.0, p_down / safe_up, 1.0)
    r = np.clip(r, 0.0, 1.0)
    choked = r <= rc
    lam = r > laminar_ratio
    sub = ~(choked | lam)
    rs = np.where(sub, r, 0.75)  # any interior value keeps the unused branch finite
    phi = _phi(rs, gamma)
    sphi = np.sqrt(phi)
    dphi = (2.0 / gamma) * rs ** (2.0 / gamma - 1.0) - ((gamma + 1.0) / gamma) * rs ** (1.0 / gamma)
    g = np.where(choked, p_up * sphi_c, np.where(lam, c_lam * (p_up - p_down), p_up * sphi))
    dg_up = np.where(choked, sphi_c, np.where(lam, c_lam, sphi - rs * dphi / (2.0 * sphi)))
    dg_down = np.where(choked, 0.0, np.where(lam, -c_lam, dphi / (2.0 * sphi)))
    return g, dg_up, dg_down


def orifice_mass_flow(cda, p_up, p_down, T_up, R_up=R_AIR, gamma: float = GAMMA,
                      laminar_ratio: float = 0.999):
    """Compressible mass flow through an orifice, choked or subsonic.

    Vectorized over edges. The result is signed: positive from ``up`` to ``down``.
    If ``p_down > p_up`` the flow is reversed and computed with the same
    ``T_up`` and ``R_up`` (callers whose two sides differ in state pick the
    upstream side themselves, as the solver does).

    Parameters
    ----------
    cda : array_like
        Effective area C_d*A [m^2].
    p_up, p_down : array_like
        Pressures on the two sides [Pa].
    T_up : array_like
        Temperature of the gas that flows [K].
    R_up : array_like, optional
        Gas constant of the gas that flows [J/(kg K)].
    gamma : float, optional
        Ratio of specific heats [-].
    laminar_ratio : float, optional
        For r = p_down/p_up above this value the subsonic law is continued
        linearly in (1 - r), matching its value at ``laminar_ratio`` [-]. This keeps
        the function Lipschitz at equilibrium (the exact law has an infinite slope)
        and changes the flow only for pressure differences below
        ``(1 - laminar_ratio) * p_up`` (about 100 Pa at 1 atm for 0.999).

    Returns
    -------
    ndarray
        Mass flow [kg/s].

    References
    ----------
    Isentropic orifice flow of an ideal gas (Anderson, *Modern Compressible Flow*, ch. 5): choked for r <= 0.5283,
    ``mdot = Cd A p_up sqrt(gamma/(R T)) K``; subsonic
    ``mdot = Cd A p_up sqrt(2 gamma/((gamma-1) R T) [r^(2/gamma) - r^((gamma+1)/gamma)])``.
    """
    p_up = np.asarray(p_up, float)
    p_down = np.asarray(p_down, float)
    fwd = p_up >= p_down
    hi = np.where(fwd, p_up, p_down)
    lo = np.where(fwd, p_down, p_up)
    g, _, _ = _orifice_core(hi, lo, gamma, laminar_ratio)
    coef = np.asarray(cda, float) * np.sqrt(2.0 * gamma / ((gamma - 1.0) * np.asarray(R_up, float) * np.asarray(T_up, float)))
    return np.where(fwd, 1.0, -1.0) * coef * g


def cda_from_leak_rate(mdot_kg_s, p_pa, T_k, R=R_AIR, gamma: float = GAMMA):
    """Effective area of a choked leak that loses ``mdot`` at pressure ``p``.

    Parameters
    ----------
    mdot_kg_s : array_like
        Leak rate [kg/s].
    p_pa : array_like
        Compartment pressure at which the rate holds [Pa].
    T_k : array_like
        Gas temperature [K].
    R : array_like, optional
        Gas constant [J/(kg K)].
    gamma : float, optional
        Ratio of specific heats [-].

    Returns
    -------
    ndarray
        C_d*A [m^2].

    References
    ----------
    A leak given as a rate is the choked orifice that passes that mass flow at the reference
    state: 1 lb/day at 101.325 kPa, 295 K is 0.02202 mm^2 (Cd 1).

    Examples
    --------
    >>> round(float(cda_from_leak_rate(0.45359237 / 86400, 101325.0, 295.0)) * 1e6, 5)
    0.02202
    """
    return np.asarray(mdot_kg_s, float) / choked_mass_flux(p_pa, T_k, R, gamma)


def hole_area_from_diameter(d_m):
    """Area of a circular hole [m^2] from its diameter ``d_m`` [m]."""
    d = np.asarray(d_m, float)
    return 0.25 * np.pi * d * d


def mixture_gas_constant(mass_fractions):
    """Gas constant of a N2/O2/CO2 mixture, ``sum(y_s R_s)``.

    Parameters
    ----------
    mass_fractions : array_like, shape (..., 3)
        Mass fractions in order N2, O2, CO2 [-]. Rows need not be normalised:
        they are divided by their sum (a zero row gives the N2 value's scale 0).

    Returns
    -------
    ndarray, shape (...)
        Specific gas constant [J/(kg K)].
    """
    y = np.asarray(mass_fractions, float)
    tot = y.sum(axis=-1)
    return (y @ R_SPECIES) / np.where(tot > 0, tot, 1.0)


def masses_from_partial_pressures(pp, V, T):
    """Species masses from partial pressures, ``m = pp V / (R_s T)``.

    Parameters
    ----------
    pp : array_like, shape (n, 3)
        Partial pressures of N2, O2, CO2 [Pa].
    V : array_like, shape (n,)
        Volumes [m^3].
    T : array_like, shape (n,)
        Temperatures [K].

    Returns
    -------
    ndarray, shape (n, 3)
        Masses [kg].
    """
    pp = np.asarray(pp, float)
    V = np.asarray(V, float)[..., None]
    T = np.asarray(T, float)[..., None]
    return pp * V / (R_SPECIES * T)
