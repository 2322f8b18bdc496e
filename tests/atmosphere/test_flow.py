"""Orifice formulas, leak-rate conversion and the worked numbers of a blowdown table (100 m^3 through 1 cm^2)."""

import numpy as np
import pytest

from sim.atmosphere import (
    R_SPECIES,
    cda_from_leak_rate,
    choked_mass_flux,
    hole_area_from_diameter,
    masses_from_partial_pressures,
    mixture_gas_constant,
    orifice_mass_flow,
)
from sim.atmosphere.flow import choked_flow_factor, critical_pressure_ratio

MMHG = 133.322
LB = 0.45359237
V, P0, T0, A = 100.0, 101325.0, 295.0, 1e-4

# the worked blowdown table (100 m^3, 1 cm^2, 101.325 kPa, 295 K): Cd, mdot0 [g/s], dp/dt0 [mmHg/min], tau [s], t_iso [min], t_adi [min]
TABLE = [(0.6, 14.305, 5.452, 8364.5, 61.25, 45.15), (1.0, 23.842, 9.086, 5018.7, 36.75, 27.09)]


def test_constants():
    assert critical_pressure_ratio() == pytest.approx(0.5283, abs=5e-5)
    assert choked_flow_factor() == pytest.approx(0.5787, abs=5e-5)
    cstar = np.sqrt(1.4 * 287.05 * 295.0) * choked_flow_factor()
    assert cstar == pytest.approx(199.26, abs=0.005)


@pytest.mark.parametrize("cd, mdot0, dpdt0, tau, t_iso, t_adi", TABLE)
def test_worked_numbers_formulas(cd, mdot0, dpdt0, tau, t_iso, t_adi):
    m0 = float(cd * A * choked_mass_flux(P0, T0))
    assert abs(m0 * 1e3 - mdot0) <= 0.0005 + 1e-9
    tau_c = V * P0 / (287.05 * T0) / m0  # M0 / mdot0 = V / (Cd A c*)
    assert abs(tau_c - tau) <= 0.05 + 1e-9
    assert abs(P0 / tau_c / MMHG * 60 - dpdt0) <= 0.0005 + 1e-9
    p_floor = 65300.0  # the table uses 65.3 kPa (490 mmHg = 65.328 kPa gives 61.19 min)
    assert abs(tau_c * np.log(P0 / p_floor) / 60 - t_iso) <= 0.005 + 1e-9
    t_a = 5 * tau_c * ((P0 / p_floor) ** (1 / 7) - 1)
    assert abs(t_a / 60 - t_adi) <= 0.005 + 1e-9


def test_leak_rate_conversion():
    cda = cda_from_leak_rate(LB / 86400, 101325.0, 295.0)
    assert cda * 1e6 == pytest.approx(0.02202, abs=5e-6)
    # whole ISS: 1,096 kg in 916 m^3 losing 1 lb/day -> dp/dt = p * mdot / M
    p = 1096 * 287.05 * 295.0 / 916
    assert p * LB / 1096 / MMHG == pytest.approx(0.31, abs=0.005)


def test_orifice_branches_continuous():
    rc, rl = critical_pressure_ratio(), 0.999
    for r in (rc, rl):
        lo = orifice_mass_flow(1e-4, 1e5, r * 1e5 * (1 - 1e-12), 295.0)
        hi = orifice_mass_flow(1e-4, 1e5, r * 1e5 * (1 + 1e-12), 295.0)
        assert lo == pytest.approx(hi, rel=1e-8)
    # choked value below r_crit, independent of downstream pressure
    assert orifice_mass_flow(1e-4, 1e5, 0.0, 295.0) == pytest.approx(1e-4 * choked_mass_flux(1e5, 295.0), rel=1e-12)
    assert orifice_mass_flow(1e-4, 1e5, 4e4, 295.0) == pytest.approx(orifice_mass_flow(1e-4, 1e5, 0.0, 295.0), rel=1e-12)
    # antisymmetric, zero at equal pressures, monotone in p_down
    assert orifice_mass_flow(1e-4, 5e4, 1e5, 295.0) == -orifice_mass_flow(1e-4, 1e5, 5e4, 295.0)
    assert orifice_mass_flow(1e-4, 1e5, 1e5, 295.0) == 0.0
    pd = np.linspace(0, 1e5, 2001)
    f = orifice_mass_flow(1e-4, 1e5, pd, 295.0)
    assert np.all(np.diff(f) <= 1e-15)


def test_orifice_derivative_matches_finite_difference():
    from sim.atmosphere.flow import _orifice_core
    pu = np.full(7, 1e5)
    pd = np.array([0.0, 4e4, 6e4, 9e4, 99_950.0, 99_990.0, 1e5])
    _g, du, dd = _orifice_core(pu, pd, 1.4, 0.999)
    h = 1e-3
    gu = (_orifice_core(pu + h, pd, 1.4, 0.999)[0] - _orifice_core(pu - h, pd, 1.4, 0.999)[0]) / (2 * h)
    gd = (_orifice_core(pu, pd + h, 1.4, 0.999)[0] - _orifice_core(pu, pd - h, 1.4, 0.999)[0]) / (2 * h)
    ok = np.abs(pd / pu - 0.999) > 1e-6
    assert np.allclose(du[ok], gu[ok], rtol=1e-5)
    assert np.allclose(dd[ok][:-1], gd[ok][:-1], rtol=1e-5)


def test_gas_helpers():
    assert hole_area_from_diameter(0.0254) == pytest.approx(5.067075e-4, rel=1e-6)
    assert mixture_gas_constant([1, 0, 0]) == pytest.approx(R_SPECIES[0])
    assert mixture_gas_constant([[2, 2, 0]]) == pytest.approx([(R_SPECIES[0] + R_SPECIES[1]) / 2])
    m = masses_from_partial_pressures([[79e3, 21e3, 400.0]], [10.0], [295.0])
    assert m[0, 1] == pytest.approx(21e3 * 10 / (R_SPECIES[1] * 295.0))
