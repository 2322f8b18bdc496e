"""The command process of a live session, and its replay.

Commands typed by trainee and trainer reach the simulation only at *ticks*, whole multiples of
:data:`TICK_S` of simulated time, from one simpy process. That is what makes a live session
replayable exactly: the session records each command with the tick it was applied at, and a
replay runs the same tick process on an ordinary ``simpy.Environment``, applying the recorded
commands at the same ticks. The simulation then sees the same events in the same order, and so
writes the same ``events.jsonl`` byte for byte. (Ticks also bound the engine's look-ahead to one
tick, so a command never lands in an interval the atmosphere has already been integrated over.)

A *source* gives the commands of a tick: :class:`ReplaySource` from a recorded session, or the
live console (:mod:`sim.drill.live`), which also pauses and changes speed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from simpy.core import StopSimulation

from sim.drill.commands import HELP, CommandError, execute, parse_command

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["TICK_S", "CommandSource", "ReplaySource", "control_process", "handle", "session_document"]

TICK_S = 1.0
"""Simulated time between the instants at which commands are applied [s]; a whole number, so that
tick times add up exactly in floating point."""

_SESSION_ONLY = ("pause", "resume", "speed", "help")


def _verb(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


class CommandSource(Protocol):
    """Where commands come from."""

    paused: bool

    def commands(self, run: DrillRun) -> list[str]:
        """Command lines to apply now (never blocks)."""

    def say(self, message: str, ok: bool = True) -> None:
        """Answer a command."""

    def control(self, command, run: DrillRun) -> None:
        """Carry out pause, resume, speed or help."""


class ReplaySource:
    """The commands of a recorded session, each given back at the tick it was applied at."""

    paused = False

    def __init__(self, records: list[dict[str, Any]]):
        self.pending = [r for r in records if "error" not in r and _verb(r["command"]) not in _SESSION_ONLY]
        self.k = 0

    def commands(self, run: DrillRun) -> list[str]:
        now, out = run.env.now, []
        while self.k < len(self.pending) and float(self.pending[self.k]["t"]) <= now:
            out.append(self.pending[self.k]["command"])
            self.k += 1
        return out

    def say(self, message: str, ok: bool = True) -> None:
        """Replays are silent."""

    def control(self, command, run: DrillRun) -> None:
        """Pausing and speed do not change what happens."""


def handle(run: DrillRun, text: str, source: CommandSource) -> None:
    """Parse, check, record and carry out one command line at the current simulated time.

    A bad command is answered with a message (and recorded, marked as refused); the run goes on.
    """
    now = run.env.now
    text = text.strip()
    if not text:
        return
    try:
        command = parse_command(text, run)
    except CommandError as exc:
        run.session.append({"t": now, "command": text, "error": str(exc)})
        source.say(f"{text}: {exc}", ok=False)
        return
    run.session.append({"t": now, "command": text})
    if command.verb == "help":
        source.say(HELP)
    elif command.verb in _SESSION_ONLY:
        source.control(command, run)
    elif command.verb == "quit":
        run.sim.log.emit(now, "session_quit")
        raise StopSimulation(None)
    else:
        execute(command, run)
        source.say(f"t={now:.0f} s: {text}")


def control_process(source: CommandSource):
    """The simpy process body (a function of the :class:`~sim.drill.injects.DrillRun`) applying commands."""

    def control(run: DrillRun):
        env, end = run.env, run.sim.end
        k = 0
        while True:
            t = k * TICK_S
            if t >= end:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            for text in source.commands(run):
                handle(run, text, source)
            while source.paused:  # live only: the world stands still, commands still answered
                time.sleep(0.05)
                for text in source.commands(run):
                    handle(run, text, source)
            k += 1

    return control


def session_document(run: DrillRun, speed: float | None = None) -> dict[str, Any]:
    """What ``session.yaml`` holds: how the run was played and every command with its time."""
    return {
        "drill": run.drill.drill.name,
        "mode": run.mode,
        "seed": run.sim.seed,
        "tick_s": TICK_S,
        "speed": speed,
        "commands": [dict(r) for r in run.session],
    }
