"""Live play: the simulation on simpy's RealtimeEnvironment, a rich dashboard, a command line.

A thread reads command lines from the terminal into a queue; everything else happens in the
simulation's thread, in the command process of :mod:`sim.drill.session`: commands are applied at
ticks, the dashboard is redrawn at most :data:`REFRESH_S` apart (wall time), pausing holds the
command process (so simulated time stands still) and resuming re-synchronises the real-time clock.

The dashboard only *reads* the engine (the solver's latest state, never a sync), so watching a
session does not change it: the recorded session replays to the same events.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import simpy.rt

from sim.drill.session import control_process

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["REFRESH_S", "LiveConsole", "dashboard", "realtime_env"]

REFRESH_S = 0.25
"""Shortest wall time between two redraws of the dashboard [s]."""
TREND_WINDOW_S = 60.0
"""Simulated time over which the pressure trend is taken, at least [s]."""
MMHG = 133.322368
"""One mmHg [Pa]."""


def realtime_env(speed: float) -> simpy.rt.RealtimeEnvironment:
    """A real-time environment running *speed* simulated seconds per wall second."""
    return simpy.rt.RealtimeEnvironment(factor=1.0 / speed, strict=False)


def _clock(t: float) -> str:
    t = round(t)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


class LiveConsole:
    """The live console: input thread, dashboard, pause and speed.

    Parameters
    ----------
    stream : text stream
        Where command lines come from (the terminal).
    speed : float
        Simulated seconds per wall second.
    console : rich.console.Console, optional
    """

    def __init__(self, stream: TextIO | None = None, speed: float = 60.0, console=None):
        from rich.console import Console

        self.stream = stream if stream is not None else sys.stdin
        self.speed = speed
        self.console = console or Console(highlight=False)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.paused = False
        self.input_ended = False
        self.messages: deque[tuple[str, bool]] = deque(maxlen=4)
        self.history: deque[tuple[float, np.ndarray]] = deque(maxlen=400)
        self._last_draw = 0.0
        self._live = None

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
            if line is None:  # the input ended: nobody can type 'resume' any more
                self.input_ended = True
                if self.paused:
                    self.paused = False
                    if hasattr(run.env, "sync"):
                        run.env.sync()
                    self.say(f"the input ended while paused: resumed at {_clock(run.env.now)}", ok=False)
            elif line.strip():
                out.append(line.strip())
        now = time.monotonic()
        if now - self._last_draw >= REFRESH_S or out:
            self.draw(run)
            self._last_draw = now
        return out

    def say(self, message: str, ok: bool = True) -> None:
        """Answer a command above the dashboard."""
        self.messages.append((message, ok))
        self.console.print(message if ok else f"[red]{message}[/red]", markup=True, highlight=False)

    def control(self, command, run: DrillRun) -> None:
        """pause, resume, speed."""
        env = run.env
        if command.verb == "pause" and self.input_ended:  # the input ended: nobody could resume
            self.say(f"the input ended: not pausing at {_clock(env.now)}, nobody could resume", ok=False)
        elif command.verb == "pause":
            self.paused = True
            self.say(f"paused at {_clock(env.now)}")
        elif command.verb == "resume":
            self.paused = False
            if hasattr(env, "sync"):
                env.sync()  # or the real-time clock would race to catch up the pause
            self.say(f"resumed at {_clock(env.now)}")
        elif command.verb == "speed":
            self.speed = command.arg
            if hasattr(env, "sync"):
                env._factor = 1.0 / command.arg  # RealtimeEnvironment keeps its factor read-only
                env.sync()
            self.say(f"speed x{command.arg:g}")
        self.draw(run)

    def draw(self, run: DrillRun) -> None:
        """Redraw the dashboard now."""
        if self._live is None:
            return
        self._live.update(dashboard(run, self), refresh=True)

    def control_process(self):
        """The command process for :meth:`sim.drill.injects.DrillRun.run`."""
        return control_process(self)


def dashboard(run: DrillRun, console: LiveConsole | Any):
    """The dashboard: pressures and trends, hatches and valves, crew, alarms, Treserve, latest events."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from sim.procedures.lookup import treserve

    sim = run.sim
    t = float(sim.solver.t)
    p = np.asarray(sim.solver.pressure(), float)  # the solver's latest state: read, never synced
    history = console.history
    if not history or history[-1][0] < t:
        history.append((t, p.copy()))
    base = next(((t0, p0) for t0, p0 in history if t - t0 >= TREND_WINDOW_S), None)
    if base is None and len(history) > 1:
        base = history[0]
    trend = (p - base[1]) / (t - base[0]) if base is not None and t > base[0] else np.zeros_like(p)
    floor = sim.station.limits.reserve_floor
    tres = treserve(p, trend, floor)

    status = "PAUSED" if console.paused else f"x{console.speed:g}"
    head = Text(f"{run.drill.drill.name}   t {_clock(run.env.now)}   {status}", style="bold")
    alarms = ", ".join(sorted(sim.alarms_active)) or "none"
    station_tres = float(np.min(tres))
    head.append(f"   alarms: {alarms}", style="bold red" if sim.alarms_active else "green")
    head.append(f"   Treserve {'--' if not np.isfinite(station_tres) else _clock(station_tres)}")

    crew_at: dict[str, list[str]] = {}
    for m in sim.crew.values():
        crew_at.setdefault(m.location, []).append(m.id)
    comp = Table(title="compartments", expand=False, show_edge=False, pad_edge=False)
    for col in ("", "p mmHg", "trend mmHg/min", "Treserve", "crew"):
        comp.add_column(col, justify="right" if col in ("p mmHg", "trend mmHg/min", "Treserve") else "left")
    for i, name in enumerate(sim.names):
        falling = trend[i] < -1e-6
        comp.add_row(name, f"{p[i] / MMHG:.1f}", f"{trend[i] * 60 / MMHG:+.2f}",
                     _clock(tres[i]) if np.isfinite(tres[i]) else "--", " ".join(crew_at.get(name, [])),
                     style="red" if falling and tres[i] < 3600 else None)

    faults = sim.faults
    closed = [h for h, is_open in sim.hatch_open.items() if not is_open]
    valves = [h for h, is_open in sim.valve_open.items() if is_open]
    hatch_text = Text("hatches closed: " + (", ".join(closed) or "none"))
    hatch_text.append("\nvalves open: " + (", ".join(valves) or "none"))
    broken = [f"{h} jammed" for h in sorted(faults.jammed_hatches)] + [f"{h} valve stuck" for h in sorted(faults.stuck_valves)]
    if broken:
        hatch_text.append("\nfaults: " + ", ".join(broken), style="yellow")

    crew = Table(title="crew", show_edge=False, pad_edge=False)
    for col in ("", "where", "status", "task"):
        crew.add_column(col)
    for m in sim.crew.values():
        crew.add_row(m.id, m.aboard or m.location, m.status, m.activity,
                     style="red" if m.status != "able" else None)

    pending = [i.name + (" (manual)" if i.manual else "") for i in run.drill.drill.injects if i.name not in run.fired]
    injects = Text("injects waiting: " + (", ".join(pending) or "none"))
    events = Text("latest events:\n", style="dim")
    for e in sim.log.events[-6:]:
        details = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "kind"))
        events.append(f"  {_clock(e['t'])} {e['kind']} {details}"[:160] + "\n")
    prompt = Text("> type a command (help, pause, resume, speed X, inject NAME, quit)", style="cyan")
    return Group(head, comp, hatch_text, crew, injects, events, prompt)
