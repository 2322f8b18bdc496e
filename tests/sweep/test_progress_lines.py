"""Progress of a sweep whose stderr is not a terminal: plain lines with runs/s and an ETA."""

from __future__ import annotations

import re
import shutil
import subprocess

from sim.sweep import runner

from .conftest import LEAK, RATE


def test_a_sweep_logged_to_a_file_prints_plain_progress_lines(tmp_path):
    exe = shutil.which("safehaven")
    out = subprocess.run([exe, "sweep", str(LEAK), "--vary", f"{RATE}=log(1, 100, 6) lb/day",
                          "--executor", "serial", "--out", str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("sweep: ")]
    assert lines, out.stderr
    assert re.fullmatch(r"sweep: 6/6 runs \(100\.0 %\), [0-9.]+ runs/s, ETA 00:00:00, 0 failed", lines[-1])
    assert "\r" not in out.stderr and "\x1b[" not in out.stderr  # no bar redrawn in place


def test_progress_line_rate_and_eta():
    p = runner._progress(True, 1000, 0)
    p.done, p.failed = 250, 3
    assert p.line(10.0) == "sweep: 250/1000 runs (25.0 %), 25.0 runs/s, ETA 00:00:30, 3 failed"
