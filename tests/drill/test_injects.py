"""Each inject kind changes the world as it should, fired at a time, by a condition or by hand."""

from __future__ import annotations

import pytest

from .conftest import kinds, run_drill


def test_new_leak_starts_at_its_time(make_drill):
    path = make_drill("""
        injects:
          - {name: second-hole, fault: new_leak, leak: hole2, in: node, diameter: 2 mm, at: 5 min}
        """)
    _, result = run_drill(path)
    starts = [e for e in kinds(result, "leak_start") if e["leak"] == "hole2"]
    assert [e["t"] for e in starts] == [300.0]
    assert result.summary["leaks"]["hole2"]["started_s"] == 300.0


def test_leak_grows(make_drill):
    path = make_drill("""
        injects:
          - {name: grows, fault: leak_change, leak: crack, scale: 3, at: 4 min}
        """)
    _, result = run_drill(path)
    change = kinds(result, "leak_change")[0]
    start = kinds(result, "leak_start")[0]
    assert change["t"] == 240.0 and change["cda_m2"] == pytest.approx(3 * start["cda_m2"], rel=1e-6)
    assert change["cause"] == "inject grows"


def test_leak_change_before_the_leak_has_no_effect(make_drill):
    path = make_drill("""
        injects:
          - {name: early, fault: leak_change, leak: crack, scale: 0.5, at: 1 min}
        """)
    _, result = run_drill(path)
    assert kinds(result, "inject_no_effect")[0]["name"] == "early"


def test_hatch_jams(make_drill):
    path = make_drill("""
        injects:
          - {name: jam, fault: hatch_jams, hatch: lab-node, at: 1 min}
        """)
    _, result = run_drill(path)
    assert kinds(result, "hatch_jammed")[0]["hatch"] == "lab-node"
    assert not [e for e in kinds(result, "hatch") if e["hatch"] == "lab-node"]


def test_valve_stuck(make_drill):
    path = make_drill("""
        injects:
          - {name: stuck, fault: valve_stuck, hatch: node-capsule, at: 10 s}
        """)
    _, result = run_drill(path, commands=[{"t": 20.0, "command": "open valve node-capsule by b"}])
    assert kinds(result, "valve_stuck")[0]["hatch"] == "node-capsule"
    assert not kinds(result, "valve")


@pytest.mark.parametrize("fault, check", [
    ("bias: -100 mmHg", lambda v, true: v == pytest.approx(true - 100 * 133.322, abs=20)),
    ("failed: true", None),
])
def test_gauge_fails_or_reads_wrong(make_drill, fault, check):
    path = make_drill(f"""
        injects:
          - {{name: gauge, fault: gauge, of: node, {fault}, readings: 1, at: 0 s}}
        """)
    cmds = [{"t": 30.0, "command": "measure node pressure over 10 s"},
            {"t": 60.0, "command": "measure node pressure over 10 s"}]
    _, result = run_drill(path, commands=cmds)
    measures = [e for e in kinds(result, "measure") if e["procedure"].startswith("live")]
    if check is None:
        assert len(kinds(result, "gauge_failed")) == 2  # a dead gauge gives no reading to count
        assert measures == []
    else:
        wrong, right = measures
        assert check(wrong["value"], right["value"])


def test_false_alarm_starts_the_alarm_procedure(make_drill):
    path = make_drill("""
        set: {leaks.crack.start: 25 min}
        injects:
          - {name: false-depress, fault: false_alarm, alarm: rapid_depress, where: [lab], at: 30 s}
        """)
    _, result = run_drill(path)
    alarm = kinds(result, "alarm")[0]
    assert alarm["t"] == 30.0 and alarm["cause"].startswith("false alarm")
    assert kinds(result, "procedure_start")[0]["t"] == 30.0


def test_crew_delayed(make_drill):
    path = make_drill("""
        injects:
          - {name: slow, fault: crew_delayed, crew: a, delay: 2 min, at: 0 s}
        """)
    _, result = run_drill(path)
    delayed = kinds(result, "delayed")[0]
    assert delayed["crew"] == "a" and delayed["delay_s"] == 120.0


def test_crew_incapacitated_by_a_condition(make_drill):
    path = make_drill("""
        injects:
          - {name: faint, fault: crew_incapacitated, crew: b, when: "p(lab) < 759 mmHg"}
        """)
    run, result = run_drill(path)
    status = kinds(result, "status")[0]
    assert status["crew"] == "b" and status["status"] == "incapacitated"
    assert 120 < run.fired["faint"] < 600
    assert result.summary["crew"]["b"]["worst_status"] == "incapacitated"


def test_vehicle_unavailable(make_drill):
    path = make_drill("""
        injects:
          - {name: no-capsule, fault: vehicle_unavailable, vehicle: capsule, at: 0 s}
        """)
    _, result = run_drill(path, commands=[{"t": 10.0, "command": "shelter all in capsule"}])
    assert kinds(result, "vehicle_unavailable")[0]["vehicle"] == "capsule"


def test_supply_lost_by_hand(make_drill):
    path = make_drill("""
        injects:
          - {name: tanks-gone, fault: supply_lost, supply: tanks, manual: true}
        """)
    run, result = run_drill(path)
    assert "tanks-gone" not in run.fired  # manual injects wait for the trainer
    cmds = [{"t": 5.0, "command": "inject tanks-gone"},
            {"t": 10.0, "command": "repress tanks into node for 1 min by b"}]
    run, result = run_drill(path, commands=cmds)
    assert run.fired["tanks-gone"] == 5.0
    assert kinds(result, "supply_unavailable")[0]["supply"] == "tanks"
