"""Simulated times as the drill shows them: HH:MM:SS."""

from __future__ import annotations

import math

from sim.units import format_duration

__all__ = ["TRESERVE_SHOWN_S", "clock", "treserve_text"]

TRESERVE_SHOWN_S = 99 * 3600.0
"""Longest Treserve shown as a time; longer reads "> 99 h" (a leak too slow to matter in a drill) [s]."""


def clock(t: float | None) -> str:
    """*t* [s] as ``HH:MM:SS`` (``--`` for None or not finite; hours run past 24)."""
    if t is None or not math.isfinite(t):
        return "--"
    return format_duration(t)


def treserve_text(t: float | None) -> str:
    """A Treserve [s] as shown: ``HH:MM:SS``, ``> 99 h``, or ``--`` when not falling."""
    if t is None or not math.isfinite(t):
        return "--"
    return "> 99 h" if t > TRESERVE_SHOWN_S else clock(t)
