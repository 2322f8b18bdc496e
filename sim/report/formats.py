"""How a value a user reads is written: every number with its unit, times as HH:MM:SS.

One place for the terminal tables, the HTML pages and ``compare``, so the same quantity reads the
same everywhere. A value has a *kind*:

========== ===================================== =========================
kind       SI value                              written as
========== ===================================== =========================
time       an instant since the run start [s]    ``00:36:45``
duration   a span [s]                            ``02:06:00``, ``56 d 04:29:30``
pressure   [Pa]                                  ``101.30 kPa``
pp         a partial pressure [Pa]               ``21.30 kPa``, ``0.412 kPa``
mass       [kg]                                  ``0.0566 kg``
count      a whole number                        ``2``
text       anything else                         as it is
========== ===================================== =========================

``None`` is written ``-`` (or the caller's own word, e.g. ``never``); ``"inf"`` (JSON's infinity
in a summary) is ``unbounded`` for a duration and ``never`` for a time.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CHECK_MARGIN_KINDS", "check_margin_kind", "delta_text", "margin_text", "number", "value_text"]

CHECK_MARGIN_KINDS = {
    "min_pressure": "pressure",
    "all_crew_in_shelter": "duration",
    "crew_in_shelter": "duration",
    "hatch_closed": "duration",
    "treserve_above": "duration",
    "leak_repaired": "duration",
    "nobody_incapacitated": "none",
    "nobody_impaired": "none",
    "outcome": "none",
    "no_sealed_in": "none",
    "no_over_capacity": "none",
    "no_shelter_not_sealed": "none",
}
"""The kind of each check's margin (see :mod:`sim.results.checks`): pressure above the limit [Pa]
or time to spare [s]; ``none`` for checks without a margin."""


def check_margin_kind(check: dict[str, Any]) -> str | None:
    """The kind of a summary check's margin: its ``margin_unit`` if it has one, else by its ``expect``."""
    unit = check.get("margin_unit")
    if unit in ("s",):
        return "duration"
    if unit in ("Pa",):
        return "pressure"
    return CHECK_MARGIN_KINDS.get(check.get("expect"))


def number(x: Any) -> float | None:
    """A summary value as a float: None and non-numbers stay None, ``"inf"`` becomes inf."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    if isinstance(x, int | float):
        return float(x)
    return None


def _hms(seconds: float) -> str:
    total = round(abs(seconds))
    days, rest = divmod(total, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if days and total >= 100 * 3600:
        return f"{days} d {clock}"
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def value_text(value: Any, kind: str, none: str = "-") -> str:
    """*value* (SI, see the module table) written for a reader, with its unit."""
    if kind == "text":
        return none if value is None else str(value)
    if kind == "count":
        return none if value is None else str(int(value))
    x = number(value)
    if x is None:
        return none
    if kind in ("time", "duration"):
        if math.isinf(x):
            return ("unbounded" if kind == "duration" else "never") if x > 0 else "-inf"
        return ("-" if x < 0 else "") + _hms(x)
    if kind == "pressure":
        return f"{x / 1000:.2f} kPa"
    if kind == "pp":
        return f"{x / 1000:.2f} kPa" if abs(x) >= 1000 else f"{x / 1000:.3f} kPa"
    if kind == "mass":
        return f"{x:.3g} kg"
    return f"{x:g}"


def delta_text(a: Any, b: Any, kind: str) -> str:
    """``b - a`` written with a sign and the unit; ``""`` when either side is missing or infinite."""
    if kind in ("text",):
        return ""
    xa, xb = number(a), number(b)
    if xa is None or xb is None or not (math.isfinite(xa) and math.isfinite(xb)):
        return ""
    d = xb - xa
    if kind == "count":
        return f"{round(d):+d}" if round(d) else "0"
    written = _hms(d) if kind in ("time", "duration") else value_text(abs(d), kind)
    if not any(c in "123456789" for c in written.split(" k")[0]):
        return written  # rounds to zero: no sign
    return ("-" if d < 0 else "+") + written


def margin_text(check: dict[str, Any]) -> str:
    """A summary check's margin with its unit (``+00:15:35`` of time to spare, ``+4.30 kPa``)."""
    margin = check.get("margin")
    kind = check_margin_kind(check)
    if margin is None or kind == "none":
        return "-"
    x = number(margin)
    if x is None:
        return str(margin)
    if math.isinf(x):
        return "never met" if x < 0 else "unbounded"
    if kind is None:  # a check kind this module does not know: say so rather than print a bare number
        return f"{x:+g} (SI)"
    sign = "-" if x < 0 else "+"
    return sign + value_text(abs(x), kind)
