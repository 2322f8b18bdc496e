"""The interpreter around the steps: deadlines, role binding, alarm triggers, outcomes, summary, checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from proc_helpers import DATA, events_of, load_procedure, one, run_procedure, scenario_text

from sim.engine import simulate


def test_step_deadline_branches_on_expiry(tmp_path):
    proc = """\
    name: step deadline
    phases:
      slow:
        - {do: move, who: alice, to: lab, deadline: 12 s, on_expiry: fallback}
        - {do: wait, for: 1 s}
      fallback:
        - {do: wait, for: 5 s}
    """
    result = run_procedure(tmp_path, proc)
    deadline = one(result, "deadline")
    assert deadline["t"] == 12.0 and deadline["what"] == "step" and deadline["then"] == "fallback"
    assert one(result, "task_interrupted", crew="alice")["t"] == 12.0
    assert one(result, "phase_start", phase="fallback")["t"] == 12.0
    assert one(result, "procedure_end")["t"] == 17.0
    assert result.summary["crew"]["alice"]["location"] == "node", "stopped where she was"


def test_phase_deadline_branches_on_expiry(tmp_path):
    proc = """\
    name: phase deadline
    phases:
      long:
        deadline: 1 min
        on_expiry: after
        steps:
          - {do: wait, for: 30 s}
          - {do: wait, for: 60 s}
      skipped:
        - {do: wait, for: 1 s}
      after:
        - {do: wait, for: 20 s}
        - {do: move, who: alice, to: node}
    """
    result = run_procedure(tmp_path, proc)
    deadline = one(result, "deadline")
    assert deadline["t"] == 60.0 and deadline["what"] == "phase" and deadline["phase"] == "long"
    assert [e["phase"] for e in events_of(result, "phase_start")] == ["long", "after"]
    # the phase after the deadline runs in full
    assert one(result, "task_end", crew="alice")["t"] == 60.0 + 20.0 + 15.0
    assert one(result, "procedure_end")["t"] == 95.0


def test_deadline_in_one_parallel_branch_spares_the_other(tmp_path):
    proc = """\
    name: branch deadline
    phases:
      p:
        - parallel:
            a:
              - {do: wait, for: 5 min, deadline: 10 s}
            b:
              - {do: wait, for: 30 s}
              - {do: move, who: bob, to: lab}
    """
    result = run_procedure(tmp_path, proc)
    assert one(result, "deadline")["t"] == 10.0
    assert one(result, "task_end", crew="bob")["t"] == 30.0 + 15.0
    assert one(result, "procedure_end")["t"] == 45.0


def test_procedure_deadline_without_branch_stops_it(tmp_path):
    proc = """\
    name: procedure deadline
    deadline: 45 s
    phases:
      a:
        - {do: wait, for: 10 min}
    """
    result = run_procedure(tmp_path, proc)
    assert one(result, "deadline")["what"] == "procedure"
    assert one(result, "procedure_end")["t"] == 45.0


def test_a_step_that_meets_its_deadline_goes_on(tmp_path):
    proc = """\
    name: met
    phases:
      a:
        - {do: wait, for: 10 s, deadline: 20 s, on_expiry: b}
        - {do: wait, for: 1 s}
      b:
        - {do: end}
    """
    result = run_procedure(tmp_path, proc)
    assert not events_of(result, "deadline")
    assert one(result, "procedure_end")["t"] == 11.0


def test_run_bind_chooses_who_plays_a_role(tmp_path):
    proc = """\
    name: bound
    roles: [ops]
    phases:
      go:
        - {do: move, who: ops, to: lab}
    """
    unbound = run_procedure(tmp_path, proc)
    assert {e["crew"] for e in events_of(unbound, "task_start")} == {"alice", "bob"}
    bound = run_procedure(tmp_path, proc, bind="{ops: [bob]}")
    assert {e["crew"] for e in events_of(bound, "task_start")} == {"bob"}
    assert bound.summary["crew"]["alice"]["location"] == "hab"


def test_hatch_step_picks_the_nearest_able_member(tmp_path):
    proc = """\
    name: nearest
    roles: [ops]
    phases:
      close:
        - {do: close_hatch, hatch: node-lab, by: ops}
    """
    result = run_procedure(tmp_path, proc)
    assert one(result, "hatch")["by"] == "bob"  # in the node, beside the hatch


def test_alarm_triggers_a_procedure(tmp_path):
    proc = """\
    name: on alarm
    phases:
      respond:
        - {do: shelter, who: all, in: capsule}
    """
    body = "leaks:\n  - {id: hole, at: lab, area: 5 cm^2, cd: 0.6, start: 5 min}\n"
    result = run_procedure(tmp_path, proc, body=body, trigger="on: rapid_depress")
    alarm = one(result, "alarm", alarm="rapid_depress")
    assert 300.0 < alarm["t"] <= 300.0 + 60.0 + 10.0  # a dP/dt window and a poll after the start
    assert one(result, "procedure_start")["t"] == alarm["t"]
    assert result.summary["leaks"]["hole"]["detected_by"] == "alarm"
    assert result.summary["leaks"]["hole"]["detected_s"] == alarm["t"]
    assert result.summary["alarms"][0]["alarm"] == "rapid_depress"
    # nobody left in the leak's zone once the capsule is closed: the leak is isolated then
    closed = one(result, "hatch", hatch="node-capsule", state="closed")
    assert result.summary["leaks"]["hole"]["isolated_s"] == closed["t"]
    assert result.summary["outcome"] == "sheltering"


def test_a_procedure_waiting_for_an_alarm_that_never_sounds_never_starts(tmp_path):
    result = run_procedure(tmp_path, "evacuate.yaml", trigger="on: ppCO2_high", duration="5 min")
    assert not events_of(result, "procedure_start")
    assert result.summary["procedures"] == []
    assert result.summary["outcome"] == "completed"


# -- outcomes -------------------------------------------------------------------------------
WAIT = "name: wait\nphases:\n  a:\n    - {do: wait, for: 1 min}\n"


@pytest.mark.parametrize(("procedure", "kwargs", "outcome"), [
    ("evacuate.yaml", {}, "evacuated"),
    ("shelter.yaml", {}, "resumed"),
    ("shelter.yaml", {"duration": "2 min"}, "sheltering"),
    (WAIT, {}, "procedures_done"),
    (WAIT, {"duration": "20 s"}, "procedures_running"),
    (WAIT, {"trigger": "on: ppCO2_high"}, "completed"),
])
def test_outcome_categories(tmp_path, procedure, kwargs, outcome):
    result = run_procedure(tmp_path, procedure, **kwargs)
    assert result.summary["outcome"] == outcome


def test_outcome_crew_impaired(tmp_path):
    """Low ppO2 in the hab (8 kPa; 10.4 kPa mixed with the open cargo vehicle) impairs alice after
    60 s; impaired, she moves at half speed."""
    import sim

    proc = """\
    name: slow walk
    phases:
      a:
        - {do: wait, for: 100 s}
        - {do: move, who: alice, to: node}
    """
    loaded = load_procedure(tmp_path, proc, duration="5 min",
                            body="initial:\n  hatches: {hab-node: closed}\nevents:\n  - {at: 90 s, hatch: hab-node, state: open}\n")
    loaded = sim.load(loaded.path, ["station.compartments.hab.atmosphere={O2: 8 kPa}"])
    result = simulate(loaded)
    status = one(result, "status", crew="alice")
    assert status["status"] == "impaired" and 60.0 <= status["t"] <= 70.0
    # pass 5 s and traverse 10 s, both doubled
    assert one(result, "task_end", crew="alice")["t"] == pytest.approx(100.0 + 30.0, abs=1e-9)
    assert result.summary["crew"]["alice"]["worst_status"] == "impaired"
    assert result.summary["crew"]["alice"]["min_ppO2_Pa"] < 12e3
    assert result.summary["outcome"] == "crew_impaired"


def test_incapacitated_member_stops_and_others_take_over(tmp_path):
    """alice is incapacitated in a vacuum-bound hab; the role falls to bob."""
    proc = """\
    name: take over
    roles: [ops]
    phases:
      a:
        - {do: wait, for: 3 min}
        - {do: close_hatch, hatch: node-lab, by: ops}
    """
    body = "initial:\n  hatches: {hab-node: closed}\nleaks:\n  - {id: hole, at: hab, area: 50 cm^2, cd: 0.6}\n"
    result = run_procedure(tmp_path, proc, body=body, duration="10 min")
    assert result.summary["crew"]["alice"]["worst_status"] == "incapacitated"
    assert one(result, "hatch")["by"] == "bob"
    assert result.summary["outcome"] == "crew_incapacitated"


# -- summary and checks ---------------------------------------------------------------------
CHECKS = """\
leaks:
  - {id: crack, at: lab, rate: 1 lb/day}
checks:
  - {name: sheltered in time, expect: all_crew_in_shelter, within: 1 min}
  - {name: sheltered too late, expect: crew_in_shelter, crew: alice, within: 10 s}
  - {expect: hatch_closed, hatch: node-capsule, within: 2 min}
  - {expect: min_pressure, of: lab, above: 100 kPa}
  - {expect: min_pressure, of: station, above: 102 kPa}
  - {expect: nobody_incapacitated}
  - {expect: outcome, is: resumed}
  - {expect: leak_repaired, leak: crack, within: 1 h}
"""


def test_checks_pass_and_fail_with_margins(tmp_path):
    result = run_procedure(tmp_path, "shelter.yaml", body=CHECKS)
    checks = {c["check"]: c for c in result.summary["checks"]}
    assert checks["sheltered in time"]["passed"] and checks["sheltered in time"]["margin"] == 60.0 - 20.0
    assert not checks["sheltered too late"]["passed"] and checks["sheltered too late"]["margin"] == 10.0 - 20.0
    closed = one(result, "hatch", hatch="node-capsule", state="closed")["t"]
    assert checks["hatch_closed"]["passed"] and checks["hatch_closed"]["margin"] == pytest.approx(120.0 - closed)
    by_kind = [c for c in result.summary["checks"] if c["expect"] == "min_pressure"]
    low = result.summary["compartments"]["lab"]["p_min_Pa"]
    assert by_kind[0]["passed"] and by_kind[0]["margin"] == pytest.approx(low - 100e3, abs=1.0)
    assert not by_kind[1]["passed"] and by_kind[1]["margin"] < 0
    assert checks["nobody_incapacitated"]["passed"]
    assert checks["outcome"]["passed"]
    assert not checks["leak_repaired"]["passed"] and checks["leak_repaired"]["margin"] == "-inf"  # JSON-safe
    assert result.summary["checks_passed"] is False


def test_summary_fields(tmp_path):
    result = run_procedure(tmp_path, "shelter.yaml", body=CHECKS)
    s = result.summary
    for member in s["crew"].values():
        assert set(member) >= {"sheltered_s", "worst_status", "min_ppO2_Pa", "status", "location"}
        assert member["worst_status"] == "able" and 20e3 < member["min_ppO2_Pa"] <= 21.3e3
    assert set(s["leaks"]["crack"]) >= {"detected_s", "isolated_s", "repaired_s"}
    assert "treserve_first_s" in s
    json.dumps(s, allow_nan=False)


def test_cli_exit_code_is_1_when_a_check_fails(tmp_path):
    loaded = load_procedure(tmp_path, "shelter.yaml", body=CHECKS)
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(loaded.path), "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checks_passed"] is False
    passing = tmp_path / "passing.yaml"
    passing.write_text(scenario_text(DATA / "shelter.yaml",
                                     body="checks:\n  - {expect: outcome, is: resumed}\n"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(passing), "--out", str(tmp_path / "ok")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
