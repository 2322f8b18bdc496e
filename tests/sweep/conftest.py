"""Shared fixtures of the sweep tests: the small leak scenario and a sweep runner."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "sweep"
LEAK = DATA / "leak.yaml"
RATE = "leaks.crack.rate"
