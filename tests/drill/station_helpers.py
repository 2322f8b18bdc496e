"""Serve a drill with ``safehaven drill … --serve`` in a subprocess, and talk to it as pages do."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVED_DRILL = """\
name: Served drill
scenario: scenario.yaml
set: {duration: 20 min}
injects:
  - {name: lab-gauge-high, fault: gauge, of: lab, bias: 20 mmHg, at: 1 min, note: "the lab gauge reads 20 mmHg high"}
  - {name: hidden-hole, fault: new_leak, leak: secret-hole, in: node, diameter: 2 mm, at: 4 min}
  - {name: capsule-sticks, fault: hatch_jams, hatch: node-capsule, manual: true, note: "the capsule hatch sticks"}
expect:
  - {expect: hatches_closed, hatches: [lab-node], within: 10 min, of: leak_start crack, weight: 2}
  - {expect: nobody_incapacitated}
"""

HIDDEN = ("secret-hole", "crack", "hidden-hole", "lab-gauge-high", "capsule-sticks", "new_leak", "hatch_jams",
          "leak_start", "leak_isolated", "inject", "cda", "bias", "treserve_s", "dpdt_Pa_s", '"jammed"')
"""Words that must never reach a trainee page: leak ids and sites' events, inject names and faults,
true model quantities. (A hatch the crew found jammed is ``reported_jammed``.)"""


class Served:
    """``safehaven drill DRILL --serve --port 0 …`` running; its URLs; stopped with SIGINT."""

    def __init__(self, drill: Path, out: Path, *extra: str, cwd: Path | None = None):
        cwd = cwd or drill.parent
        self.out = cwd / out
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("safehaven")), "drill", str(drill), "--serve", "--port", "0",
             "--out", str(out), *extra],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, env=dict(os.environ, MPLBACKEND="Agg"))
        self.lines: list[str] = []
        deadline = time.monotonic() + 90
        while True:
            line = self.proc.stdout.readline()
            assert line or self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, "".join(self.lines)
            self.lines.append(line)
            if line.startswith("session directory"):
                break
        text = "".join(self.lines)
        self.base = re.search(r"http://127\.0\.0\.1:\d+", text).group(0)
        self.ws = self.base.replace("http://", "ws://")

    def stop(self, timeout: float = 60) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate()
        return self.proc.returncode, "".join(self.lines) + out, err


class Client:
    """A websocket page: everything it receives, in order."""

    def __init__(self, session, url: str):
        self.session, self.url = session, url
        self.messages: list[dict] = []
        self.ws = None
        self.task = None

    async def open(self):
        self.ws = await self.session.ws_connect(self.url, max_msg_size=0)
        self.task = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        async for msg in self.ws:
            self.messages.append(json.loads(msg.data))

    async def send(self, text: str):
        await self.ws.send_str(json.dumps({"type": "command", "text": text}))

    async def branch(self, name: str):
        await self.ws.send_str(json.dumps({"type": "branch", "bookmark": name}))

    async def until(self, predicate, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while not any(predicate(m) for m in self.messages):
            assert time.monotonic() < deadline, f"timed out; last: {self.messages[-3:]}"
            await asyncio.sleep(0.02)
        return next(m for m in self.messages if predicate(m))

    def states(self):
        return [m["state"] for m in self.messages if m["type"] == "state"]

    def texts(self):
        return [m["text"] for m in self.messages if m["type"] == "message"]


def replay(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("safehaven")), "drill", "--replay", str(directory)],
                          capture_output=True, text=True, timeout=300)
