"""What became of each command a trainee gave: done, failed (and why), or waiting for a busy crew member.

A command is accepted when it parses and names real things; what then happens to it is told by
the events its one-step procedure (label ``liveN:verb``) and the crew members working for it
produce. :class:`CommandFeedback` reads the new events once per tick and turns them into messages
for the trainee, so a command that fails (a jammed hatch, nobody able, a gauge that gives nothing)
or that waits (its crew member is busy with another task) never goes unsaid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.drill.clock import clock

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["CommandFeedback", "Outcome", "reading_text"]

MMHG = 133.322368
"""One mmHg [Pa]."""


def reading_text(e: dict) -> str:
    """A ``measure`` event as the crew would read it out: the reading in mmHg, mmHg/min or HH:MM:SS."""
    what, value = e["what"], e["value"]
    if what == "treserve":
        shown = "not falling" if value == "inf" or value == float("inf") else clock(float(value))
        return f"Treserve of {e['of']} {shown}"
    if what == "dpdt":
        tres = e.get("treserve_s")
        tres = "not falling" if tres in ("inf", float("inf"), None) else clock(float(tres))
        return f"dP/dt of {e['of']} {float(value) * 60 / MMHG:+.2f} mmHg/min (Treserve {tres})"
    return f"{what} of {e['of']} {float(value) / MMHG:.1f} mmHg"

_CREW_FAILURES = {
    "hatch_jammed": lambda e: f"hatch {e['hatch']} is jammed ({e['by']} tried at {clock(e['t'])})",
    "valve_stuck": lambda e: f"the valve of {e['hatch']} is stuck ({e['by']} tried at {clock(e['t'])})",
    "hatch_blocked": lambda e: (f"hatch {e['hatch']} will not open against {e['dp_Pa'] / MMHG:.1f} mmHg "
                                f"(equalize first; valve {e['valve']})"),
    "task_interrupted": lambda e: f"{e['crew']}'s task '{e['task']}' was interrupted ({e['cause']})",
    "task_failed": lambda e: f"{e['crew']}'s task '{e['task']}' failed: {e['reason']}",
}


@dataclass
class Outcome:
    """What became of one command."""

    label: str
    text: str
    t_s: float
    status: str = "accepted"  # accepted, waiting, done, failed
    reasons: list[str] = field(default_factory=list)
    told_waiting: bool = False
    result: str = ""


class CommandFeedback:
    """Turns the events of live commands into messages, tick by tick.

    Parameters
    ----------
    run : DrillRun
    say : callable(message, ok)
        Where the messages go (the console, the trainee pages).
    """

    def __init__(self, run: DrillRun, say):
        self.run, self.say = run, say
        self.outcomes: dict[str, Outcome] = {}
        self.working: dict[str, str] = {}  # crew id -> label of the live command they work for
        self.seen = 0

    def accepted(self, label: str, text: str, t: float) -> None:
        self.outcomes[label] = Outcome(label, text, t)

    def _fail(self, o: Outcome, reason: str) -> None:
        if reason not in o.reasons:
            o.reasons.append(reason)

    def update(self) -> None:
        """Read the events logged since the last call; say what finished or failed."""
        events = self.run.sim.log.events
        for e in events[self.seen:]:
            kind, label = e["kind"], e.get("procedure")
            o = self.outcomes.get(label) if label else None
            if kind == "task_start" and o is not None:
                self.working[e["crew"]] = label
                o.status = "working"
            elif kind == "step_failed" and o is not None:
                self._fail(o, e["reason"])
            elif kind in _CREW_FAILURES:
                crew = e.get("crew") or e.get("by")
                owner = self.outcomes.get(self.working.get(crew, ""))
                if owner is not None and owner.status not in ("done", "failed"):
                    self._fail(owner, _CREW_FAILURES[kind](e))
            elif kind == "gauge_failed":
                for o2 in self.outcomes.values():
                    if o2.status == "working" and o2.text.startswith("measure"):
                        self._fail(o2, f"the {e['of']} gauge gives no reading")
            elif kind == "measure" and o is not None:
                o.result = reading_text(e)
            elif kind == "procedure_end" and o is not None:
                self._finish(o, e["t"])
            if kind in ("task_end", "task_interrupted", "task_failed"):
                self.working.pop(e.get("crew"), None)
        self.seen = len(events)
        self._tell_waiting()

    def _finish(self, o: Outcome, t: float) -> None:
        if o.reasons:
            o.status = "failed"
            self.say(f"{clock(t)} FAILED: {o.text}: {'; '.join(o.reasons)}", False)
        else:
            o.status = "done"
            self.say(f"{clock(t)} done: {o.text}" + (f": {o.result}" if o.result else ""), True)

    def _tell_waiting(self) -> None:
        """Say once when a command is held up because the crew it needs are busy elsewhere."""
        now = self.run.env.now
        for o in self.outcomes.values():
            if o.status != "accepted" or o.told_waiting or now <= o.t_s:
                continue
            busy = [m for m in self.run.sim.crew.values() if len(m.resource.queue) and m.task is not None]
            if not busy:
                continue
            o.status, o.told_waiting = "waiting", True
            who = ", ".join(f"{m.id} is busy ({m.activity})" for m in busy)
            self.say(f"{clock(now)} waiting: {o.text}: {who}; 'cancel WHO' frees them", False)
