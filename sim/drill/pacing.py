"""Keeping simulated time in step with the wall clock in live play.

The simulation runs on an ordinary ``simpy.Environment``; the session's command process waits at
every tick until the wall clock says the tick is due (:meth:`Pacer.wait`). The pacer measures from
an *anchor*, the (simulated, wall) instant of the last change of speed or of the last resume, so a
pause, a speed change or a slow stretch of the engine never makes the simulation race to catch up
afterwards, nor stand still to let the wall clock catch up.

(simpy's ``RealtimeEnvironment.sync()`` resets its wall-clock start but not its simulated start, so
after a resume it froze the world for simulated time / speed wall seconds.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["MAX_LAG_S", "Pacer"]

MAX_LAG_S = 1.0
"""Wall time the simulation may fall behind before the pacer stops trying to catch up [s]."""


class Pacer:
    """Simulated seconds per wall second, measured from an anchor.

    Parameters
    ----------
    speed : float
        Simulated seconds per wall second (> 0).
    clock, sleep : callables, optional
        The wall clock [s] and a sleep [s] (tests pass a fake pair).
    """

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.speed = float(speed)
        self.clock, self.sleep = clock, sleep
        self.anchor: tuple[float, float] | None = None  # (simulated [s], wall [s])

    def reanchor(self, t_sim: float) -> None:
        """Count from now: simulated time *t_sim* [s] is due at this wall instant."""
        self.anchor = (float(t_sim), self.clock())

    def set_speed(self, speed: float, t_sim: float) -> None:
        """Change the speed from simulated time *t_sim* [s] on."""
        self.speed = float(speed)
        self.reanchor(t_sim)

    def delay(self, t_sim: float) -> float:
        """Wall time still to wait before simulated time *t_sim* is due [s] (0 when due or late)."""
        if self.anchor is None:
            self.reanchor(t_sim)
            return 0.0
        t0, w0 = self.anchor
        late = self.clock() - (w0 + (t_sim - t0) / self.speed)
        if late > MAX_LAG_S:  # the engine fell behind: carry on from here, do not race
            self.reanchor(t_sim)
            return 0.0
        return max(0.0, -late)

    def wait(self, t_sim: float, slice_s: float = 0.05, stop: Callable[[], bool] | None = None) -> None:
        """Sleep until simulated time *t_sim* [s] is due, in slices of at most *slice_s* [s],
        returning early when ``stop()`` becomes true."""
        while True:
            d = self.delay(t_sim)
            if d <= 0 or (stop is not None and stop()):
                return
            self.sleep(min(d, slice_s))
