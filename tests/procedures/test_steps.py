"""Every step kind of the procedure language, run on the small test station.

Times are in seconds; the station is ``tests/data/procedures/station.yaml`` (hab -- node -- lab,
a capsule docked at the node). Event times keep 9 significant digits, so exact sums of the
station's whole-second times compare to 1e-9 s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from proc_helpers import events_of, load_procedure, one, run_procedure
from scipy import stats

from sim.engine import simulate

EXACT = 1e-9

LAB_LEAK = """\
leaks:
  - {id: crack, at: lab, area: 1 cm^2, cd: 0.6}
initial:
  hatches: {node-lab: closed}
"""
"""A 1 cm^2 hole in the lab, its hatch closed: the lab alone blows down (tau = 20/(0.6e-4 c*))."""


def test_move_to_a_compartment_to_post_and_to_vehicle(tmp_path):
    result = run_procedure(tmp_path, "move.yaml")
    # hab -> node (5 + 10) -> lab (5 + 10): 30 s
    first = next(iter(events_of(result, "task_end", crew="alice")))
    assert abs(first["t"] - 30.0) <= EXACT
    # and back to hab, where she started: 30 s + (5 + 10) + (5 + 20)
    assert abs(events_of(result, "task_end", crew="alice")[1]["t"] - 70.0) <= EXACT
    assert result.summary["crew"]["alice"]["location"] == "hab"
    assert result.summary["crew"]["bob"]["location"] == "capsule"  # to: vehicle


def test_close_and_open_hatch_and_valve_take_their_times(tmp_path):
    result = run_procedure(tmp_path, "hatches.yaml")
    closed = one(result, "hatch", state="closed")
    assert closed["by"] == "bob" and abs(closed["t"] - 30.0) <= EXACT  # bob is in the node already
    v_open, v_closed = one(result, "valve", state="open"), one(result, "valve", state="closed")
    assert abs(v_open["t"] - 40.0) <= EXACT and abs(v_closed["t"] - 50.0) <= EXACT
    opened = one(result, "hatch", state="open")
    assert abs(opened["t"] - 80.0) <= EXACT  # equal pressures: nothing blocks it
    assert not events_of(result, "hatch_blocked")


def test_close_hatch_walks_to_the_requested_side_first(tmp_path):
    proc = """\
    name: close from the far side
    roles: [ops]
    phases:
      close:
        - {do: close_hatch, hatch: node-lab, by: alice, side: lab}
    """
    result = run_procedure(tmp_path, proc)
    closed = one(result, "hatch", state="closed")
    assert abs(closed["t"] - (30.0 + 30.0)) <= EXACT  # walk hab -> lab (30 s), close (30 s)
    assert result.summary["crew"]["alice"]["location"] == "lab"


def test_shelter_enters_the_vehicle_closes_it_and_resume_reopens(tmp_path):
    result = run_procedure(tmp_path, "shelter.yaml")
    sheltered = one(result, "sheltered")
    assert sheltered["vehicle"] == "capsule" and sheltered["hatch"] == "closed"
    assert sorted(sheltered["crew"]) == ["alice", "bob"]
    closed = one(result, "hatch", hatch="node-capsule", state="closed")
    assert closed["t"] == sheltered["t"]
    crew = result.summary["crew"]
    # sheltered when through the hatch: bob node -> capsule 5 s; alice hab -> node -> capsule 5 + 10 + 5 s
    assert crew["bob"]["sheltered_s"] == 5.0 and crew["alice"]["sheltered_s"] == 20.0
    assert crew["alice"]["location"] == "hab" and crew["bob"]["location"] == "node"
    assert result.summary["outcome"] == "resumed"


def test_shelter_without_close_leaves_the_hatch_open(tmp_path):
    proc = """\
    name: shelter, hatch open
    phases:
      shelter:
        - {do: shelter, who: all, in: capsule, close: false}
    """
    result = run_procedure(tmp_path, proc)
    assert one(result, "sheltered")["hatch"] == "open"
    assert not events_of(result, "hatch")
    # in a shelter but not closed in: not "sheltering"
    assert result.summary["outcome"] == "resumed"


# -- repair ---------------------------------------------------------------------------------
DISTRIBUTIONS = {
    "fixed": ("{dist: fixed, value: 10 min}", None),
    "uniform": ("{dist: uniform, low: 5 min, high: 15 min}", stats.uniform(loc=300, scale=600)),
    "triangular": ("{dist: triangular, low: 5 min, mode: 8 min, high: 15 min}",
                   stats.triang(c=(480 - 300) / 600, loc=300, scale=600)),
    "normal": ("{dist: normal, mean: 10 min, sd: 1 min}", stats.norm(loc=600, scale=60)),
    "lognormal": ("{dist: lognormal, median: 10 min, sigma: 0.3}", stats.lognorm(s=0.3, scale=600)),
}


def _repair_proc(duration: str, success: float = 1.0, effect: str = "{area: x0.1}") -> str:
    return f"""\
    name: repair
    roles: [repair]
    phases:
      repair:
        - {{do: repair, leak: crack, by: repair, duration: {duration}, success: {success}, effect: {effect}}}
    """


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_repair_duration_follows_its_distribution(tmp_path, name):
    """repair_start's duration_s over 30 seeds: KS p > 0.01 (fixed: exactly 600 s every time)."""
    text, law = DISTRIBUTIONS[name]
    loaded = load_procedure(tmp_path, _repair_proc(text), body="leaks:\n  - {id: crack, at: lab, rate: 1 lb/day}\n")
    durations = []
    for seed in range(30 if law is not None else 3):
        result = simulate(loaded, seed)
        start = one(result, "repair_start")
        done = one(result, "repair_done")
        assert abs(done["t"] - start["t"] - start["duration_s"]) <= 1e-6
        durations.append(start["duration_s"])
    if law is None:
        assert durations == [600.0] * 3
    else:
        assert stats.kstest(durations, law.cdf).pvalue > 0.01
        assert len(set(durations)) == len(durations)


def test_repair_effect_scales_or_seals_the_leak(tmp_path):
    body = "leaks:\n  - {id: crack, at: lab, rate: 1 lb/day}\n"
    scaled = run_procedure(tmp_path, _repair_proc("1 min"), body=body)
    start = one(scaled, "leak_start")
    change = one(scaled, "leak_change")
    assert change["cda_m2"] == pytest.approx(0.1 * start["cda_m2"], rel=1e-8)
    assert change["cause"] == "repair"
    leak = scaled.summary["leaks"]["crack"]
    assert leak["repaired_s"] == pytest.approx(change["t"], abs=0.01)
    # bob walks node -> lab (5 + 10 s), then works 60 s
    assert change["t"] == pytest.approx(75.0, abs=1e-9)
    sealed = run_procedure(tmp_path, _repair_proc("1 min", effect="{seal: true}"), body=body)
    assert one(sealed, "leak_change")["cda_m2"] == 0.0
    assert one(sealed, "repair_done")["effect"] == "seal"


def test_repair_success_probability(tmp_path):
    body = "leaks:\n  - {id: crack, at: lab, rate: 1 lb/day}\n"
    never = run_procedure(tmp_path, _repair_proc("1 min", success=0.0), body=body)
    assert one(never, "repair_done")["success"] is False
    assert not events_of(never, "leak_change")
    assert never.summary["leaks"]["crack"]["repaired_s"] is None
    loaded = load_procedure(tmp_path, _repair_proc("1 min", success=0.5), body=body, duration="5 min")
    wins = sum(one(simulate(loaded, seed), "repair_done")["success"] for seed in range(60))
    # binomial(60, 0.5): 99.9 % of outcomes lie within 30 +- 13
    assert 17 <= wins <= 43


# -- measure --------------------------------------------------------------------------------
def _at(result, t: float, column: int) -> float:
    k = int(np.flatnonzero(np.isclose(result.series.t, t))[0])
    return float(result.series.p[k, column])


@pytest.mark.parametrize("resolution", [0.0, 100.0])
def test_measure_dpdt_and_treserve_read_a_gauge(tmp_path, resolution):
    proc = f"""\
    name: measure
    phases:
      m:
        - {{do: measure, of: lab, what: dpdt, window: 60 s, as: rate, resolution: {resolution} Pa}}
        - {{do: measure, of: lab, what: treserve, window: 60 s, as: reserve, resolution: {resolution} Pa}}
    """
    result = run_procedure(tmp_path, proc, body=LAB_LEAK)
    loaded_names = list(result.summary["compartments"])
    lab = loaded_names.index("lab")

    def gauge(p):
        return round(p / resolution) * resolution if resolution else p

    first, second = events_of(result, "measure")
    expected = (gauge(_at(result, 60.0, lab)) - gauge(_at(result, 0.0, lab))) / 60.0
    assert first["value"] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    if resolution:
        assert (first["value"] * 60.0 / resolution) == pytest.approx(round(first["value"] * 60.0 / resolution))
    floor = result.loaded.station.limits.reserve_floor
    p1 = gauge(_at(result, 120.0, lab))
    rate = (p1 - gauge(_at(result, 60.0, lab))) / 60.0
    assert second["value"] == pytest.approx((p1 - floor) / -rate, rel=1e-6)
    assert result.summary["treserve_first_s"] == pytest.approx(first["treserve_s"], rel=1e-5)
    assert result.summary["treserve_first_at_s"] == 60.0
    # the leak in the lab was detected by that measurement
    assert result.summary["leaks"]["crack"]["detected_s"] == 60.0
    assert result.summary["leaks"]["crack"]["detected_by"] == "measurement"


def test_measure_noise_has_the_stated_spread(tmp_path):
    """With noise sd 50 Pa and no rounding, dP/dt readings spread by sqrt(2) x 50 / 60 Pa/s (+-35 %)."""
    proc = """\
    name: noisy
    phases:
      m:
        - {do: measure, of: hab, what: dpdt, window: 60 s, as: rate, resolution: 0 Pa, noise: 50 Pa}
    """
    loaded = load_procedure(tmp_path, proc, duration="2 min")
    values = [one(simulate(loaded, seed), "measure")["value"] for seed in range(40)]
    expected = math.sqrt(2) * 50 / 60
    assert np.std(values, ddof=1) == pytest.approx(expected, rel=0.35)
    assert abs(np.mean(values)) < 4 * expected / math.sqrt(40)


# -- wait, if, goto, parallel, end ----------------------------------------------------------
def test_wait_for_a_time(tmp_path):
    proc = """\
    name: wait
    phases:
      w:
        - {do: wait, for: 90 s}
    """
    result = run_procedure(tmp_path, proc)
    assert one(result, "procedure_end")["t"] == 90.0


def test_wait_until_a_condition_fires_at_the_first_poll_where_it_holds(tmp_path):
    proc = """\
    name: wait until
    phases:
      w:
        - {do: wait, until: "p(lab) < 95 kPa", timeout: 30 min}
    """
    result = run_procedure(tmp_path, proc, body=LAB_LEAK)
    t_end = one(result, "procedure_end")["t"]
    assert t_end % 10.0 == 0.0, "at an alarm poll"
    lab = list(result.summary["compartments"]).index("lab")
    assert _at(result, t_end, lab) < 95e3 <= _at(result, t_end - 10.0, lab)
    assert not events_of(result, "wait_timeout")


def test_wait_until_times_out_and_branches(tmp_path):
    proc = """\
    name: wait until, timeout
    phases:
      w:
        - {do: wait, until: "p(hab) < 50 kPa", timeout: 2 min, on_expiry: late}
        - {do: move, who: alice, to: lab}
      late:
        - {do: wait, for: 1 s}
    """
    result = run_procedure(tmp_path, proc)
    timeout = one(result, "wait_timeout")
    assert timeout["t"] == 120.0
    assert one(result, "phase_start", phase="late")["t"] == 120.0
    assert not events_of(result, "move"), "the rest of the phase is skipped"


def test_if_and_goto_choose_phases(tmp_path):
    fast = run_procedure(tmp_path, "branch.yaml", body=LAB_LEAK.replace("1 cm^2", "10 cm^2"))
    branch = one(fast, "branch")
    assert branch["value"] is True and branch["to"] == "isolate"
    phases = [e["phase"] for e in events_of(fast, "phase_start")]
    assert phases == ["measure", "isolate", "done"]
    slow = run_procedure(tmp_path, "branch.yaml")
    assert one(slow, "branch")["to"] == "relax"
    assert [e["phase"] for e in events_of(slow, "phase_start")] == ["measure", "relax", "done"]
    assert not events_of(slow, "move"), "end stops the procedure before 'never'"


def test_parallel_branches_run_at_once(tmp_path):
    proc = """\
    name: parallel
    roles: [shelter, repair]
    phases:
      p:
        - parallel:
            a:
              - {do: move, who: shelter, to: lab}
            b:
              - {do: close_hatch, hatch: hab-node, by: repair, side: node}
        - {do: wait, for: 1 s}
    """
    result = run_procedure(tmp_path, proc)
    starts = [e for e in events_of(result, "task_start")]
    assert {e["crew"] for e in starts} == {"alice", "bob"} and {e["t"] for e in starts} == {0.0}
    end = next(iter(events_of(result, "step_end", step="parallel")))
    # bob waits for alice to be through hab-node (5 s), closes it (20 s); she reaches the lab at 30 s
    assert one(result, "hatch")["t"] == 25.0
    assert end["t"] == 30.0


def test_end_stops_the_procedure(tmp_path):
    proc = """\
    name: end
    phases:
      a:
        - {do: wait, for: 10 s}
        - {do: end}
        - {do: move, who: all, to: lab}
      b:
        - {do: move, who: all, to: lab}
    """
    result = run_procedure(tmp_path, proc)
    assert one(result, "procedure_end")["t"] == 10.0
    assert not events_of(result, "move")
    assert result.summary["procedures"][0]["status"] == "done"


# -- repress, undock, evacuate --------------------------------------------------------------
def test_repress_draws_down_the_supply_until_the_pressure(tmp_path):
    body = """\
    initial:
      hatches: {node-lab: closed}
    """
    station_override = "lab: {volume: 20 m^3, traverse: 10 s, atmosphere: {N2: 70 kPa, O2: 18 kPa, CO2: 0.4 kPa}}"
    loaded = load_procedure(tmp_path, "repress.yaml", body=body)
    import sim

    loaded = sim.load(loaded.path, [f"station.compartments.lab={{{station_override.split(': ', 1)[1][1:-1]}}}"])
    result = simulate(loaded)
    start, end = one(result, "repress_start"), one(result, "repress_end")
    assert start["rate_kg_s"] == pytest.approx(0.05) and start["into"] == "lab" and start["t"] == 0.0
    lab = list(result.summary["compartments"]).index("lab")
    # the target is checked at each alarm poll: the flow stops at the first poll at or above it
    assert end["t"] % 10.0 == 0.0
    assert _at(result, end["t"], lab) >= 95e3 > _at(result, end["t"] - 10.0, lab)
    supply = result.summary["gas"]["supplies"]["tanks"]
    assert supply["used_kg"] == pytest.approx(end["used_kg"], rel=1e-4)
    assert end["used_kg"] == pytest.approx(0.05 * end["t"], rel=1e-6)
    # ideal gas: reaching 95 kPa takes V dp / (R T) (R of the 2:1 N2:O2 supply, +-1 %); the flow
    # runs on for less than one poll at 0.05 kg/s
    r_supply = (10 * 8.314462618 / 28.0134e-3 + 5 * 8.314462618 / 31.9988e-3) / 15
    needed = 20 * (95e3 - 88.4e3) / (r_supply * 295)
    assert needed * 0.99 <= end["used_kg"] <= needed * 1.01 + 0.05 * 10


def test_undock_leaves_with_whoever_is_aboard(tmp_path):
    proc = """\
    name: undock
    roles: [repair]
    phases:
      board:
        - {do: move, who: bob, to: capsule}
        - {do: undock, vehicle: capsule}
    """
    result = run_procedure(tmp_path, proc)
    undock = one(result, "undock")
    assert undock["vehicle"] == "capsule" and undock["crew"] == ["bob"]
    assert one(result, "hatch", hatch="node-capsule", state="closed")["t"] <= undock["t"]
    crew = result.summary["crew"]
    assert crew["bob"]["aboard"] == "capsule" and crew["alice"]["aboard"] is None
    assert result.summary["outcome"] == "evacuated"


def test_evacuate_gathers_closes_and_undocks(tmp_path):
    result = run_procedure(tmp_path, "evacuate.yaml")
    undock = one(result, "undock")
    assert sorted(undock["crew"]) == ["alice", "bob"]
    assert all(m["aboard"] == "capsule" for m in result.summary["crew"].values())
    assert result.summary["outcome"] == "evacuated"
