"""Live play in the terminal: the session paced against the wall clock, a rich dashboard, a command line.

A thread reads command lines from the terminal into a queue; everything else happens in the
simulation's thread, in the command process of :mod:`sim.drill.session`: commands are applied at
ticks, each tick waits until the wall clock says it is due (:class:`~sim.drill.pacing.Pacer`),
the dashboard is redrawn at most :data:`REFRESH_S` apart (wall time), pausing holds the command
process (so simulated time stands still) and resuming or a new speed re-anchors the pacer.

The dashboard shows the discrete state (crew, hatches, valves, jams, alarms) that
:class:`sim.results.state.StateTracker` derives from the run's events, and the pressures of the
solver's latest state; it only *reads* the engine (never a sync), so watching a session does not
change it: the recorded session replays to the same events.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from sim.drill.clock import clock, treserve_text
from sim.drill.pacing import Pacer
from sim.drill.session import control_process
from sim.drill.trend import NOW_WINDOW_S, TREND_WINDOW_S, PressureTrend
from sim.results.state import StateTracker, StationState

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["MMHG", "REFRESH_S", "LiveConsole", "dashboard"]

REFRESH_S = 0.25
"""Shortest wall time between two redraws of the dashboard [s]."""
MMHG = 133.322368
"""One mmHg [Pa]."""



class LiveConsole:
    """The live console: input thread, pacing, dashboard, pause and speed.

    Parameters
    ----------
    stream : text stream
        Where command lines come from (the terminal).
    speed : float
        Simulated seconds per wall second.
    console : rich.console.Console, optional
    on_tick : callable(run), optional
        Called once per tick (the session recorder keeps ``session.yaml`` up to date with it).
    """

    def __init__(self, stream: TextIO | None = None, speed: float = 60.0, console=None,
                 on_tick: Callable[[Any], None] | None = None, pacer: Pacer | None = None):
        from rich.console import Console

        self.stream = stream if stream is not None else sys.stdin
        self.pacer = pacer or Pacer(speed)
        self.console = console or Console(highlight=False)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.paused = False
        self.input_ended = False
        self.stop_reason: str | None = None
        self.messages: deque[tuple[str, bool]] = deque(maxlen=4)
        self.trend = PressureTrend()
        self.tracker: StateTracker | None = None  # the state derived from the events (sim.results.state)
        self.on_tick = on_tick
        self._last_draw = 0.0
        self._live = None

    @property
    def speed(self) -> float:
        return self.pacer.speed

    # -- the input thread ---------------------------------------------------------------------
    def _read(self) -> None:
        try:
            for line in self.stream:
                self.lines.put(line)
        except (OSError, ValueError):
            pass
        self.lines.put(None)

    def __enter__(self):
        from rich.live import Live

        threading.Thread(target=self._read, name="drill-input", daemon=True).start()
        self._live = Live(console=self.console, auto_refresh=False, vertical_overflow="crop")
        self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
        return False

    # -- a command source (sim.drill.session) ---------------------------------------------------
    def commands(self, run: DrillRun) -> list[str]:
        """Lines typed since the last tick; redraws the dashboard when due."""
        out = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:  # the command line is closed: nobody can play on, so the session ends
                if not self.input_ended:
                    self.input_ended = True
                    self.say(f"the input ended: the session ends at {clock(run.env.now)} (end of input)", ok=False)
                self.stop_reason = self.stop_reason or "end of input"
            elif line.strip():
                out.append(line.strip())
        now = time.monotonic()
        if now - self._last_draw >= REFRESH_S or out:
            self.draw(run)
            self._last_draw = now
        return out

    def pace(self, run: DrillRun) -> None:
        """Wait for the tick's wall time, redrawing meanwhile; a stop request cuts the wait short."""
        self.pacer.wait(run.env.now, stop=lambda: self.stop_reason is not None)

    def tick(self, run: DrillRun) -> None:
        """Sample the atmosphere for the trends (read only)."""
        self.trend.add(float(run.sim.solver.t), run.sim.solver.pressure())
        if self.on_tick is not None:
            self.on_tick(run)

    def say(self, message: str, ok: bool = True, to: str | None = None) -> None:
        """Answer a command above the dashboard (one screen: everyone hears it)."""
        self.messages.append((message, ok))
        self.console.print(message if ok else f"[red]{message}[/red]", markup=True, highlight=False)

    def control(self, command, run: DrillRun) -> None:
        """pause, resume, speed."""
        env = run.env
        if command.verb == "pause" and self.input_ended:  # the input ended: nobody could resume
            self.say(f"the input ended: not pausing at {clock(env.now)}, nobody could resume", ok=False)
        elif command.verb == "pause":
            self.paused = True
            self.say(f"paused at {clock(env.now)}")
        elif command.verb == "resume":
            self.paused = False
            self.pacer.reanchor(env.now)  # the world goes on from here, at the same speed
            self.say(f"resumed at {clock(env.now)}")
        elif command.verb == "speed":
            self.pacer.set_speed(command.arg, env.now)
            self.say(f"speed x{command.arg:g}")
        elif command.verb == "bookmark":
            self.say(f"bookmark {command.arg} at {clock(env.now)} (branch from it in the browser station)")
        self.draw(run)

    def draw(self, run: DrillRun) -> None:
        """Redraw the dashboard now."""
        if self._live is None:
            return
        self._live.update(dashboard(run, self), refresh=True)

    def control_process(self):
        """The command process for :meth:`sim.drill.injects.DrillRun.run`."""
        return control_process(self)

    def state(self, run: DrillRun) -> StationState:
        """The station's state now, derived from the run's events so far."""
        if self.tracker is None:
            self.tracker = StateTracker(run.sim.loaded)
        events = run.sim.log.events
        for e in events[self.tracker.n_events:]:
            self.tracker.apply(e)
        return self.tracker.snapshot(t=run.env.now)


def trends(run: DrillRun, trend: PressureTrend) -> dict[str, np.ndarray]:
    """The dashboard's numbers per compartment: pressure [Pa], dP/dt now and over a minute [Pa/s],
    Treserve from dP/dt now [s]."""
    from sim.procedures.lookup import treserve

    sim = run.sim
    p = np.asarray(sim.solver.pressure(), float)  # the solver's latest state: read, never synced
    trend.add(float(sim.solver.t), p)
    now, _ = trend.rate(NOW_WINDOW_S)
    minute, span = trend.rate(TREND_WINDOW_S)
    return {"p": p, "now": now, "minute": minute, "span": span,
            "treserve": treserve(p, now, sim.station.limits.reserve_floor)}


def dashboard(run: DrillRun, console: LiveConsole | Any):
    """The dashboard: pressures and trends, hatches and valves, crew, alarms, Treserve, latest events."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text


    sim = run.sim
    numbers = trends(run, console.trend)
    p, now, minute, tres = numbers["p"], numbers["now"], numbers["minute"], numbers["treserve"]

    state = console.state(run)
    status = "PAUSED" if console.paused else f"x{console.speed:g}"
    head = Text(f"{run.drill.drill.name}   t {clock(run.env.now)}   {status}", style="bold")
    alarms = ", ".join(sorted(state.alarms)) or "none"
    station_tres = float(np.min(tres))
    head.append(f"   alarms: {alarms}", style="bold red" if state.alarms else "green")
    head.append(f"   Treserve {treserve_text(station_tres)}")

    crew_at: dict[str, list[str]] = {}
    for cid, m in state.crew.items():
        crew_at.setdefault(m.location, []).append(cid)
    comp = Table(title="compartments", expand=False, show_edge=False, pad_edge=False)
    numeric = ("p mmHg", f"dP/dt {NOW_WINDOW_S:g} s mmHg/min", f"{TREND_WINDOW_S:g}-s trend mmHg/min", "Treserve")
    for col in ("", *numeric, "crew"):
        comp.add_column(col, justify="right" if col in numeric else "left")
    for i, name in enumerate(sim.names):
        falling = now[i] < -1e-6
        comp.add_row(name, f"{p[i] / MMHG:.1f}", f"{now[i] * 60 / MMHG:+.2f}", f"{minute[i] * 60 / MMHG:+.2f}",
                     treserve_text(tres[i]), " ".join(crew_at.get(name, [])),
                     style="red" if falling and tres[i] < 3600 else None)

    closed = [h for h, x in state.hatches.items() if not x.open]
    valves = [h for h, x in state.hatches.items() if x.valve_open]
    hatch_text = Text("hatches closed: " + (", ".join(closed) or "none"))
    hatch_text.append("\nvalves open: " + (", ".join(valves) or "none"))
    broken = [f"{h} jammed" for h, x in state.hatches.items() if x.jammed] + \
        [f"{h} valve stuck" for h, x in state.hatches.items() if x.valve_stuck]
    if broken:
        hatch_text.append("\nfaults: " + ", ".join(broken), style="yellow")

    crew = Table(title="crew", show_edge=False, pad_edge=False)
    for col in ("", "where", "status", "task"):
        crew.add_column(col)
    for cid, m in state.crew.items():
        task = m.activity + (f" — trapped: {'; '.join(m.blocked_by)}" if m.trapped else "")
        crew.add_row(cid, m.aboard or m.location, m.status, task, style="red" if m.status != "able" else None)

    pending = [i.name + (" (manual)" if i.manual else "") for i in run.drill.drill.injects if i.name not in run.fired]
    injects = Text("injects waiting: " + (", ".join(pending) or "none"))
    events = Text("latest events:\n", style="dim")
    for e in sim.log.events[-6:]:
        details = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "kind"))
        events.append(f"  {clock(e['t'])} {e['kind']} {details}"[:160] + "\n")
    prompt = Text("> type a command (help, pause, resume, speed X, inject NAME, procedures, stop P, cancel WHO, quit)",
                  style="cyan")
    answers = Text()
    for message, ok in console.messages:
        answers.append(message.splitlines()[0][:160] + "\n", style=None if ok else "red")
    return Group(head, comp, hatch_text, crew, injects, events, answers, prompt)
