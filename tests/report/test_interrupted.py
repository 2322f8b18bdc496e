"""An interrupted run leaves no run directory behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

LONG = """\
name: long enough to kill
duration: 250 h   # within the run limits (a million samples and polls)
seed: 1
output: {every: 1 s}
station:
  name: two
  alarms: {poll: 1 s}
  atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}
  compartments: {a: {volume: 20 m^3}, b: {volume: 5 m^3, atmosphere: {N2: 47 kPa, O2: 12 kPa}}}
  hatches: {a-b: {between: [a, b], open: false, valve: 1 cm^2, valve_open: true}}
"""


def test_killed_run_leaves_no_directory(tmp_path):
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert not list(tmp_path.glob(".run.*"))


def test_killed_while_writing_leaves_only_a_partial(tmp_path):
    """SIGKILL while the directory is being written: no run directory, a .NAME.*.partial remains."""
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import time, pathlib
        import sim
        import sim.results.writers as w
        result = sim.run({str(Path(__file__).resolve().parents[2] / 'scenarios' / 'two-volumes-valve.yaml')!r}, overrides=['duration=1 min'])
        def slow(path, columns):
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(60)
        w.write_series_csv = slow
        w.write_run(result, {str(tmp_path / 'run')!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ready.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "run").exists()
    assert len(list(tmp_path.glob(".run.*.partial"))) == 1  # documented: cleanup is left to the user


def test_interrupt_in_process_cleans_up(tmp_path, monkeypatch):
    import pytest

    import sim
    import sim.results.writers as w

    result = sim.run(Path(__file__).resolve().parents[2] / "scenarios" / "two-volumes-valve.yaml", overrides=["duration=1 min"])

    def boom(path, columns):
        raise KeyboardInterrupt

    monkeypatch.setattr(w, "write_series_csv", boom)
    with pytest.raises(KeyboardInterrupt):
        w.write_run(result, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
