"""Outputs are never half-written: ``safehaven run --out DIR`` killed with SIGKILL at random moments
leaves either no DIR or a complete one (summary.json, events.jsonl, series.csv, inputs/manifest.json,
all parseable). The writer builds the directory as ``.DIR.<random>.partial`` beside DIR and renames it
into place (sim/results/writers.py); a SIGKILL during the build can leave that hidden temporary
directory behind, which docs/reliability.md documents. A killed sweep resumes to the identical table:
the sweep tests' own kill-and-resume test is called here, not copied.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .harness import REPO

SCENARIO = REPO / "scenarios" / "iss-destiny-hole.yaml"
DELAYS = 6
"""Random kill instants per test run."""
STATS = {"kills": 0, "nothing": 0, "complete": 0, "partial_left": 0}


def complete(out: Path) -> bool:
    """Whether a run directory holds every file, each parseable."""
    json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = (out / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(line)["kind"] for line in lines)
    assert json.loads(lines[-1])["kind"] == "run_end"
    header = (out / "series.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("t_s,")
    json.loads((out / "inputs" / "manifest.json").read_text(encoding="utf-8"))
    return True


def kill_run_at(delay: float, tmp: Path) -> str:
    """Start a run, SIGKILL it after *delay* [s]; 'nothing' or 'complete' (asserting no half state)."""
    out = tmp / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(SCENARIO), "--out", str(out), "--quiet"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    STATS["kills"] += 1
    leftovers = [p for p in tmp.iterdir() if p.name.startswith(".run.")]
    if leftovers:
        STATS["partial_left"] += 1
        assert all(p.name.endswith((".partial", ".old")) for p in leftovers), leftovers
    if not out.exists():
        STATS["nothing"] += 1
        return "nothing"
    assert complete(out)
    STATS["complete"] += 1
    return "complete"


def test_a_killed_run_leaves_nothing_or_a_complete_directory(tmp_path):
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "sim.cli", "run", str(SCENARIO), "--out", str(tmp_path / "ref"), "--quiet"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL, timeout=300)
    full = time.monotonic() - t0  # [s]: kill instants are spread over the whole run, writing included
    rng = random.Random(20260605)
    seen = set()
    for k in range(DELAYS):
        case = tmp_path / f"k{k}"
        case.mkdir()
        seen.add(kill_run_at(rng.uniform(0.0, 1.2 * full), case))
    assert seen <= {"nothing", "complete"}


def test_a_killed_sweep_resumes_to_the_identical_table(tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    execution = importlib.import_module("sweep.test_execution")
    execution.test_kill_9_then_resume_gives_the_uninterrupted_table(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_politely_stopped_run_leaves_nothing_behind(tmp_path, signum):
    """SIGTERM/SIGINT let the writer's cleanup run: no DIR and no temporary directory."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(SCENARIO), "--out", str(out), "--quiet"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode()
    if out.exists():
        assert complete(out)  # it had finished before the signal
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]


@pytest.mark.slow
def test_kill_campaign_loses_nothing_and_leaves_nothing_refused(tmp_path):
    """SIGKILL once, at a random instant, in run, --force, report, drill, live drill, sweep and resume."""
    from .kills import COMMANDS, campaign

    stats = campaign(tmp_path, per_command=1, seed=20261201)
    assert set(stats) == set(COMMANDS) and all(s["kills"] == 1 for s in stats.values())
