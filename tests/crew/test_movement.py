"""Crew-movement verification cases M1-M9.

After IMO MSC.1/Circ.1533, NIST TN 1822 and station practice. Each case runs its own small station
and scenario from ``tests/data/movement/mN/`` through :func:`sim.load` and
:func:`sim.engine.simulate`, and reads what happened from the event log and the summary.
Tolerances are stated per test; times are in seconds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from movement_helpers import (
    arrival,
    assert_never_passed_closed,
    events_of,
    load_case,
    run_case,
)
from scipy import stats

from sim.engine import simulate

EXACT = 1e-9
"""Tolerance of sums of exact binary fractions [s]."""


# -- M1 straight transit ---------------------------------------------------------------------
def test_m1_arrival_is_the_sum_of_pass_and_traverse_times():
    loaded = load_case("m1/scenario.yaml")
    st = loaded.station
    result = simulate(loaded)
    path = [("a-b", "b"), ("b-c", "c"), ("c-d", "d")]
    expected, t = 0.0, 0.0
    for hatch, entered in path:
        t += st.hatches[hatch].pass_time
        move = events_of(result, "move", crew="w", to=entered)
        assert len(move) == 1 and move[0]["via"] == hatch
        assert abs(move[0]["t"] - t) <= EXACT, f"entered {entered} at {move[0]['t']}, expected {t}"
        t += st.compartments[entered].traverse
    expected = t
    assert expected == 3.5 + 7.25 + 6 + 30 + 2.25 + 4.5
    assert abs(arrival(result, "w") - expected) <= EXACT
    assert result.summary["crew"]["w"]["location"] == "d"


def test_m1_speed_divides_every_time():
    result = run_case("m1/scenario.yaml", ("crew.w.speed=2",))
    assert abs(arrival(result, "w") - 53.5 / 2) <= EXACT


# -- M2 hatch throughput ---------------------------------------------------------------------
def _max_in_hatch(result, hatch: str, pass_time: float) -> int:
    """Most people inside *hatch* at once, from the pass intervals (t_move - pass_time, t_move).

    The intervals are shrunk by 1e-6 s at each end: event times keep 9 significant digits.
    """
    edges = []
    for e in events_of(result, "move", via=hatch):
        edges += [(e["t"] - pass_time + 1e-6, +1), (e["t"] - 1e-6, -1)]
    inside = most = 0
    for _, step in sorted(edges, key=lambda x: (x[0], x[1])):  # leaving before entering at a tie
        inside += step
        most = max(most, inside)
    return most


@pytest.mark.parametrize("capacity", [1, 2])
def test_m2_hatch_throughput_never_exceeds_its_capacity(capacity):
    loaded = load_case("m2/scenario.yaml", (f"station.hatches.bay-exit.capacity={capacity}",))
    result = simulate(loaded)
    n = len(loaded.scenario.crew)
    pass_time = loaded.station.hatches["bay-exit"].pass_time
    assert len(events_of(result, "move", via="bay-exit")) == n
    assert _max_in_hatch(result, "bay-exit", pass_time) == capacity
    last = max(arrival(result, c.id) for c in loaded.scenario.crew)
    assert last >= n * pass_time / capacity
    if capacity == 1:
        assert last >= n * pass_time
        # people go through back to back: the k-th is through at k x pass_time, exactly
        through = sorted(e["t"] for e in events_of(result, "move", via="bay-exit"))
        assert np.allclose(through, pass_time * np.arange(1, n + 1), rtol=0, atol=EXACT)


# -- M3 staggered response -------------------------------------------------------------------
def test_m3_each_member_starts_at_their_own_delay():
    loaded = load_case("m3/five.yaml")
    start = loaded.scenario.run[0].at
    pass_time = loaded.station.hatches["a-b"].pass_time
    result = simulate(loaded)
    delays = {}
    for e in events_of(result, "respond"):
        delays[e["crew"]] = e["delay_s"]
        # the event log keeps 9 significant digits
        assert abs(e["t"] - (start + e["delay_s"])) <= 1e-6
        (task,) = events_of(result, "task_start", crew=e["crew"])
        assert task["t"] == e["t"], "the task starts when the member has responded"
        first_move = events_of(result, "move", crew=e["crew"])[0]
        assert first_move["t"] >= start + e["delay_s"] + pass_time - 1e-6  # queued behind others, maybe
    assert sorted(delays) == [c.id for c in loaded.scenario.crew]
    assert len(set(delays.values())) == 5, "each member draws their own delay"
    assert all(10 <= d <= 70 for d in delays.values())


def test_m3_response_delays_follow_the_stated_distribution():
    """KS test at alpha = 0.05 of 200 single-member runs (seeds 0..199) against lognormal(30 s, 0.5)."""
    loaded = load_case("m3/scenario.yaml")
    delays = []
    for seed in range(200):
        result = simulate(loaded, seed)
        (respond,) = events_of(result, "respond")
        delays.append(respond["delay_s"])
    law = stats.lognorm(s=0.5, scale=30.0)
    assert stats.kstest(delays, law.cdf).pvalue > 0.05
    # and it is not merely any distribution: a median of 45 s is rejected
    assert stats.kstest(delays, stats.lognorm(s=0.5, scale=45.0).cdf).pvalue < 0.05


def test_m3_uniform_delays_pass_a_ks_test():
    loaded = load_case("m3/five.yaml")
    delays = [e["delay_s"] for seed in range(40) for e in events_of(simulate(loaded, seed), "respond")]
    assert len(delays) == 200
    assert stats.kstest(delays, stats.uniform(loc=10, scale=60).cdf).pvalue > 0.05


# -- M4 assigned shelter ---------------------------------------------------------------------
def test_m4_everyone_reaches_their_own_vehicle():
    loaded = load_case("m4/scenario.yaml")
    result = simulate(loaded)
    assigned = {c.id: c.vehicle for c in loaded.scenario.crew}
    crew = result.summary["crew"]
    reached = [cid for cid, vehicle in assigned.items() if crew[cid]["location"] == vehicle]
    assert len(reached) == len(assigned), f"only {reached} reached their vehicle"
    entered = {e["crew"]: e["vehicle"] for e in events_of(result, "in_shelter")}
    assert entered == assigned
    # nobody ever set foot in the other crew's vehicle
    for e in events_of(result, "move"):
        if e["to"] in ("soyuz", "dragon"):
            assert e["to"] == assigned[e["crew"]]
    closed = {e["hatch"] for e in events_of(result, "hatch", state="closed")}
    assert closed == {"node-a-soyuz", "node-b-dragon"}
    assert result.summary["outcome"] == "sheltering"


# -- M5 closed hatch -------------------------------------------------------------------------
def test_m5_reroutes_around_a_closed_hatch():
    loaded = load_case("m5/reroute.yaml")
    result = simulate(loaded)
    path = [e["via"] for e in events_of(result, "move", crew="m")]
    assert path == ["s-b", "b-c", "c-t"]
    assert abs(arrival(result, "m") - 31.0) <= EXACT  # the long way: 3 x 2 s + 10 + 10 + 5
    assert not events_of(result, "trapped")
    assert_never_passed_closed(result, loaded)


def test_m5_replans_when_a_hatch_closes_on_the_way():
    loaded = load_case("m5/closes-en-route.yaml")
    result = simulate(loaded)
    assert result.summary["crew"]["m"]["location"] == "t"
    path = [e["via"] for e in events_of(result, "move", crew="m")]
    assert path == ["s-a", "s-a", "s-b", "b-c", "c-t"]  # back from a, then the long way
    assert_never_passed_closed(result, loaded)


def test_m5_waits_when_trapped_and_goes_when_a_hatch_opens():
    loaded = load_case("m5/trapped.yaml")
    result = simulate(loaded)
    trapped = events_of(result, "trapped")
    assert len(trapped) == 1, "reported once"
    assert trapped[0]["t"] == 0.0 and trapped[0]["crew"] == "m" and trapped[0]["at"] == "s"
    assert all(e["t"] >= 100.0 for e in events_of(result, "move"))
    assert abs(arrival(result, "m") - (100.0 + 31.0)) <= EXACT
    assert_never_passed_closed(result, loaded)


def test_m5_gives_up_when_trapped_if_told_to():
    loaded = load_case("m5/trapped.yaml", ("run.0.procedure=procedure-give-up.yaml",))
    result = simulate(loaded)
    failed = events_of(result, "task_failed", crew="m")
    assert len(failed) == 1 and failed[0]["t"] == 0.0 and "no open path" in failed[0]["reason"]
    assert not events_of(result, "move")
    assert result.summary["crew"]["m"]["location"] == "s"


# -- M6 counterflow --------------------------------------------------------------------------
def _opposing(k: int) -> str:
    members = ", ".join(
        f"{{id: w{i}, roles: [westbound], at: east, response: {{dist: uniform, low: 0 s, high: 40 s}}}}"
        for i in range(1, k + 1))
    eastbound = ", ".join(
        f"{{id: e{i}, roles: [eastbound], at: west, response: {{dist: uniform, low: 0 s, high: 40 s}}}}"
        for i in range(1, 4))
    return f"crew=[{eastbound}{', ' if k else ''}{members}]"


def test_m6_counterflow_slows_the_group_monotonically():
    """Mean completion time of the 3 eastbound over 20 seeds rises with the westbound group's size."""
    means = []
    for k in (0, 1, 2, 4, 8):
        overrides = (_opposing(k),) if k else (_opposing(0), "run.0.procedure=procedure-alone.yaml")
        loaded = load_case("m6/scenario.yaml", overrides)
        times = []
        for seed in range(20):
            result = simulate(loaded, seed)
            times.append(max(arrival(result, f"e{i}") for i in range(1, 4)))
            assert_never_passed_closed(result, loaded)
            if k:
                assert _max_in_hatch(result, "west-east", 10.0) == 1
        means.append(float(np.mean(times)))
    assert all(b > a for a, b in itertools.pairwise(means)), means


# -- M7 two exits vs one ---------------------------------------------------------------------
def test_m7_one_route_takes_1_6_to_2_4_times_as_long_as_two():
    two = simulate(load_case("m7/scenario.yaml"))
    one_loaded = load_case("m7/scenario.yaml", ("initial.hatches={work-right: closed}",))
    one = simulate(one_loaded)
    crew = [f"c{i:02d}" for i in range(1, 13)]
    t_two = max(arrival(two, c) for c in crew)
    t_one = max(arrival(one, c) for c in crew)
    used = {e["via"] for e in events_of(two, "move")}
    assert {"work-left", "work-right"} <= used, "the crowd spreads over both routes"
    assert "work-right" not in {e["via"] for e in events_of(one, "move")}
    assert 1.6 <= t_one / t_two <= 2.4, (t_one, t_two)
    assert all(two.summary["crew"][c]["location"] == "safe" for c in crew)


# -- M8 incapacitation -----------------------------------------------------------------------
def _blowdown_tau(loaded) -> float:
    """Isothermal time constant tau = V / (Cd A c*) of the M8 cabin [s] (isentropic choked orifice)."""
    st = loaded.station
    gamma = 1.4
    molar = {"N2": 28.0134e-3, "O2": 31.9988e-3, "CO2": 44.0095e-3}
    r_s = {k: 8.314462618 / m for k, m in molar.items()}
    pp = {k: getattr(st.atmosphere, k) for k in molar}
    density = {k: pp[k] / (r_s[k] * st.temperature) for k in molar}
    r_mix = sum(density[k] * r_s[k] for k in molar) / sum(density.values())
    k_choke = (2 / (gamma + 1)) ** ((gamma + 1) / (2 * (gamma - 1)))
    c_star = math.sqrt(gamma * r_mix * st.temperature) * k_choke
    leak = loaded.scenario.leaks[0]
    return st.compartments["cabin"].volume / (leak.cd * leak.area * c_star)


def _crossing(p0: float, level: float, tau: float) -> float:
    """When p0 exp(-t/tau) reaches *level* [s]."""
    return tau * math.log(p0 / level)


def _status_times(result, crew="x") -> dict[str, float]:
    return {e["status"]: e["t"] for e in events_of(result, "status", crew=crew)}


@pytest.mark.parametrize("overrides", [(), ("leaks.hole.area=20.98366 cm^2",)],
                         ids=["20cm2", "crossing-just-after-a-poll"])
def test_m8_total_pressure_incapacitates_within_one_poll(overrides):
    loaded = load_case("m8/fast.yaml", overrides)
    ph, st = loaded.scenario.physiology, loaded.station
    tau = _blowdown_tau(loaded)
    p0, o0 = st.atmosphere.N2 + st.atmosphere.O2, st.atmosphere.O2
    t_incap = min(_crossing(p0, ph.p_incapacitated, tau) + ph.vacuum_after,
                  _crossing(o0, ph.ppO2_incapacitated, tau) + ph.incapacitated_after)
    assert t_incap == pytest.approx(_crossing(p0, ph.p_incapacitated, tau) + ph.vacuum_after)
    t_impair = _crossing(o0, ph.ppO2_impaired, tau) + ph.impaired_after
    result = simulate(loaded)
    status = _status_times(result)
    poll = st.alarms.poll
    assert abs(status["incapacitated"] - t_incap) <= poll, (status, t_incap)
    assert abs(status["impaired"] - t_impair) <= poll, (status, t_impair)
    assert result.summary["crew"]["x"]["worst_status"] == "incapacitated"
    assert result.summary["outcome"] == "crew_incapacitated"


def test_m8_low_ppO2_impairs_then_incapacitates_within_one_poll():
    loaded = load_case("m8/slow.yaml")
    ph, st = loaded.scenario.physiology, loaded.station
    tau = _blowdown_tau(loaded)
    o0 = st.atmosphere.O2
    t_impair = _crossing(o0, ph.ppO2_impaired, tau) + ph.impaired_after
    t_incap = _crossing(o0, ph.ppO2_incapacitated, tau) + ph.incapacitated_after
    assert t_incap < _crossing(st.atmosphere.N2 + o0, ph.p_incapacitated, tau) + ph.vacuum_after
    result = simulate(loaded)
    status = _status_times(result)
    poll = st.alarms.poll
    assert abs(status["impaired"] - t_impair) <= poll, (status, t_impair)
    assert abs(status["incapacitated"] - t_incap) <= poll, (status, t_incap)
    # the worst exposure in the summary is at most what the cabin held at the last poll
    assert result.summary["crew"]["x"]["min_ppO2_Pa"] < ph.ppO2_incapacitated


# -- M9 hatch against pressure ---------------------------------------------------------------
def test_m9_hatch_is_blocked_while_the_valve_is_closed():
    loaded = load_case("m9/valve-closed.yaml")
    result = simulate(loaded)
    (blocked,) = events_of(result, "hatch_blocked")
    assert blocked["hatch"] == "cabin-tunnel" and blocked["valve"] == "closed"
    assert blocked["dp_Pa"] > blocked["limit_Pa"] == 500.0
    assert not events_of(result, "hatch"), "the hatch never opens"
    assert result.series.p[-1, 0] - result.series.p[-1, 1] > 40e3


def test_m9_hatch_opens_only_once_the_valve_has_equalized_the_sides():
    loaded = load_case("m9/valve-open.yaml")
    hatch = loaded.station.hatches["cabin-tunnel"]
    result = simulate(loaded)
    (valve,) = events_of(result, "valve", state="open")
    (blocked,) = events_of(result, "hatch_blocked")
    assert blocked["valve"] == "open" and blocked["t"] == valve["t"]
    (opened,) = events_of(result, "hatch", state="open")
    t_ok = opened["t"] - hatch.open_time  # when the crew member could start opening it
    t, p = result.series.t, result.series.p
    dp = np.abs(p[:, 0] - p[:, 1])
    k = int(np.flatnonzero(np.isclose(t, t_ok))[0])
    assert dp[k] <= hatch.max_open_dp
    assert np.all(dp[t < t_ok - 1e-9] > hatch.max_open_dp), "not a poll earlier"
