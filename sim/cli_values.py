"""Checked command-line values: each function turns one option's text into a value or refuses it.

They serve as argparse ``type=`` callables (argparse turns the ``ArgumentTypeError`` into an exit-2
usage message) and check the same settings read from a sweep file (:func:`check_setting`), so a
value is refused the same way wherever it comes from, before any file is written.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["MAX_SEED", "MAX_WORKERS", "check_setting", "count", "seed", "speed"]

MAX_SEED = 2**63 - 1
"""Largest seed accepted (numpy's SeedSequence takes any non-negative integer; this one fits int64
columns of a sweep's design)."""
MAX_WORKERS = 256
"""Most local worker processes (each is a Python process of ~100 MB)."""


def _integer(text, name: str) -> int:
    if isinstance(text, bool):
        raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        if math.isfinite(text) and text == int(text):
            return int(text)
        raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
    try:
        s = str(text).strip()
        if len(s) > 30:
            raise ValueError
        return int(s, 10)
    except ValueError:
        shown = str(text) if len(str(text)) <= 30 else str(text)[:30] + "..."
        raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {shown!r}") from None


def seed(text) -> int:
    """A seed: a whole number from 0 to :data:`MAX_SEED`."""
    value = _integer(text, "a seed")
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be from 0 to 2**63-1, got {value}")
    return value


def count(lo: int = 1, hi: int | None = None, name: str = "the value"):
    """An argparse type for a whole number from *lo* to *hi*."""

    def parse(text) -> int:
        value = _integer(text, name)
        if value < lo or (hi is not None and value > hi):
            span = f"from {lo:,} to {hi:,}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"{name} must be {span}, got {value:,}")
        return value

    parse.__name__ = name  # argparse names the type in its message
    return parse


def speed(text) -> float:
    """A live drill's speed: simulated seconds per wall second, finite and from 0.01 to 100,000."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"a speed must be a number, got {str(text)[:30]!r}") from None
    if not math.isfinite(value) or not 0.01 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"a speed must be from 0.01 to 100000, got {text}")
    return value


def check_setting(parse, value, where: str):
    """*value* through *parse* (one of the types above), or a ``ValueError`` naming *where*."""
    try:
        return parse(value)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{where}: {exc}") from None
