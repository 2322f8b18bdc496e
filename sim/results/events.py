"""The event log: what happened, in simulation order, as plain JSON-ready records."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventLog", "dumps_event"]


def _clean(value: Any) -> Any:
    """Make a value JSON-safe and stable: floats rounded to 9 significant digits, inf as a string."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def dumps_event(event: dict) -> str:
    """One event as one line of JSON (keys in insertion order: t, kind, then the details)."""
    return json.dumps(event, separators=(", ", ": "), ensure_ascii=False, allow_nan=False)


@dataclass
class EventLog:
    """Events ``{"t": [s], "kind": str, ...}`` appended in simulation order."""

    events: list[dict] = field(default_factory=list)

    def emit(self, t: float, kind: str, **details: Any) -> dict:
        """Record an event at time *t* [s]; returns the stored record."""
        record = {"t": _clean(float(t)), "kind": kind, **{k: _clean(v) for k, v in details.items()}}
        self.events.append(record)
        return record

    def of_kind(self, *kinds: str) -> Iterator[dict]:
        """Events whose kind is one of *kinds*."""
        return (e for e in self.events if e["kind"] in kinds)

    def first(self, kind: str, **match: Any) -> dict | None:
        """The first event of *kind* whose fields equal *match*, or None."""
        for e in self.events:
            if e["kind"] == kind and all(e.get(k) == v for k, v in match.items()):
                return e
        return None

    def lines(self) -> Iterator[str]:
        """The log as JSON lines."""
        return (dumps_event(e) for e in self.events)

    def __len__(self) -> int:
        return len(self.events)
