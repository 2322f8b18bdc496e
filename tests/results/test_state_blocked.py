"""A blocked hatch shows its cause wherever a user sees "trapped" (issue 10 case 11), from the user's seat.

``tests/data/state/trapped-equalize.yaml``: c1 is sent into a tunnel at 60 kPa behind a closed
hatch and is trapped; c2 opens the valve at 00:01:10, then tries the hatch, which stays blocked
until the two sides are within 0.5 kPa (00:04:40); it opens at 00:05:40 and c1 goes through.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests" / "data" / "state" / "trapped-equalize.yaml"


def safehaven(*args):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    # a wide terminal, so that table cells are not wrapped in the middle of the words looked for
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([*cmd, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blocked") / "run"
    done = safehaven("run", SCENARIO, "--out", out)
    assert done.returncode == 0, done.stderr
    # the terminal timeline says why c1 is trapped
    assert "trapped" in done.stdout and "blocked_by=hatch module-tunnel: 41.3 kPa across it" in done.stdout
    return out


def _at(run_dir, t):
    done = safehaven("replay", run_dir, "--at", t, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["at"]


def test_trapped_and_held_by_a_pressure_difference(run_dir):
    at = _at(run_dir, "00:02:00")
    c1, c2 = at["crew"]["c1"], at["crew"]["c2"]
    cause = "hatch module-tunnel: 27.0 kPa across it, opens below 0.5 kPa"
    assert c1["trapped"] and c1["blocked_by"] == [cause] and c1["activity"] == "move to tunnel"
    assert not c2["trapped"] and c2["blocked_by"] == [cause] and c2["activity"] == "open hatch module-tunnel"
    assert at["doing"]["c1"] == f"move to tunnel — TRAPPED by {cause}"
    assert at["doing"]["c2"] == f"open hatch module-tunnel — held by {cause}"


def test_equalized_then_closed_then_through(run_dir):
    at = _at(run_dir, "00:05:00")  # equalized, c2 is swinging the hatch open
    assert at["crew"]["c1"]["trapped"] and at["crew"]["c1"]["blocked_by"] == ["hatch module-tunnel: closed"]
    assert at["crew"]["c2"]["blocked_by"] == []
    at = _at(run_dir, "00:06:00")
    assert at["crew"]["c1"] == {"location": "tunnel", "aboard": None, "activity": "move to tunnel", "status": "able",
                                "trapped": False, "blocked_by": []}


def test_table_and_report_say_why(run_dir, tmp_path):
    done = safehaven("replay", run_dir, "--at", "00:02:00")
    assert done.returncode == 0, done.stderr
    assert "TRAPPED by hatch" in done.stdout and "27.0 kPa across it" in done.stdout
    html = tmp_path / "r.html"
    assert safehaven("report", run_dir, "--at", "00:02:00", "--html", html).returncode == 0
    text = html.read_text()
    assert "c1 trapped in module (hatch module-tunnel: 27.0 kPa across it, opens below 0.5 kPa)" in text
    assert "blocked_by=hatch module-tunnel: 41.3 kPa across it, opens below 0.5 kPa" in text  # the event timeline


def test_drill_replay_at_shows_the_jam(tmp_path):
    out = tmp_path / "jam"
    done = safehaven("drill", REPO / "scenarios/drills/prk-hatch-jams.yaml", "--out", out)
    assert done.returncode == 1, done.stderr  # the jammed hatch is never closed
    done = safehaven("drill", "--replay", out, "--at", "00:40:00", "--json")
    assert done.returncode == 0, done.stderr
    at = json.loads(done.stdout)["at"]
    assert at["hatches"]["pma2-dragon"] == {"open": True, "valve_open": False, "jammed": True, "valve_stuck": False}
    assert at["shelter"]["dragon"]["sealed"] is False and len(at["shelter"]["dragon"]["crew"]) == 5
    done = safehaven("drill", "--replay", out, "--at", "00:40:00")
    assert "Hatches jammed open: pma2-dragon" in done.stdout
    assert "hatch pma2-dragon open (jammed)" in done.stdout
    bad = safehaven("drill", "--replay", out, "--at", "9 h")
    assert bad.returncode == 2 and "outside the run" in bad.stderr and "Traceback" not in bad.stderr
    bad = safehaven("drill", REPO / "scenarios/drills/prk-hatch-jams.yaml", "--at", "5")
    assert bad.returncode == 2 and "use it with --replay" in bad.stderr
