"""Every run directory replays, whichever path wrote it: ``safehaven run``, ``RunResult.save`` from
Python, ``safehaven drill``, a live drill played through a pseudo-terminal, ``safehaven sweep rerun``.

Each test writes a run directory the way a user would, then runs the installed ``safehaven replay
DIR`` and asserts it says identical (exit 0). Overrides are used wherever the path allows them, since
an override the manifest forgot (issue 10, case 4) is exactly what made a replay differ at event #1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drill.live_helpers import PtySession

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests" / "data" / "replay" / "iss-prk-leak.yaml"
OVERRIDES = ["leaks.prk-hole.area=0.4 cm^2", "events.0.at=20 min"]


def safehaven(*args, cwd=REPO, timeout=300):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def assert_replays(directory: Path) -> dict:
    done = safehaven("replay", directory, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["identical"] and report["first_difference"] is None, report
    return report


def test_run_with_overrides_replays(tmp_path):
    out = tmp_path / "run"
    done = safehaven("run", SCENARIO, *[a for s in OVERRIDES for a in ("--set", s)], "--out", out, "--quiet")
    assert done.returncode in (0, 1), done.stderr
    assert json.loads((out / "inputs" / "manifest.json").read_text())["overrides"] == OVERRIDES
    assert_replays(out)


def test_result_saved_from_python_with_overrides_replays(tmp_path):
    """Case 4: ``sim.run(..., overrides=[...]).save(DIR)`` wrote ``"overrides": []``."""
    import sim

    out = tmp_path / "saved"
    sim.run(SCENARIO, overrides=OVERRIDES).save(out)
    assert json.loads((out / "inputs" / "manifest.json").read_text())["overrides"] == OVERRIDES
    assert_replays(out)
    # and the same through sim.load: the loaded scenario carries its overrides
    again = tmp_path / "loaded"
    sim.run(sim.load(SCENARIO, OVERRIDES)).save(again)
    assert (again / "events.jsonl").read_bytes() == (out / "events.jsonl").read_bytes()
    assert_replays(again)


def test_overrides_with_an_already_loaded_scenario_are_refused():
    import sim

    with pytest.raises(sim.UsageError, match="overrides apply when a scenario is loaded"):
        sim.run(sim.load(SCENARIO), overrides=OVERRIDES)


def test_drill_replays(tmp_path):
    out = tmp_path / "drill-run"
    drill = REPO / "scenarios" / "drills" / "leak-grows-in-vehicle.yaml"
    done = safehaven("drill", drill, "--out", out)
    assert done.returncode in (0, 1), done.stderr
    assert_replays(out)


LIVE_DRILL = """\
name: Live drill
scenario:
  name: Live scenario
  station:
    name: Drill station
    temperature: 295 K
    atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}
    compartments:
      lab:  {volume: 50 m^3, traverse: 20 s}
      node: {volume: 30 m^3, traverse: 20 s}
    vehicles:
      capsule: {volume: 9 m^3, docked_to: node, seats: 3, shelter: true, traverse: 10 s}
    hatches:
      lab-node:     {between: [lab, node], area: 0.5 m^2, valve: 1 cm^2, close_time: 30 s}
      node-capsule: {between: [node, capsule], area: 0.5 m^2, valve: 1 cm^2, close_time: 30 s}
  duration: 40 min
  seed: 3
  crew:
    - {id: a, roles: [crew], at: lab, vehicle: capsule}
    - {id: b, roles: [crew], at: node, vehicle: capsule}
  leaks:
    - {id: crack, at: lab, diameter: 4 mm, start: 20 min}
set:
  leaks.crack.diameter: 3 mm
injects:
  - {name: slow-b, fault: crew_delayed, crew: b, delay: 10 s, manual: true}
expect:
  - {expect: nobody_incapacitated}
"""


def test_live_drill_played_through_a_pty_replays(tmp_path):
    drill = tmp_path / "live.yaml"
    drill.write_text(LIVE_DRILL)
    out = tmp_path / "live-run"
    s = PtySession([drill, "--live", "--speed", "1000", "--out", out], cwd=REPO, columns=120, lines=40)
    try:
        s.wait_for("compartments")  # the dashboard is up
        s.type("pause", "close hatch lab-node by b", "inject slow-b", "move a to capsule", "resume")
    finally:
        code = s.close(timeout=120)
    assert code in (0, 1), s.text
    assert (out / "session.yaml").is_file()
    assert_replays(out)


def test_sweep_rerun_replays(tmp_path):
    sweep = tmp_path / "sweep"
    done = safehaven("sweep", SCENARIO, "--vary", "leaks.prk-hole.area=[0.1, 0.3] cm^2", "--out", sweep)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    out = tmp_path / "rerun"
    done = safehaven("sweep", "rerun", sweep, "1", "--out", out)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    manifest = json.loads((out / "inputs" / "manifest.json").read_text())
    assert manifest["overrides"] and manifest["overrides"][0].startswith("leaks.prk-hole.area=")
    assert_replays(out)
