"""Scores that cannot mislead: issue 13's scoring defects, each a regression test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.scenario.drill_load import load_drill
from tests.drill.conftest import run_drill

REPO = Path(__file__).resolve().parents[2]


def _problems(path) -> str:
    with pytest.raises(InputError) as exc:
        load_drill(path)
    return str(exc.value)


# -- load-time checks ----------------------------------------------------------------------------------
def test_an_inject_after_the_end_is_refused(make_drill):
    path = make_drill("""\
        injects: [{name: late, fault: crew_delayed, crew: a, delay: 10 s, at: 2 h}]
        expect: [{expect: nobody_incapacitated}]
        """)
    text = _problems(path)
    assert "drill.yaml:3: injects[0].at: inject 'late' at 02:00:00 is at or after the drill's end (00:30:00)" in text


def test_an_expectation_met_before_the_drill_starts_is_refused(make_drill, drill_dir):
    (drill_dir / "closed.yaml").write_text((drill_dir / "scenario.yaml").read_text()
                                           + "initial: {hatches: {lab-node: closed}}\n")
    path = make_drill("""\
        expect:
          - {expect: hatches_closed, hatches: [lab-node], within: 1 h, of: start}
        """, scenario="closed.yaml")
    text = _problems(path)
    assert "expect[0].of: lab-node is closed at the start: this is met before the drill starts" in text


def test_closing_a_hatch_after_it_jams_is_refused(make_drill):
    path = make_drill("""\
        injects: [{name: jam, fault: hatch_jams, hatch: lab-node, at: 5 min}]
        expect:
          - {expect: hatches_closed, hatches: [lab-node], within: 10 min, of: inject jam}
        """)
    text = _problems(path)
    assert "inject 'jam' jams hatch lab-node and no command clears a jam" in text
    assert "crew_separated_from_leak" in text


def test_validate_reports_them_with_exit_code_2(make_drill):
    path = make_drill("""\
        injects: [{name: late, fault: crew_delayed, crew: a, delay: 10 s, at: 40 min}]
        expect: [{expect: nobody_incapacitated}]
        """)
    r = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "at or after the drill's end" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


# -- nothing applicable is no score -----------------------------------------------------------------------
def test_nothing_applicable_is_no_score(make_drill):
    path = make_drill("""\
        set: {run: "[]", duration: 5 min}
        injects: [{name: never, fault: crew_delayed, crew: a, delay: 10 s, manual: true}]
        expect: [{expect: crew_at_vehicles, within: 5 min, of: inject never}]
        """)
    _, result = run_drill(path)
    card = result.extra["scorecard"]
    assert card["score"] is None and card["scored"] is False
    assert card["passed"] is False and card["all_met"] is False
    r = subprocess.run([sys.executable, "-m", "sim.cli", "drill", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "NOT SCORED" in r.stdout and "100" not in r.stdout.split("NOT SCORED")[1]


# -- isolation: any correct one counts, abandonment is not one ----------------------------------------------
SEPARATED = """\
    set: {run: "[]", duration: 20 min}
    expect:
      - {expect: crew_separated_from_leak, who: all, leak: crack, within: 5 min, of: leak_start crack}
      - {expect: leak_isolated, leak: crack, within: 10 min, of: leak_start crack}
    """


def test_any_hatch_that_cuts_the_crew_off_counts(make_drill):
    path = make_drill(SEPARATED)
    # by the lab-node hatch, crew a having come out of the lab
    _, by_node = run_drill(path, [{"t": 130, "command": "move a to node"}, {"t": 131, "command": "close hatch lab-node by b"}])
    # by the capsule hatch, everyone inside
    _, by_capsule = run_drill(path, [{"t": 125, "command": "shelter all in capsule"}])
    for result in (by_node, by_capsule):
        separated = result.extra["scorecard"]["expectations"][0]
        assert separated["passed"] is True, separated
    # doing nothing fails, and says where the crew were
    _, idle = run_drill(path, [])
    x = idle.extra["scorecard"]["expectations"][0]
    assert x["passed"] is False and any("a in lab" in w and "open to lab" in w for w in x["why"])


def test_abandoning_the_station_is_not_an_isolation(make_drill):
    path = make_drill(SEPARATED)
    _, result = run_drill(path, [{"t": 125, "command": "evacuate"}])
    assert any(e["kind"] == "undock" and e["crew"] for e in result.events.events)
    isolated = result.extra["scorecard"]["expectations"][1]
    assert isolated["passed"] is False
    assert any("abandoning the station is its own outcome" in w for w in isolated["why"])
    separated = result.extra["scorecard"]["expectations"][0]
    assert separated["passed"] is False and any("left the station" in w for w in separated["why"])


# -- the scorecard says why, lines up commands, keeps notes, speaks HH:MM:SS and the file's units ------------
def test_the_scorecard_explains_itself(make_drill):
    path = make_drill("""\
        set: {run: "[]", duration: 20 min}
        injects: [{name: jam, fault: hatch_jams, hatch: lab-node, at: 1 min, note: "it will not move"}]
        expect:
          - {expect: hatches_closed, hatches: [lab-node], within: 5 min, of: leak_start crack}
          - {expect: check, check: {expect: min_pressure, of: node, above: 700 mmHg}}
        """)
    _, result = run_drill(path, [{"t": 150, "command": "close hatch lab-node by b"}])
    card = result.extra["scorecard"]
    closed, pressure = card["expectations"]
    assert closed["passed"] is False
    assert "never closed (leak_start crack at 00:02:00, deadline 00:07:00)" in closed["detail"]
    assert "lab-node jammed at 00:01:00 (inject jam)" in closed["why"]
    assert any(w.startswith("b's attempt on lab-node at 00:0") and w.endswith("failed: jammed") for w in closed["why"])
    assert closed["commands"] == [{"t_s": 150.0, "at": "00:02:30", "command": "close hatch lab-node by b"}]
    assert pressure["margin"]["unit"] == "mmHg" and "mmHg" in pressure["detail"]
    low = min(result.series.columns()["node.p_Pa"])
    assert pressure["margin"]["value"] == pytest.approx((low - 700 * 133.322368) / 133.322368, abs=0.01)
    assert card["injects"][0]["note"] == "it will not move" and card["injects"][0]["fired_at"] == "00:01:00"
    assert card["commands"][0]["command"] == "close hatch lab-node by b"


# -- the shipped drills -------------------------------------------------------------------------------------------
def test_prk_hatch_jams_rewards_the_isolation_the_jam_leaves(tmp_path):
    """The procedure does not foresee the jam (75); closing harmony-pma2 behind the shelter crew is full marks."""
    drill = REPO / "scenarios" / "drills" / "prk-hatch-jams.yaml"
    _, batch = run_drill(drill)
    card = batch.extra["scorecard"]
    assert card["score"] == 75.0
    failed = [x for x in card["expectations"] if x["passed"] is False]
    assert [x["expect"] for x in failed] == ["crew_separated_from_leak"]
    assert any("pma2-dragon jammed at 00:31:00" in w for w in failed[0]["why"])
    _, played = run_drill(drill, [{"t": 2140, "command": "close hatch harmony-pma2 by fe4"}])
    assert played.extra["scorecard"]["score"] == 100.0


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "scenarios" / "drills").glob("*.yaml")))
def test_no_shipped_expectation_is_met_before_its_reference(name):
    _, result = run_drill(REPO / "scenarios" / "drills" / name)
    card = result.extra["scorecard"]
    assert card["score"] is not None
    for x in card["expectations"]:
        if x.get("t_s") is not None and x.get("ref_t_s") == 0.0:
            assert x["t_s"] > 0.0, f"{name}: {x['name']} is met at the start"
    json.dumps(card, allow_nan=False)
