"""SIGKILL at random instants of every command that writes, then the next command (class 7).

For each command a kill must lose no completed result (a run directory, a report, a sweep part that
existed before) and leave nothing the next command refuses: :func:`kill_and_check` kills one command
at a random instant, then runs the command a user would run next and checks both.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .harness import REPO

TWO = REPO / "scenarios" / "two-volumes-valve.yaml"
LEAK = REPO / "tests" / "data" / "sweep" / "leak.yaml"
DRILL = sorted((REPO / "scenarios" / "drills").glob("*.yaml"))[0]
COMMANDS = ("run", "force", "report", "drill", "live-drill", "sweep", "resume")
_SWEEP = ["--vary", "leaks.crack.rate=log(0.1, 100, 12) lb/day", "--chunk-size", "1", "--workers", "1", "--quiet"]


def safehaven(*args, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, input=stdin, timeout=timeout)


def _start(*args, stdin=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=REPO, start_new_session=True,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_after(proc: subprocess.Popen, delay: float, group: bool = True) -> bool:
    """SIGKILL *proc* (its whole process group, or the process alone) after *delay* [s]; True when it
    was still running."""
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


def _workers_of(pid: int) -> list[int]:
    """Processes started for the sweep coordinator *pid* (they carry its SAFEHAVEN_SWEEP_OWNER)."""
    from sim.sweep.worker import OWNER_ENV

    mark = f"{OWNER_ENV}={socket.gethostname()}:{pid}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if mark in (d / "environ").read_bytes().split(b"\0"):
                    found.append(int(d.name))
            except OSError:
                continue
    return found


def _no_orphans(pid: int) -> None:
    """No worker of the killed coordinator *pid* may run on (they watch it and exit within seconds)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        left = _workers_of(pid)
        if not left:
            return
        time.sleep(0.3)
    for w in left:
        os.kill(w, signal.SIGKILL)
    raise AssertionError(f"worker processes left running after their coordinator was killed: {left}")


def kill_and_check(command: str, tmp: Path, rng: random.Random, span: float) -> str:
    """Kill *command* at a random instant in [0, *span*] s; returns 'before', 'during' or 'after'."""
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "out"
    delay = rng.uniform(0.0, span)
    if command in ("run", "force"):
        if command == "force":
            assert safehaven("run", TWO, "--out", out, "--quiet", "--set", "duration=5 min").returncode == 0
        old = json.loads((out / "summary.json").read_text()) if out.exists() else None
        alive = _kill_after(_start("run", TWO, "--out", out, "--force", "--quiet", "--seed", "9"), delay)
        # the next command: a replay of the directory, or a new run into it
        if out.exists() or old is not None:
            p = safehaven("replay", out)
            assert p.returncode == 0, p.stderr
            got = json.loads((out / "summary.json").read_text())
            assert got == old or got["seed"] == 9  # the previous result or the complete new one
        assert safehaven("run", TWO, "--out", out, "--force", "--quiet", "--set", "duration=2 min").returncode == 0
        assert [p.name for p in tmp.iterdir()] == ["out"], list(tmp.iterdir())
    elif command == "report":
        run = tmp / "run"
        assert safehaven("run", TWO, "--out", run, "--quiet", "--set", "duration=5 min").returncode == 0
        assert safehaven("report", run).returncode == 0
        before = (run / "report.html").read_text()
        alive = _kill_after(_start("report", run), delay)
        now = (run / "report.html").read_text()
        assert now == before or now.rstrip().endswith("</html>")
        assert safehaven("report", run).returncode == 0
    elif command in ("drill", "live-drill"):
        live = ["--live", "--speed", "20000"] if command == "live-drill" else []
        alive = _kill_after(_start("drill", DRILL, *live, "--out", out, stdin="" if live else None), delay)
        if out.exists():  # a finished run directory, or a session on disk from its first moment
            assert ((out / "scorecard.json").is_file() and (out / "summary.json").is_file()) or \
                (out / "session.yaml").is_file(), sorted(p.name for p in out.iterdir())
        p = safehaven("drill", DRILL, "--out", out, "--force", *live, stdin="" if live else None)
        assert p.returncode in (0, 1), p.stderr
    else:
        sweep = tmp / "sweep"
        if command == "resume":
            proc = _start("sweep", LEAK, *_SWEEP, "--out", sweep)
            _kill_after(proc, 4.0, group=False)
            _no_orphans(proc.pid)
        temp_before = set(Path(tempfile.gettempdir()).glob("safehaven-sweep-*"))
        parts = sorted(p.name for p in (sweep / "parts").glob("part-*")) if (sweep / "parts").is_dir() else []
        args = ("sweep", "resume", sweep, "--workers", "1", "--quiet") if command == "resume" and \
            (sweep / "design.parquet").exists() else ("sweep", LEAK, *_SWEEP, "--out", sweep)
        proc = _start(*args)
        alive = _kill_after(proc, delay, group=False)  # the coordinator alone: its workers must follow
        _no_orphans(proc.pid)
        kept = sorted(p.name for p in (sweep / "parts").glob("part-*")) if (sweep / "parts").is_dir() else []
        assert set(parts) <= set(kept), "a completed part was lost"
        nxt = ("sweep", "resume", sweep, "--workers", "1", "--quiet") if (sweep / "design.parquet").exists() \
            else ("sweep", LEAK, *_SWEEP, "--out", sweep)
        p = safehaven(*nxt)
        assert p.returncode in (0, 1), p.stderr
        from sim.sweep import load

        assert len(load(sweep)) == 12
        leftovers = {d for d in set(Path(tempfile.gettempdir()).glob("safehaven-sweep-*-*")) - temp_before
                     if d.name.split("-")[2].isdigit()}  # named after their coordinator
        assert not leftovers, f"unpacked inputs left in the temporary folder: {sorted(leftovers)}"
    return "during" if alive else "after"


def campaign(tmp: Path, per_command: int, seed: int = 1) -> dict[str, dict[str, int]]:
    """*per_command* kills of every command; {command: {"kills", "survived"}} (raises on a loss)."""
    rng = random.Random(seed)
    spans = {"run": 4.0, "force": 4.0, "report": 8.0, "drill": 10.0, "live-drill": 10.0, "sweep": 12.0,
             "resume": 10.0}
    stats = {}
    for command in COMMANDS:
        st = stats.setdefault(command, {"kills": 0, "during": 0, "after": 0})
        for k in range(per_command):
            st[kill_and_check(command, tmp / f"{command}-{k}", rng, spans[command])] += 1
            st["kills"] += 1
    return stats
