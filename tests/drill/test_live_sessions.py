"""A live session is never lost: a default directory named on screen, Ctrl-C saves, --resume plays on.

Issue 13, live play 3: Ctrl-C ended a live session with exit 130 and no run directory, and --live
without --out recorded nothing and said nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.drill.live_helpers import PtySession
from tests.drill.test_live import LIVE_DRILL


def _replay(directory: Path, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli_drill", "--replay", str(directory)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_ctrl_c_keeps_the_session_in_the_default_directory_and_resume_plays_on(drill_dir):
    (drill_dir / "live.yaml").write_text(LIVE_DRILL)
    s = PtySession(["live.yaml", "--live", "--speed", "100"], cwd=drill_dir)
    s.wait_for("compartments")
    named = re.search(r"session directory: (\S+)", s.text)
    assert named, s.text[:2000]
    out = drill_dir / named.group(1)
    assert out.parent.name == "runs" and out.name.startswith("drill-live-")
    s.type("close hatch lab-node by b")
    s.wait_for("accepted: close hatch lab-node by b")
    time.sleep(0.3)
    s.ctrl_c()
    code = s.close()
    assert code == 1, s.text[-2000:]  # scored (one expectation not met), not killed (130)

    session = yaml.safe_load((out / "session.yaml").read_text())
    assert session["status"] == "ended" and session["mode"] == "live"
    last = session["commands"][-1]
    assert last["command"] == "quit" and last["reason"] == "interrupted (Ctrl-C)"
    card = json.loads((out / "scorecard.json").read_text())
    assert card["ended_early"]["reason"] == "interrupted (Ctrl-C)"
    assert card["ended_early"]["at_s"] == last["t"] < 3600
    assert _replay(out, drill_dir).returncode == 0  # what was kept replays to identical events

    # play on from where it stopped, to the drill's end
    s = PtySession(["--resume", str(out), "--speed", "2000"], cwd=drill_dir)
    s.wait_for("resuming")
    code = s.close(timeout=120)
    assert code in (0, 1), s.text[-2000:]
    resumed = yaml.safe_load((out / "session.yaml").read_text())
    assert resumed["status"] == "ended" and resumed["reached_s"] == 3600.0
    commands = [c["command"] for c in resumed["commands"]]
    assert commands == ["close hatch lab-node by b"]  # the same history; the quit is gone
    assert resumed["commands"][0]["t"] == session["commands"][0]["t"]
    assert json.loads((out / "scorecard.json").read_text())["ended_early"] is None
    assert _replay(out, drill_dir).returncode == 0


def test_a_killed_session_keeps_its_inputs_and_commands(drill_dir, tmp_path):
    (drill_dir / "live.yaml").write_text(LIVE_DRILL)
    out = tmp_path / "kept"
    s = PtySession(["live.yaml", "--live", "--speed", "50", "--out", str(out)], cwd=drill_dir)
    s.wait_for("compartments")
    s.type("move a to node")
    s.wait_for("accepted: move a to node")
    time.sleep(0.3)
    os.killpg(s.proc.pid, signal.SIGKILL)  # no chance to save anything more
    s.close()
    session = yaml.safe_load((out / "session.yaml").read_text())
    assert session["status"] == "running"
    assert [c["command"] for c in session["commands"]] == ["move a to node"]
    assert (out / "inputs" / "manifest.json").is_file()
    resumed = subprocess.run([sys.executable, "-m", "sim.cli_drill", "--resume", str(out), "--speed", "100000"],
                             cwd=drill_dir, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert resumed.returncode in (0, 1), resumed.stdout + resumed.stderr
    assert "session directory" in resumed.stdout
    assert yaml.safe_load((out / "session.yaml").read_text())["status"] == "ended"
    assert _replay(out, drill_dir).returncode == 0


def test_a_tampered_session_is_refused_with_its_path(drill_dir, tmp_path):
    """--resume and --replay read session.yaml and the manifest with the validated readers."""
    (drill_dir / "live.yaml").write_text(LIVE_DRILL)
    out = tmp_path / "batch"
    subprocess.run([sys.executable, "-m", "sim.cli_drill", "live.yaml", "--out", str(out)], cwd=drill_dir,
                   capture_output=True, timeout=120)
    session = yaml.safe_load((out / "session.yaml").read_text())
    cases = [({**session, "commands": [{"t": "soon", "command": "quit"}]}, "'commands' must be a list"),
             ({**session, "seed": -4}, "seed must be a whole number"),
             ({**session, "mode": "live", "reached_s": "late"}, "reached_s must be a time")]
    for doc, message in cases:
        (out / "session.yaml").write_text(yaml.safe_dump(doc))
        for args in (["--resume", str(out)], ["--replay", str(out)]):
            r = subprocess.run([sys.executable, "-m", "sim.cli_drill", *args], cwd=drill_dir, capture_output=True,
                               text=True, timeout=120, stdin=subprocess.DEVNULL)
            assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
            if args[0] == "--replay" or doc.get("mode") == "live":
                assert message in r.stderr and "session.yaml" in r.stderr, r.stderr
    manifest = json.loads((out / "inputs" / "manifest.json").read_text())
    manifest["files"]["drill"] = "../../../elsewhere.yaml"
    (out / "session.yaml").write_text(yaml.safe_dump(session))
    (out / "inputs" / "manifest.json").write_text(json.dumps(manifest))
    r = subprocess.run([sys.executable, "-m", "sim.cli_drill", "--replay", str(out)], cwd=drill_dir,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "drill file" in r.stderr and "Traceback" not in r.stderr, r.stderr
