"""ZonalSolver against analytic solutions, hand checks and a tight scipy reference."""

import numpy as np
import pytest
from conftest import air_masses, make_network, scaled_error
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from sim.atmosphere import (
    R_SPECIES,
    SolverOptions,
    ZonalSolver,
    make_solver,
    masses_from_partial_pressures,
    orifice_mass_flow,
)

P0, T0 = 101325.0, 295.0


def blowdown_solver(cd, thermo="isothermal", V=100.0, area=1e-4):
    s = ZonalSolver(make_network([V]), air_masses(P0, [V]), SolverOptions(thermo=thermo))
    s.add_leak("hole", 0, cd * area)
    return s


def tau_of(cd, V=100.0, area=1e-4):
    cstar = np.sqrt(1.4 * 287.05 * T0) * (2 / 2.4) ** 3
    return V / (cd * area * cstar)


def test_isothermal_blowdown_exponential():
    tau = tau_of(0.6)
    t = np.linspace(0, 5 * tau, 501)
    out = blowdown_solver(0.6).sample(t)
    err = scaled_error(out.pressure[:, 0], P0 * np.exp(-t / tau), rtol=1e-4, atol=1e-6 * P0)
    assert err.max() < 1


def test_isothermal_blowdown_stepwise_matches_sampled():
    tau = tau_of(1.0)
    s = blowdown_solver(1.0)
    t = np.linspace(0, 5 * tau, 37)
    p = []
    for tk in t:
        s.advance(tk)
        p.append(s.pressure()[0])
    assert scaled_error(p, P0 * np.exp(-t / tau), 1e-4, 1e-6 * P0).max() < 1


def test_adiabatic_blowdown():
    tau0 = tau_of(0.6)
    t = np.linspace(0, 5 * tau0, 201)
    s = blowdown_solver(0.6, "adiabatic")
    out = s.sample(t)
    x = 1 + 0.2 * t / tau0
    assert scaled_error(out.pressure[:, 0], P0 * x ** -7, 1e-3, 1e-6 * P0).max() < 1
    assert s.temperature()[0] == pytest.approx(T0 * x[-1] ** -2, rel=1e-3)


@pytest.mark.parametrize("cd, mdot0, dpdt0, tau, t_iso, t_adi",
                         [(0.6, 14.305, 5.452, 8364.5, 61.25, 45.15), (1.0, 23.842, 9.086, 5018.7, 36.75, 27.09)])
def test_worked_numbers_through_solver(cd, mdot0, dpdt0, tau, t_iso, t_adi):
    s = blowdown_solver(cd)
    s.advance(1e-3)
    leaked = s.ledger.leaked_by_leak["hole"].sum()
    assert abs(leaked / 1e-3 * 1e3 - mdot0) <= 0.0005
    assert abs((P0 - s.pressure()[0]) / 1e-3 / 133.322 * 60 - dpdt0) <= 0.0005

    def p_at(t, thermo):
        sv = blowdown_solver(cd, thermo)
        sv.advance(t)
        return sv.pressure()[0] - 65300.0

    for thermo, expected in (("isothermal", t_iso), ("adiabatic", t_adi)):
        t_cross = brentq(p_at, 600, 6000, args=(thermo,), xtol=1e-3)
        assert abs(t_cross / 60 - expected) <= 0.005
    sv = blowdown_solver(cd)
    sv.advance(tau)
    assert sv.pressure()[0] / P0 == pytest.approx(np.exp(-1), abs=5e-6)  # tau to 0.05 s


def two_volume_reference(V, m_init, cda, t_eval):
    """Tight Radau integration of the same orifice equations per species."""
    V = np.asarray(V, float)

    def rhs(_, y):
        m = y.reshape(2, 3)
        M = m.sum(1)
        R = (m @ R_SPECIES) / M
        p = M * R * T0 / V
        up = 0 if p[0] >= p[1] else 1
        F = orifice_mass_flow(cda, p[up], p[1 - up], T0, R[up])
        flux = F * m[up] / M[up]
        d = np.zeros((2, 3))
        d[up] -= flux
        d[1 - up] += flux
        return d.ravel()

    sol = solve_ivp(rhs, (0, t_eval[-1]), m_init.ravel(), method="Radau", rtol=1e-10, atol=1e-14, t_eval=t_eval)
    m = sol.y.T.reshape(-1, 2, 3)
    return (m * R_SPECIES).sum(-1) * T0 / V


def test_two_volumes_valve_matches_scipy_and_equilibrium():
    V = [10.0, 2.0]
    m0 = np.vstack([air_masses(P0, [10.0]), masses_from_partial_pressures([[40e3, 0, 2e3]], [2.0], [T0])])
    net = make_network(V, [(0, 1)], valve_area=1e-4, valve_cd=0.6, valve_open=[True])
    s = ZonalSolver(net, m0)
    t = np.linspace(0, 400, 101)
    out = s.sample(t)
    ref = two_volume_reference(V, m0, 0.6e-4, t)
    assert scaled_error(out.pressure, ref, rtol=1e-3, atol=1.0).max() < 1
    s.advance(3600.0)
    p1, p2 = P0, 42e3
    p_eq = (p1 * V[0] + p2 * V[1]) / sum(V)
    assert scaled_error(s.pressure(), p_eq, rtol=1e-9, atol=0).max() < 1
    assert np.allclose(s.masses().sum(0), m0.sum(0), rtol=1e-13, atol=0)
    # flow went only from 0 to 1 (no diffusion is modelled): 0 keeps its composition
    m = s.masses()
    assert np.allclose(m[0] / m[0].sum(), m0[0] / m0[0].sum(), rtol=1e-9, atol=1e-12)
    assert m[0, 2] < 1e-12 * m[0].sum()  # only round-off reverse flow at equilibrium


def test_metabolic_hand_check():
    V = 9.3
    m0 = masses_from_partial_pressures([[79.6e3, 21.3e3, 0.4e3]], [V], [T0])
    s = ZonalSolver(make_network([V]), m0)
    s.set_source("crew", 0, 5 * np.array([0.0, -0.84, 1.0]) / 86400)
    out = s.sample(np.array([0.0, 3600.0]))
    d = (out.partial_pressure[1, 0] - out.partial_pressure[0, 0]) / 1e3  # kPa per hour
    assert d[1] == pytest.approx(-1.442, rel=5e-3)
    assert d[2] == pytest.approx(1.248, rel=5e-3)
    s2 = ZonalSolver(make_network([V]), m0)
    s2.set_source("crew", 0, 5 * np.array([0.0, -0.84, 1.0]) / 86400)
    s2.advance(28.8 * 60)
    assert s2.partial_pressures()[0, 2] == pytest.approx(1.0e3, rel=5e-3)
    s2.advance(3.67 * 3600)
    assert s2.partial_pressures()[0, 1] == pytest.approx(16.0e3, rel=5e-3)


def test_o2_consumption_stops_at_zero_and_ledger_records_only_real_use():
    V = 1.0
    m0 = masses_from_partial_pressures([[79e3, 1e3, 0.0]], [V], [T0])
    s = ZonalSolver(make_network([V]), m0)
    rate = 1e-5
    s.set_source("crew", 0, [0.0, -rate, rate])
    s.add_leak("l", 0, 1e-8)
    s.advance(10 * 86400.0)
    assert s.masses()[0, 1] == 0.0
    assert -s.ledger.sources[1] < rate * 10 * 86400  # consumption stopped
    assert np.abs(s.ledger.residual(s.masses().sum(0))).max() < 1e-12


def test_stiff_orifice_hatch_monotone_no_overshoot():
    V = [100.0, 1.0]
    m0 = air_masses([P0, 60e3], V)
    net = make_network(V, [(0, 1)], hatch_area=0.5, hatch_cd=0.6, hatch_open=[True])
    s = make_solver("zonal", net, m0, SolverOptions(hatch_model="orifice"))
    assert len(s.zones()) == 2
    out = s.sample(np.arange(0.0, 61.0))
    p_eq = (P0 * 100 + 60e3) / 101
    big, small = out.pressure[:, 0], out.pressure[:, 1]
    assert np.all(np.diff(small) >= -1e-9) and np.all(np.diff(big) <= 1e-9)
    assert small.max() <= p_eq * (1 + 1e-12) and big.min() >= p_eq * (1 - 1e-12)
    assert scaled_error(out.pressure[-1], p_eq, 1e-9, 0).max() < 1
    assert np.allclose(s.masses().sum(0), m0.sum(0), rtol=1e-13, atol=0)


def test_merge_mode_equalizes_instantly_and_conserves():
    V = [100.0, 1.0]
    m0 = air_masses([P0, 60e3], V)
    s = ZonalSolver(make_network(V, [(0, 1)]), m0)
    assert len(s.zones()) == 2
    s.set_hatch_open(0, True)
    assert len(s.zones()) == 1
    p_eq = (P0 * 100 + 60e3) / 101
    assert np.allclose(s.pressure(), p_eq, rtol=1e-14)
    assert np.allclose(s.masses().sum(0), m0.sum(0), rtol=1e-14, atol=0)
    s.advance(10.0)
    s.set_hatch_open(0, False)  # split: each keeps its share at the common state
    assert np.allclose(s.pressure(), p_eq, rtol=1e-14)
    assert np.allclose(s.masses().sum(0), m0.sum(0), rtol=1e-14, atol=0)


def test_closed_network_24h_conserves_species():
    V = [75.0, 5.0, 71.5, 14.8, 57.8, 9.3]
    edges = [(0, 1), (0, 2), (2, 3), (2, 4), (4, 5)]
    pp = np.array([[79e3, 21e3, 400.0], [70e3, 21e3, 900.0], [79e3, 20e3, 300.0],
                   [60e3, 15e3, 100.0], [79e3, 21e3, 400.0], [50e3, 20e3, 0.0]])
    m0 = masses_from_partial_pressures(pp, V, np.full(6, T0))
    net = make_network(V, edges, valve_area=1e-4, hatch_open=[True, False, False, True, False],
                       valve_open=[False, True, True, False, True])
    s = ZonalSolver(net, m0)
    crew = np.array([0.0, -0.84, 1.0]) / 86400 * 3
    s.set_source("crew", 0, crew)
    s.set_source("eclss", 1, -crew)  # same zone as the crew: hatch 0 stays open
    for t_toggle, edge in [(3600.0, 1), (7200.0, 2), (20000.0, 1), (50000.0, 4), (60000.0, 3)]:
        s.advance(t_toggle)
        s.set_hatch_open(edge, not s._hatch_open[edge])
    s.sample(np.arange(60000.0, 86400.0 + 1, 600.0))
    rel = np.abs(s.masses().sum(0) - m0.sum(0)) / m0.sum(0)
    assert rel.max() < 1e-12
    assert np.abs(s.ledger.residual(s.masses().sum(0))).max() < 1e-12


def test_supply_exhaustion_at_exact_instant():
    V = 10.0
    m0 = air_masses(70e3, [V])
    s = ZonalSolver(make_network([V]), m0)
    s.add_leak("slow", 0, 1e-7)
    s.add_supply("o2tank", [0.0, 3.0, 0.0])
    s.advance(100.0)
    s.set_supply_flow("o2tank", 0, 1e-3)
    s.advance(5000.0)
    assert s.supply_exhausted_at("o2tank") == 100.0 + 3.0 / 1e-3
    assert np.array_equal(s.supply_remaining("o2tank"), np.zeros(3))
    assert s.ledger.supplied[1] == pytest.approx(3.0, rel=1e-14)
    assert s.events == [(3100.0, "supply_exhausted", "o2tank")]
    assert np.abs(s.ledger.residual(s.masses().sum(0))).max() < 1e-12


def test_supply_split_in_reserve_proportions():
    s = ZonalSolver(make_network([10.0]), air_masses(70e3, [10.0]))
    s.add_supply("air", [3.0, 1.0, 0.0])
    s.set_supply_flow("air", 0, 4e-3)
    s.advance(500.0)
    assert np.allclose(s.supply_remaining("air"), [1.5, 0.5, 0.0], rtol=1e-12)


def test_scrubber_removes_co2_exponentially():
    V = 10.0
    m0 = masses_from_partial_pressures([[79e3, 21e3, 1000.0]], [V], [T0])
    s = ZonalSolver(make_network([V]), m0)
    s.set_scrubber("cdra", 0, 0.01)
    s.advance(1000.0)
    assert s.partial_pressures()[0, 2] == pytest.approx(1000.0 * np.exp(-0.01 * 1000 / V), rel=1e-12)
    assert s.ledger.scrubbed[2] == pytest.approx(m0[0, 2] * (1 - np.exp(-1.0)), rel=1e-12)


def test_vacuum_compartment_is_finite():
    V = [1.0, 50.0]
    s = ZonalSolver(make_network(V, [(0, 1)], valve_area=1e-3, valve_open=[True]), air_masses([P0, P0], V))
    s.add_leak("big", 0, 0.5)
    s.set_valve_open(0, False)
    s.advance(600.0)
    assert s.pressure()[0] >= 0 and np.isfinite(s.pressure()).all()
    s.set_leak_cda("big", 0.0)
    s.set_valve_open(0, True)
    s.advance(1200.0)
    assert np.all(np.isfinite(s.pressure())) and s.pressure()[0] > 0


def test_errors_are_clear():
    s = ZonalSolver(make_network([1.0]), air_masses(P0, [1.0]))
    with pytest.raises(ValueError, match="unknown leak 'x'"):
        s.set_leak_cda("x", 1.0)
    with pytest.raises(ValueError, match="unknown atmosphere solver 'nope'"):
        make_solver("nope", make_network([1.0]), air_masses(P0, [1.0]))
    with pytest.raises(ValueError, match=r"GasNetwork.volume\[0\]"):
        make_network([-1.0])
    s.advance(5.0)
    with pytest.raises(ValueError, match="must be finite and >= current time"):
        s.advance(1.0)
