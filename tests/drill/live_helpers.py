"""A scripted live source on a fake wall clock: the live console's code paths, deterministic."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import shutil
import subprocess
import sys
import termios
import threading
import time

from rich.console import Console

from sim.drill.live import LiveConsole
from sim.drill.pacing import Pacer


class FakeClock:
    """A wall clock that moves only when slept on (engine time costs nothing)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, d: float) -> None:
        self.now += d


class ScriptedConsole(LiveConsole):
    """The live console with commands typed at given ticks and a fake wall clock.

    ``script``: {tick [s]: [command lines]}; ``paused_wall_s``: wall time a pause lasts before
    the scripted ``resume`` (typed at the same tick) is read; ``probe(run, console)`` runs at every tick.
    """

    def __init__(self, script: dict[float, list[str]], speed: float = 120.0, probe=None, paused_wall_s: float = 30.0):
        self.fake = FakeClock()
        super().__init__(io.StringIO(), speed, console=Console(file=io.StringIO(), width=200),
                         pacer=Pacer(speed, clock=self.fake, sleep=self.fake.sleep))
        self.script = {float(k): list(v) for k, v in script.items()}
        self.probe = probe
        self.paused_wall_s = paused_wall_s
        self.said: list[tuple[float, str, bool]] = []
        self.tick_wall: dict[float, float] = {}
        self._held: list[str] = []
        self._run = None

    def commands(self, run):
        self._run = run
        if self.paused:  # the world stands still; the trainer thinks for a while, then types on
            self.fake.sleep(self.paused_wall_s)
            out, self._held = self._held, []
            return out
        lines = self.script.pop(run.env.now, [])
        if "pause" in lines:
            k = lines.index("pause") + 1
            lines, self._held = lines[:k], lines[k:]
        return lines

    def say(self, message, ok=True, to=None):
        t = self._run.env.now if self._run is not None else 0.0
        self.said.append((t, message, ok))

    def tick(self, run):
        super().tick(run)
        self.tick_wall[run.env.now] = self.fake.now
        if self.probe is not None:
            self.probe(run, self)


class PtySession:
    """``safehaven drill … --live`` in a pseudo-terminal: type lines, send Ctrl-C, read the screen.

    The installed console script is driven (``python -m sim.cli_drill`` where it is not on PATH); the
    pseudo-terminal is the child's controlling terminal, so Ctrl-C there is SIGINT to it.
    """

    def __init__(self, args: list[str], cwd, *, columns: int = 160, lines: int = 50):
        exe = shutil.which("safehaven")
        program = [exe, "drill"] if exe else [sys.executable, "-m", "sim.cli_drill"]
        self.master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm", COLUMNS=str(columns), LINES=str(lines))

        def controlling_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([*program, *map(str, args)], stdin=slave, stdout=slave, stderr=slave,
                                     cwd=cwd, env=env, start_new_session=True, preexec_fn=controlling_terminal)
        os.close(slave)
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < deadline and self.proc.poll() is None, self.text[-3000:]
            time.sleep(0.02)

    def type(self, *lines: str) -> None:
        for line in lines:
            os.write(self.master, (line + "\n").encode())
            time.sleep(0.05)

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def close(self, timeout: float = 60.0) -> int:
        """Wait for the session to end (killing it after ``timeout`` [s]); its exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.reader.join(timeout=5)
            os.close(self.master)
        return code
