"""The command process of a live session, and its replay.

Commands typed by trainee and trainer reach the simulation only at *ticks*, whole multiples of
:data:`TICK_S` of simulated time, from one simpy process. That is what makes a live session
replayable exactly: the session records each command with the tick it was applied at, and a
replay runs the same tick process, applying the recorded commands at the same ticks. The
simulation then sees the same events in the same order, and so writes the same ``events.jsonl``
byte for byte. (Ticks also bound the engine's look-ahead to one tick, so a command never lands in
an interval the atmosphere has already been integrated over.)

A *source* gives the commands of a tick: :class:`ReplaySource` from a recorded session,
:class:`ResumeSource` (a recorded session re-executed up to an instant, then a live source), or a
live front end (the console of :mod:`sim.drill.live`, the browser station of :mod:`sim.drill.web`),
which also paces the simulation against the wall clock, pauses and changes speed. Pacing happens
between events, never inside them, so it cannot change what happens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from simpy.core import StopSimulation

from sim.drill.clock import clock
from sim.drill.commands import (
    HELP,
    TRAINER,
    CommandError,
    execute,
    parse_command,
    running_procedures,
)
from sim.drill.feedback import CommandFeedback

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["TICK_S", "CommandSource", "ReplaySource", "ResumeSource", "control_process", "handle",
           "procedures_text", "session_document"]

TICK_S = 1.0
"""Simulated time between the instants at which commands are applied [s]; a whole number, so that
tick times add up exactly in floating point."""

_SESSION_ONLY = ("pause", "resume", "speed", "help", "procedures", "bookmark")


def _verb(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


class CommandSource(Protocol):
    """Where commands come from.

    ``paused`` holds the world still; ``stop_reason``, once set (by a signal handler, a closing
    browser station), ends the session at the next tick as a ``quit`` with that reason.
    """

    paused: bool
    stop_reason: str | None

    def commands(self, run: DrillRun) -> list:
        """Command lines to apply now, each a string or ``(line, fields recorded with it)``
        (never blocks)."""

    def say(self, message: str, ok: bool = True, to: str | None = None) -> None:
        """Answer a command (*to*: the page it came from, when not everyone should hear it)."""

    def control(self, command, run: DrillRun) -> None:
        """Carry out pause, resume, speed or bookmark."""

    def pace(self, run: DrillRun) -> None:
        """Wait until the current tick is due on the wall clock (a replay does not wait)."""

    def tick(self, run: DrillRun) -> None:
        """Called once per tick after its commands: look at the state (never change it)."""


class ReplaySource:
    """The commands of a recorded session, each given back at the tick it was applied at."""

    paused = False
    stop_reason = None

    def __init__(self, records: list[dict[str, Any]], until: float | None = None):
        self.pending = [r for r in records if "error" not in r and _verb(r["command"]) not in _SESSION_ONLY
                        and (until is None or float(r["t"]) < until)]
        self.k = 0

    def commands(self, run: DrillRun) -> list[str]:
        now, out = run.env.now, []
        while self.k < len(self.pending) and float(self.pending[self.k]["t"]) <= now:
            out.append(self.pending[self.k]["command"])
            self.k += 1
        return out

    def say(self, message: str, ok: bool = True, to: str | None = None) -> None:
        """Replays are silent."""

    def control(self, command, run: DrillRun) -> None:
        """Pausing and speed do not change what happens."""

    def pace(self, run: DrillRun) -> None:
        """A replay runs as fast as it can."""

    def tick(self, run: DrillRun) -> None:
        """Nothing to show."""


class ResumeSource:
    """A recorded session re-executed as fast as possible up to *until* [s], then *live* takes over.

    Resuming a session that was interrupted and branching from a bookmark are both this: the
    recorded commands before the instant are applied at their ticks (so the world at the instant
    is exactly the recorded one), the recorded ``quit`` and everything after are left out.
    """

    def __init__(self, records: list[dict[str, Any]], until: float, live: CommandSource):
        self.replay = ReplaySource([r for r in records if _verb(r["command"]) != "quit"], until)
        self.until, self.live = float(until), live
        self._now = 0.0

    def _live(self) -> bool:
        return self._now >= self.until

    @property
    def paused(self) -> bool:
        return self._live() and self.live.paused

    @property
    def stop_reason(self) -> str | None:
        return self.live.stop_reason

    def __getattr__(self, name):  # stop_reason and the live source's extras
        return getattr(self.live, name)

    def commands(self, run: DrillRun) -> list[str]:
        self._now = run.env.now
        return self.live.commands(run) if self._live() else self.replay.commands(run)

    def say(self, message: str, ok: bool = True, to: str | None = None) -> None:
        if self._live():
            self.live.say(message, ok, to)

    def control(self, command, run: DrillRun) -> None:
        if self._live():
            self.live.control(command, run)

    def pace(self, run: DrillRun) -> None:
        self._now = run.env.now
        if self._live():
            self.live.pace(run)

    def tick(self, run: DrillRun) -> None:
        if self._live():
            self.live.tick(run)


def procedures_text(run: DrillRun) -> str:
    """What runs now, for ``procedures``: label, phase and who works for it."""
    running = running_procedures(run)
    if not running:
        return "no procedure is running"
    lines = []
    for r in running:
        crew = [m.id for m in run.sim.crew.values() if m.task is not None and r.tasks.get(m.task, False) is not False]
        lines.append(f"{r.label} ({r.procedure.name}) phase {r.phase or '-'}" + (f", crew {' '.join(crew)}" if crew else ""))
    return "\n".join(lines)


def handle(run: DrillRun, text: str, source: CommandSource, feedback: CommandFeedback | None = None,
           **record: Any) -> None:
    """Parse, check, record and carry out one command line at the current simulated time.

    A bad command is answered with a message (and recorded, marked as refused); the run goes on.
    *record* adds fields to the session record (``reason`` of a quit, ``by`` of a trainee page).
    """
    now = run.env.now
    text = text.strip()
    if not text:
        return
    page = record.get("page")
    try:
        command = parse_command(text, run)
    except CommandError as exc:
        run.session.append({"t": now, "command": text, "error": str(exc), **record})
        source.say(f"{text}: {exc}", False, page)
        return
    run.session.append({"t": now, "command": text, **record})
    if command.verb == "help":
        source.say(HELP, True, page)
    elif command.verb == "procedures":
        source.say(procedures_text(run), True, page)
    elif command.verb in _SESSION_ONLY:
        source.control(command, run)
    elif command.verb == "quit":
        run.sim.log.emit(now, "session_quit")
        raise StopSimulation(None)
    else:
        label = execute(command, run)
        # the instructor's own commands (inject, stop, cancel) are not announced to the crew
        source.say(f"{clock(now)} accepted: {text}", True, "instructor" if command.verb in TRAINER else None)
        if label is not None and feedback is not None and command.verb != "start":
            feedback.accepted(label, text, now)


def control_process(source: CommandSource):
    """The simpy process body (a function of the :class:`~sim.drill.injects.DrillRun`) applying commands."""

    def control(run: DrillRun):
        env, end = run.env, run.sim.end
        feedback = CommandFeedback(run, source.say)
        run.feedback = feedback
        k = 0
        while True:
            t = k * TICK_S
            if t >= end:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            source.pace(run)
            feedback.update()
            _apply(run, source, feedback)
            while source.paused:  # live only: the world stands still, commands still answered
                time.sleep(0.05)
                _apply(run, source, feedback)
            source.tick(run)
            k += 1

    return control


def _apply(run: DrillRun, source: CommandSource, feedback: CommandFeedback) -> None:
    if source.stop_reason is not None:
        handle(run, "quit", source, feedback, reason=source.stop_reason)
    for item in source.commands(run):  # a line, or (line, fields to record with it)
        text, fields = (item, {}) if isinstance(item, str) else item
        handle(run, text, source, feedback, **fields)


def session_document(run: DrillRun, speed: float | None = None, status: str = "ended") -> dict[str, Any]:
    """What ``session.yaml`` holds: how the run was played and every command with its time.

    *status* is ``running`` while a live session goes on (the file is rewritten as it does, so a
    session killed outright can still be resumed), ``ended`` once it is over.
    """
    return {
        "drill": run.drill.drill.name,
        "mode": run.mode,
        "seed": run.sim.seed,
        "play": run.play,
        "tick_s": TICK_S,
        "speed": speed,
        "status": status,
        "reached_s": float(run.env.now),
        "commands": [dict(r) for r in run.session],
    }
