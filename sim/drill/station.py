"""The browser station's session core: a drill run in its own thread, fed by pages, watched by pages.

:class:`BrowserSource` is the command source of :mod:`sim.drill.session` for the browser: commands
arrive from any thread (the web server's) into a queue; each tick waits on the
:class:`~sim.drill.pacing.Pacer`; once per tick it builds the instructor's and the trainees' views
(:mod:`sim.drill.views`) and hands them, with every new event, to a *publish* callback, never more
often than :data:`STATE_EVERY_S` of wall time for the views (events always, in order).

:class:`StationSession` owns one session's lifecycle: start (paused at the first tick, so the
instructor starts the clock), record (:class:`~sim.drill.record.SessionRecorder`, exactly as the
console does), end (the run directory written, the scorecard kept for the debrief), and
:meth:`StationSession.branch`: a new session that re-executes the recorded commands up to a
bookmark (:class:`~sim.drill.session.ResumeSource`) and plays on live from there.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.drill.clock import clock
from sim.drill.commands import TRAINER
from sim.drill.injects import DrillRun
from sim.drill.pacing import Pacer
from sim.drill.record import SessionRecorder, session_files
from sim.drill.scorecard import live_score
from sim.drill.session import ResumeSource, control_process
from sim.drill.trend import PressureTrend
from sim.drill.views import instructor_view, static_info, trainee_event, trainee_view
from sim.results.state import StateTracker
from sim.results.writers import write_run

__all__ = ["STATE_EVERY_S", "BrowserSource", "StationSession", "crew_command"]

STATE_EVERY_S = 0.2
"""Shortest wall time between two state messages to the pages [s] (events are never held back)."""
LIVE_SCORE_EVERY_S = 2.0
"""Shortest wall time between two computations of the instructor's live score [s]."""

_BY_VERBS = ("close", "open", "measure", "repair", "repress", "undock")


def crew_command(text: str, crew: str | None) -> str:
    """A command typed on crew member *crew*'s page: ``by CREW`` added where the command takes one."""
    words = text.split()
    if crew is None or not words or words[0] not in _BY_VERBS or "by" in words:
        return text
    return f"{text} by {crew}"


class BrowserSource:
    """The command source of a browser session (see the module docstring).

    Parameters
    ----------
    speed : float
        Simulated seconds per wall second.
    publish : callable(audience, message)
        *audience* is ``"instructor"``, ``"trainee"`` or a page id; called from the simulation's thread.
    """

    def __init__(self, speed: float, publish: Callable[[str, dict], None], on_tick=None, paused: bool = True):
        self.pacer = Pacer(speed)
        self.publish = publish
        self.on_tick = on_tick
        self.paused = paused
        self.stop_reason: str | None = None
        self.inbox: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.trend = PressureTrend()
        self.bookmarks: list[dict[str, Any]] = []
        self.tracker: StateTracker | None = None  # the state derived from the events (sim.results.state)
        self.reported_jammed: set[str] = set()
        self.reported_stuck: set[str] = set()
        self._seen = 0
        self._last_state = -1.0
        self._last_score = -1.0
        self._score = None
        self._dirty = True

    # -- from the web server's thread ------------------------------------------------------------
    def submit(self, text: str, page: str, role: str, crew: str | None = None) -> str | None:
        """Queue a command typed on a page; returns why it is refused at once (trainer-only), or None."""
        text = text.strip()
        if not text:
            return "empty command"
        if role == "trainee":
            verb = text.split()[0]
            if verb in TRAINER:
                return f"'{verb}' is the instructor's; a trainee page gives crew commands (type 'help')"
            text = crew_command(text, crew)
        self.inbox.put((text, {"page": page}))
        return None

    # -- the CommandSource protocol (the simulation's thread) ----------------------------------------
    def commands(self, run: DrillRun) -> list:
        out = []
        while True:
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        if self.paused:
            self.publish_events(run)
            self.publish_state(run, force=bool(out))
        return out

    def say(self, message: str, ok: bool = True, to: str | None = None) -> None:
        self.publish(to or "all", {"type": "message", "text": message, "ok": ok})
        self._dirty = True

    def control(self, command, run: DrillRun) -> None:
        now = run.env.now
        if command.verb == "pause":
            self.paused = True
            self.say(f"paused at {clock(now)}")
        elif command.verb == "resume":
            self.paused = False
            self.pacer.reanchor(now)
            self.say(f"resumed at {clock(now)}")
        elif command.verb == "speed":
            self.pacer.set_speed(command.arg, now)
            self.say(f"speed x{command.arg:g}")
        elif command.verb == "bookmark":
            self.bookmarks.append({"name": command.arg, "t_s": now, "at": clock(now)})
            self.publish("instructor", {"type": "message", "text": f"bookmark {command.arg} at {clock(now)}",
                                        "ok": True})
        self.publish_state(run, force=True)

    def pace(self, run: DrillRun) -> None:
        self.pacer.wait(run.env.now, stop=lambda: self.stop_reason is not None or not self.inbox.empty())

    def tick(self, run: DrillRun) -> None:
        self.publish_events(run)
        self.publish_state(run)
        if self.on_tick is not None:
            self.on_tick(run)

    # -- views --------------------------------------------------------------------------------------
    def publish_events(self, run: DrillRun) -> None:
        if self.tracker is None:
            self.tracker = StateTracker(run.sim.loaded)
        events = run.sim.log.events
        for e in events[self._seen:]:
            self.tracker.apply(e)
            if e["kind"] == "hatch_jammed":
                self.reported_jammed.add(e["hatch"])
            elif e["kind"] == "valve_stuck":
                self.reported_stuck.add(e["hatch"])
            self.publish("instructor", {"type": "event", "event": e})
            shown = trainee_event(e)
            if shown is not None:
                self.publish("trainee", {"type": "event", "event": shown})
            self._dirty = True
        self._seen = len(events)

    def publish_state(self, run: DrillRun, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (now - self._last_state < STATE_EVERY_S or (not self._dirty and self.paused)):
            return
        self._last_state, self._dirty = now, self.paused is False
        self.publish_events(run)
        state = self.tracker.snapshot(t=run.env.now)
        view = instructor_view(run, self.trend, self, state)
        view["bookmarks"] = list(self.bookmarks)
        if force or now - self._last_score >= LIVE_SCORE_EVERY_S or self._score is None:
            self._score, self._last_score = live_score(run), now
        view["score"] = self._score
        self.publish("instructor", {"type": "state", "state": view})
        self.publish("trainee", {"type": "state",
                                 "state": trainee_view(run, self, state, self.reported_jammed, self.reported_stuck)})


class StationSession:
    """One served session: its run in a thread, its directory, its end (see the module docstring).

    Parameters
    ----------
    run : DrillRun
        Not started yet (mode ``live``).
    out : Path
        Its session directory.
    speed : float
    publish : callable(audience, message)
    resume : (records, until), optional
        Re-execute these recorded commands up to *until* [s] first (a branch or a resumed session).
    fresh : bool
        Create *out* (False: a resumed session keeps its directory).
    """

    def __init__(self, run: DrillRun, out: Path, speed: float, publish, resume=None, fresh: bool = True,
                 on_end: Callable[[StationSession], None] | None = None):
        self.run, self.out, self.publish = run, Path(out), publish
        self.recorder = SessionRecorder(run, self.out, speed)
        self.source = BrowserSource(speed, publish, on_tick=self.recorder.tick)
        self.control = ResumeSource(resume[0], resume[1], self.source) if resume else self.source
        self.fresh, self.on_end = fresh, on_end
        self.result = None
        self.scorecard: dict[str, Any] | None = None
        self.error: str | None = None
        self.thread = threading.Thread(target=self._main, name="drill-session", daemon=True)
        self.static = static_info(run)

    def start(self) -> None:
        self.recorder.start(self.fresh)
        self.thread.start()

    @property
    def ended(self) -> bool:
        return not self.thread.is_alive() and self.result is not None

    def stop(self, reason: str) -> None:
        """End the session at its next tick (a recorded quit with *reason*)."""
        self.source.stop_reason = reason

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _main(self) -> None:
        try:
            result = self.run.run(control_process(self.control))
            self.source.publish_events(self.run)  # the last events and the final state, before the end
            self.source.publish_state(self.run, force=True)
            result.extra["files"] = {**result.extra.get("files", {}),
                                     **session_files(result, self.run, self.source.pacer.speed)}
            write_run(result, self.out, force=True)
            self.result, self.scorecard = result, result.extra["scorecard"]
            # the scorecard tells what was hidden (leaks, injects): the instructor's until the debrief
            self.publish("instructor", {"type": "ended", "scorecard": self.scorecard, "directory": str(self.out)})
            self.publish("trainee", {"type": "ended", "scorecard": None})
        except Exception as exc:  # the pages must hear of it; the server prints it
            self.error = f"{type(exc).__name__}: {exc}"
            self.publish("all", {"type": "message", "text": f"the session failed: {self.error}", "ok": False})
            raise
        finally:
            if self.on_end is not None:
                self.on_end(self)

    def records(self) -> list[dict[str, Any]]:
        """The session's commands so far (a copy, safe to read from another thread)."""
        return [dict(r) for r in list(self.run.session)]

    def hello(self, role: str, crew: str | None = None) -> dict[str, Any]:
        """The first message to a page: what does not change, and the session's state."""
        info = dict(self.static)
        info["role"], info["crew_id"], info["directory"] = role, crew, str(self.out)
        if role == "instructor":
            info["injects"] = [{"name": i.name, "fault": i.fault, "note": i.note, "manual": i.manual}
                               for i in self.run.drill.drill.injects]
        return {"type": "hello", "info": info, "ended": self.ended,
                "scorecard": self.scorecard if role == "instructor" else None}



def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set):
        return [_finite(v) for v in x]
    return x


def dumps(message: dict) -> str:
    """A message as JSON, non-finite numbers as ``"inf"``/``"nan"`` strings as the event log writes them."""
    return json.dumps(_finite(message), ensure_ascii=False, default=str, allow_nan=False)
