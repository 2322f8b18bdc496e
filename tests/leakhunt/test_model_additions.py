"""Hatch seal leakage, cabin temperature disturbances and gauges, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.api import load
from sim.atmosphere import GAMMA, choked_mass_flux, mixture_gas_constant
from sim.engine import simulate
from sim.errors import InputError

MMHG = 133.322
STATION = """\
name: Two
temperature: 295 K
compartments:
  big: {volume: 1.0e6 m^3}
  small: {volume: 5 m^3}
hatches:
  big-small: {between: [big, small], open: false, SEAL}
gauges:
  p-small: {at: small, resolution: 0.1 mmHg, every: 60 s}
  n2-small: {at: small, reads: N2, every: 120 s, report_on_change: false}
"""


def _scenario(write_yaml, seal="seal: 0.02 mm^2", body=""):
    write_yaml("st.yaml", STATION.replace("SEAL", seal))
    return write_yaml("sc.yaml", f"""\
name: t
station: st.yaml
duration: 2 h
output: {{every: 60 s}}
{body}""")


def _held_mid(t, every, duration=7200.0):
    """The middle of the update step in force at *t*.

    A sample at an update instant is taken before the update (as before any change at that
    instant), except at t = 0 where the first value is applied before anything is sampled.
    """
    step = np.clip(np.ceil(t / every) - 1, 0, math.ceil(duration / every) - 1)
    return step * every + 0.5 * every


def test_seal_passes_a_choked_flow_into_a_small_compartment_at_vacuum(write_yaml):
    # the small side starts at vacuum: the flow is choked, the big side (1e6 m^3) holds its pressure,
    # so the small side's mass grows linearly at cda * choked flux
    path = _scenario(write_yaml, body="initial: {}\n")
    text = path.read_text().replace("station: st.yaml", "station: st.yaml")
    st = path.parent / "st.yaml"
    st.write_text(st.read_text().replace("small: {volume: 5 m^3}", "small: {volume: 5 m^3, atmosphere: {N2: 0, O2: 0, CO2: 0}}"))
    path.write_text(text)
    result = simulate(load(path))
    i = result.series.names.index("small")
    p_big = 101_300.0
    y = np.array([79_600.0, 21_300.0, 400.0]) / np.array([296.8, 259.8, 188.9])  # ~mass fractions
    R = float(mixture_gas_constant(y / y.sum()))
    mdot = 0.02e-6 * float(choked_mass_flux(p_big, 295.0, R, GAMMA))
    t = result.series.t
    early = t <= 1800  # p_small < 0.5 p_big: choked all along
    p_expected = mdot * t[early] * R * 295.0 / 5.0
    err = np.abs(result.series.p[early, i] - p_expected) / (1.0 + 1e-4 * p_expected)
    assert err.max() < 1
    assert result.series.p[-1, i] > 0


def test_seal_rate_is_the_flow_from_the_station_atmosphere_to_vacuum(write_yaml):
    from sim.scenario.load import load_station
    from sim.station import seal_cda

    st = write_yaml("st.yaml", STATION.replace("SEAL", "seal_rate: 0.5 lb/day"))
    station = load_station(st)
    cda = seal_cda(station, station.hatches["big-small"])
    a = station.atmosphere
    pp = np.array([a.N2, a.O2, a.CO2])
    w = pp / np.array([8.314462618 / 28.0134e-3, 8.314462618 / 31.9988e-3, 8.314462618 / 44.0095e-3])
    R = float(mixture_gas_constant(w / w.sum()))
    mdot = cda * float(choked_mass_flux(pp.sum(), 295.0, R, GAMMA))
    assert mdot == pytest.approx(0.5 * 0.45359237 / 86400, rel=1e-9)


def test_a_tight_hatch_passes_nothing_and_an_open_hatch_ignores_its_seal(write_yaml):
    path = _scenario(write_yaml, seal="seal: 1 mm^2", body="events: [{at: 30 min, hatch: big-small, state: open}]\n")
    st = path.parent / "st.yaml"
    st.write_text(st.read_text().replace("small: {volume: 5 m^3}", "small: {volume: 5 m^3, atmosphere: {N2: 70 kPa, O2: 20 kPa}}"))
    result = simulate(load(path))
    i = result.series.names.index("small")
    p = result.series.p[:, i]
    assert p[30] > p[0] + 100  # the seal let gas in while the hatch was closed
    # open: one zone at the volume-weighted pressure (mass conserved), the seal plays no part
    assert np.ptp(p[31:]) < 1e-6 * p[31]


def test_seal_and_seal_rate_together_are_refused(write_yaml):
    path = _scenario(write_yaml, seal="seal: 1 mm^2, seal_rate: 1 lb/day")
    with pytest.raises(InputError, match=r"st.yaml:\d+: hatches.big-small: .*'seal' .* or 'seal_rate'"):
        load(path)


def test_temperature_sine_moves_a_closed_compartment_in_proportion_to_T(write_yaml):
    body = "cabin_temperature:\n  every: 10 min\n  of:\n    small: {amplitude: 1.5 K, period: 2 h, phase: 20 min}\n"
    path = _scenario(write_yaml, seal="seal: 0 m^2", body=body)
    result = simulate(load(path))
    i = result.series.names.index("small")
    t = result.series.t
    # held over each 10-min step, taken at the step's middle
    step_mid = _held_mid(t, 600.0)
    T = 295.0 + 1.5 * np.cos(2 * np.pi * (step_mid - 1200.0) / 7200.0)
    expected = 101_300.0 * T / 295.0
    assert np.abs(result.series.p[:, i] / expected - 1).max() < 1e-12
    big = result.series.names.index("big")
    assert np.ptp(result.series.p[:, big]) < 1e-6  # no disturbance named for it
    csv = result.extra["files"]["temperature.csv"].splitlines()
    assert csv[0] == "t_s,big.T_K,small.T_K" and len(csv) == 1 + 12


def test_temperature_table_and_station_default(write_yaml):
    body = ("cabin_temperature:\n  every: 1 min\n  of:\n    station: {table: [[0 s, 295 K], [1 h, 297 K]]}\n"
            "    big: {amplitude: 0 K}\n")
    path = _scenario(write_yaml, seal="seal: 0 m^2", body=body)
    result = simulate(load(path))
    i = result.series.names.index("small")
    t = result.series.t
    mid = _held_mid(t, 60.0)
    T = np.interp(mid, [0.0, 3600.0], [295.0, 297.0])
    assert np.abs(result.series.p[:, i] / (101_300.0 * T / 295.0) - 1).max() < 1e-12


def test_a_leak_under_a_temperature_swing_keeps_its_mass_balance(write_yaml):
    # p = m R T / V with m = m0 exp(-k t): dividing out T leaves the pure exponential
    body = ("leaks: [{id: h, at: small, area: 0.5 mm^2}]\n"
            "cabin_temperature:\n  every: 1 min\n  of:\n    small: {amplitude: 1 K, period: 1 h}\n")
    path = _scenario(write_yaml, seal="seal: 0 m^2", body=body)
    result = simulate(load(path))
    i = result.series.names.index("small")
    t = result.series.t[1:]
    mid = _held_mid(t, 60.0)
    T = 295.0 + np.cos(2 * np.pi * mid / 3600.0)
    m_rel = result.series.p[1:, i] * 295.0 / T / 101_300.0
    slope = np.polyfit(t, np.log(m_rel), 1)[0]
    R = float(mixture_gas_constant(np.array([0.7553, 0.2313, 0.0134])))
    k0 = 0.6 * 0.5e-6 * float(choked_mass_flux(1.0, 295.0, R, GAMMA)) * R * 295.0 / 5.0
    # the leak rate goes as sqrt(T): within 0.2 % of its value at the mean temperature
    assert slope == pytest.approx(-k0, rel=2e-3)


def test_gauges_quantize_report_on_change_and_sit_beside_the_truth(write_yaml):
    path = _scenario(write_yaml, seal="seal: 0 m^2", body="leaks: [{id: h, at: small, area: 0.05 mm^2}]\n")
    result = simulate(load(path))
    logs = {g.gauge: g for g in result.extra["gauges"]}
    p = logs["p-small"]
    q = 0.1 * MMHG
    assert np.allclose(p.reading / q, np.round(p.reading / q), atol=1e-9)
    assert np.all(np.abs(p.reading - p.truth) <= q / 2 + 1e-9)
    assert np.all(p.reading[1:] != p.reading[:-1])
    assert len(p.t) < len(result.series.t)
    n2 = logs["n2-small"]
    assert np.allclose(np.diff(n2.t), 120.0) and np.array_equal(n2.reading, n2.truth)
    i = result.series.names.index("small")
    assert np.allclose(n2.truth, result.series.pp[::2, i, 0])
    lines = result.extra["files"]["gauges.csv"].splitlines()
    assert lines[0] == "gauge,at,reads,t_s,reading_Pa,truth_Pa" and len(lines) == 1 + len(p.t) + len(n2.t)


def test_gauge_noise_is_seeded_and_does_not_shift_other_draws(write_yaml):
    path = _scenario(write_yaml, seal="seal: 0 m^2", body="leaks: [{id: h, at: small, area: 0.05 mm^2}]\n")
    st = path.parent / "st.yaml"
    st.write_text(st.read_text().replace("every: 60 s}", "every: 60 s, noise: 0.05 mmHg}"))
    a, b = simulate(load(path)), simulate(load(path))
    assert a.extra["files"]["gauges.csv"] == b.extra["files"]["gauges.csv"]
    assert list(a.events.lines()) == list(b.events.lines())
    c = simulate(load(path), seed=7)
    assert c.extra["files"]["gauges.csv"] != a.extra["files"]["gauges.csv"]


@pytest.mark.parametrize(("edit", "message"), [
    ("every: 60 s}", r"sc.yaml:\d+: output.every: gauge 'p-small' samples every 90 s"),
    ("at: small, res", r"st.yaml:\d+: gauges.p-small.at: unknown compartment 'smal'"),
])
def test_bad_gauges_are_located(write_yaml, edit, message):
    path = _scenario(write_yaml, seal="seal: 0 m^2")
    st = path.parent / "st.yaml"
    text = st.read_text()
    text = text.replace("every: 60 s}", "every: 90 s}") if edit.startswith("every") else text.replace("at: small, res", "at: smal, res")
    st.write_text(text)
    with pytest.raises(InputError, match=message):
        load(path)


def test_unknown_temperature_compartment_is_located(write_yaml):
    path = _scenario(write_yaml, seal="seal: 0 m^2", body="cabin_temperature:\n  of:\n    smal: {amplitude: 1 K}\n")
    with pytest.raises(InputError, match=r"sc.yaml:\d+: cabin_temperature.of.smal: unknown compartment 'smal' \(did you mean 'small'\?\)"):
        load(path)


def test_set_temperatures_in_a_merged_zone_keeps_mass_and_sets_p_from_V_over_T():
    from sim.atmosphere import GasNetwork, ZonalSolver, masses_from_partial_pressures

    net = GasNetwork(("a", "b"), np.array([10.0, 30.0]), np.array([295.0, 295.0]), ("a-b",), [0], [1],
                     [0.5], [0.6], [0.0], [0.6], hatch_open=[True])
    m0 = masses_from_partial_pressures([[79e3, 21e3, 0.0]] * 2, [10.0, 30.0], [295.0, 295.0])
    s = ZonalSolver(net, m0)
    s.advance(100.0)
    s.set_temperatures([305.0, 290.0])
    assert s.masses().sum() == pytest.approx(m0.sum(), rel=1e-14)
    R = (s.masses().sum(0) @ np.array([8.314462618 / 28.0134e-3, 8.314462618 / 31.9988e-3, 8.314462618 / 44.0095e-3]))
    assert s.pressure()[0] == pytest.approx(R / (10 / 305 + 30 / 290), rel=1e-12)
    assert s.pressure()[0] == pytest.approx(s.pressure()[1], rel=1e-14)
    s.advance(200.0)
    assert s.ledger.leaked.sum() == 0
    with pytest.raises(ValueError, match="set_temperatures"):
        s.set_temperatures([300.0, -1.0])
