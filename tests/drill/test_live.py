"""A live drill played through a pseudo-terminal at 1000x, scored, and its session replayed exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.drill.live_helpers import PtySession

REPO = Path(__file__).resolve().parents[2]

LIVE_DRILL = """\
name: Live drill
scenario:
  name: Live scenario
  station: station.yaml
  duration: 1 h
  seed: 3
  crew:
    - {id: a, roles: [crew], at: lab, vehicle: capsule}
    - {id: b, roles: [crew], at: node, vehicle: capsule}
  leaks:
    - {id: crack, at: lab, diameter: 4 mm, start: 30 min}
injects:
  - {name: slow-b, fault: crew_delayed, crew: b, delay: 10 s, manual: true}
expect:
  - {expect: hatches_closed, hatches: [lab-node], within: 25 min, of: leak_start crack, weight: 2}
  - {expect: nobody_incapacitated}
  - {expect: crew_at_vehicles, within: 50 min, of: start}
"""


def test_live_session_through_a_pty(drill_dir, tmp_path):
    drill = drill_dir / "live.yaml"
    drill.write_text(LIVE_DRILL)
    out = tmp_path / "live-run"
    s = PtySession([drill, "--live", "--speed", "1000", "--out", out], cwd=REPO, columns=120, lines=40)
    s.wait_for("compartments")  # the dashboard is up
    s.type("pause", "close hatch lab-node by b", "move a to kitchen", "inject slow-b", "speed 2000", "resume")
    code = s.close()
    text = s.text
    assert code == 1, text  # nobody went to the capsule: one expectation is not met

    card = json.loads((out / "scorecard.json").read_text())
    assert [x["passed"] for x in card["expectations"]] == [True, True, False]
    assert card["score"] == 75.0 and card["mode"] == "live"
    assert "unknown compartment 'kitchen'" in text  # the bad command was answered; the run went on

    session = yaml.safe_load((out / "session.yaml").read_text())
    commands = [c["command"] for c in session["commands"]]
    assert commands == ["pause", "close hatch lab-node by b", "move a to kitchen", "inject slow-b", "speed 2000",
                        "resume"]
    assert "error" in session["commands"][2]
    paused_at = session["commands"][0]["t"]
    assert all(c["t"] == paused_at for c in session["commands"])  # all given while paused
    assert card["injects"][0]["fired_s"] == paused_at

    # the recorded session replays to identical events
    again = tmp_path / "replayed"
    result = subprocess.run([sys.executable, "-m", "sim.cli_drill", "--replay", str(out), "--out", str(again)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (again / "events.jsonl").read_bytes() == (out / "events.jsonl").read_bytes()
    assert json.loads((again / "scorecard.json").read_text())["expectations"] == card["expectations"]
