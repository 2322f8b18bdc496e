"""Pressure trends for the live dashboard: the rate over the last few seconds and over the last minute.

The dashboard samples the atmosphere once per tick (the solver's latest state, read, never synced)
and keeps the last :data:`TREND_WINDOW_S` of samples. A rate over a window is the difference
between the newest sample and the sample at (or just before) the start of the window, divided by
the time between them, so it follows the present and forgets what happened before the window (a
module isolated and steady reads 0 within a minute, however much it lost earlier).
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["NOW_WINDOW_S", "TREND_WINDOW_S", "PressureTrend"]

NOW_WINDOW_S = 10.0
"""Window of the dashboard's "dP/dt now" column, from which Treserve is computed [s]."""
TREND_WINDOW_S = 60.0
"""Window of the dashboard's "60-s trend" column [s]."""


class PressureTrend:
    """The last :data:`TREND_WINDOW_S` of pressure samples and the rates over windows of them."""

    def __init__(self, keep_s: float = TREND_WINDOW_S):
        self.keep_s = keep_s
        self.samples: deque[tuple[float, np.ndarray]] = deque()

    def add(self, t: float, p: np.ndarray) -> None:
        """Add the pressures *p* [Pa] at time *t* [s] (ignored unless later than the last sample)."""
        if self.samples and t <= self.samples[-1][0]:
            return
        self.samples.append((float(t), np.array(p, float)))
        # keep one sample at or before the oldest window start, so a full window can be measured
        while len(self.samples) > 2 and t - self.samples[1][0] >= self.keep_s:
            self.samples.popleft()

    @property
    def latest(self) -> tuple[float, np.ndarray] | None:
        return self.samples[-1] if self.samples else None

    def rate(self, window_s: float) -> tuple[np.ndarray, float]:
        """dP/dt over the last *window_s* [Pa/s] and the span actually used [s].

        The span is shorter than *window_s* only at the start of a session; zeros when there is
        not yet a second sample.
        """
        if len(self.samples) < 2:
            n = len(self.samples[0][1]) if self.samples else 0
            return np.zeros(n), 0.0
        t, p = self.samples[-1]
        base = self.samples[0]
        for ts, ps in reversed(self.samples):
            if t - ts >= window_s - 1e-9:
                base = (ts, ps)
                break
        span = t - base[0]
        return (p - base[1]) / span, span
