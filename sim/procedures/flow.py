"""What a step tells the interpreter when it is done: go on, go to a phase, or end.

A module of its own so that the step handlers (:mod:`sim.procedures.steps`) and the interpreter
(:mod:`sim.procedures.runner`, which calls them) share it without importing each other.
"""

from __future__ import annotations

__all__ = ["END", "NEXT", "Flow"]

Flow = tuple[str, str | None]
"""What a step tells the interpreter: ("next", None), ("goto", phase), ("end", None)."""

NEXT: Flow = ("next", None)
END: Flow = ("end", None)
