"""``safehaven sweep`` through the installed console script: every form reaches its handler.

Issue 10 case 1: every form exited 3 with ``internal error: KeyError: '_cmd_sweep'`` because the
sub-command registered no handler, and the suite only called ``sim.cli_sweep.main``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import _parser

from .conftest import LEAK, RATE

SAFEHAVEN = Path(sys.executable).with_name("safehaven")


def safehaven(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SAFEHAVEN), *map(str, args)], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_every_subcommand_registers_a_handler():
    sub = next(a for a in _parser()._actions if a.dest == "command")
    missing = [name for name, p in sub.choices.items() if not callable(p.get_default("handler"))]
    assert missing == []


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "rate"
    proc = safehaven("sweep", LEAK, "--vary", f"{RATE}=log(1, 100, 3) lb/day", "--out", out,
                     "--executor", "serial")
    assert proc.returncode == 0, proc.stderr
    assert "internal error" not in proc.stderr
    assert "3 runs done now (0 failed)" in proc.stdout
    return out


def test_sweep_start_writes_every_run(swept):
    assert (swept / "sweep.json").is_file()
    assert len(list((swept / "parts").iterdir())) >= 1


def test_sweep_resume_has_nothing_left(swept):
    proc = safehaven("sweep", "resume", swept, "--executor", "serial", "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"ran": 0' in proc.stdout


def test_sweep_rerun_writes_a_run_directory(swept, tmp_path):
    proc = safehaven("sweep", "rerun", swept, "1", "--out", tmp_path / "r", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r" / "summary.json").is_file()


def test_sweep_plot_draws_pngs(swept, tmp_path):
    proc = safehaven("sweep", "plot", swept, "--out", tmp_path / "plots")
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "plots").glob("*.png"))


def test_sweep_bad_spec_is_exit_2_without_traceback(tmp_path):
    proc = safehaven("sweep", LEAK, "--vary", f"{RATE}=gauss(1, 2)", "--out", tmp_path / "s")
    assert proc.returncode == 2
    assert "unknown gauss()" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s").exists()


def test_python_m_sim_cli_sweep_is_the_same_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sim.cli_sweep", "resume"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "usage: safehaven sweep resume DIR" in proc.stderr
