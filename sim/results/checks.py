"""Evaluating a scenario's ``checks``, and the default hazard checks of every run with crew.

Each passes or fails, with a margin in SI units and its unit (``margin_unit``). A positive margin
is how much room was left (time to spare [s], pressure above the limit [Pa]); a negative margin
is by how much the check was missed.

Default checks (``"default": true``), added after the scenario's own to every run with crew:
nobody sealed into an isolated or leaking compartment; no vehicle holding more crew than its
seats (when the station has vehicles); every shelter entered was sealed (when one was entered).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from sim.crew import CrewMember
    from sim.results.events import EventLog
    from sim.scenario.scenario_model import Scenario
    from sim.scenario.station_model import Station

__all__ = ["CheckedRun", "evaluate_checks"]


class CheckedRun(Protocol):
    """What the checks read of a finished run (the engine's coordinator provides it).

    ``crew`` may be missing (read with ``getattr``): a run without crew has no default checks.
    """

    scenario: Scenario
    station: Station
    log: EventLog
    index: Mapping[str, int]
    p_min: np.ndarray  # lowest pressure of every compartment [Pa]
    crew: Mapping[str, CrewMember]


def _num(x: float) -> float | str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.6g}")


_DEFAULTS = (
    ("sealed_in", "nobody sealed into an isolated or leaking compartment"),
    ("over_capacity", "no vehicle holds more crew than its seats"),
    ("shelter_not_sealed", "every shelter entered was sealed"),
)


def evaluate_checks(sim: CheckedRun, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Results of every check of the scenario, in file order, then the default hazard checks."""
    out = [_evaluate(sim, summary, check) for check in sim.scenario.checks]
    if not getattr(sim, "crew", None):
        return out
    hazards = summary.get("hazards", [])
    for kind, label in _DEFAULTS:
        if kind == "over_capacity" and not sim.station.vehicles:
            continue
        if kind == "shelter_not_sealed" and not summary.get("shelters"):
            continue
        hit = [h for h in hazards if h["hazard"] == kind]
        detail = "; ".join(_describe_hazard(h) for h in hit) or "none"
        out.append({"check": label, "expect": f"no_{kind}", "passed": not hit, "margin": None, "margin_unit": None,
                    "detail": detail, "default": True})
    return out


def _describe_hazard(h: dict[str, Any]) -> str:
    until = "to the end" if h["end_s"] is None else f"to {h['end_s']:.0f} s"
    return f"{', '.join(h['crew'])} in {', '.join(h['at'])} from {h['t_s']:.0f} s {until}: {h['cause']}"


def _evaluate(sim: CheckedRun, summary: dict, check) -> dict[str, Any]:
    kind = check.expect
    label = check.name or kind
    passed, margin, detail = False, None, ""
    crew = getattr(sim, "crew", {})
    if kind == "min_pressure":
        if check.of == "station":
            low = float(np.min(sim.p_min))
        else:
            low = float(sim.p_min[sim.index[check.of]])
        margin = low - check.above
        passed = margin > 0
        detail = f"minimum {low / 1000:.2f} kPa, limit {check.above / 1000:.2f} kPa"
    elif kind in ("all_crew_in_shelter", "crew_in_shelter"):
        if kind == "crew_in_shelter":
            members = [crew[check.crew]]
        else:
            members = [m for m in crew.values() if check.role is None or check.role in m.roles]
        times = [m.sheltered_at for m in members]
        if not members:
            detail = "no crew"
        elif any(t is None for t in times):
            missing = [m.id for m in members if m.sheltered_at is None]
            detail = f"never sheltered: {', '.join(missing)}"
            margin = -math.inf
        else:
            worst = max(times)
            margin = check.within - worst
            passed = margin >= 0
            detail = f"last in shelter at {worst:.0f} s, limit {check.within:.0f} s"
    elif kind == "hatch_closed":
        event = next((e for e in sim.log.of_kind("hatch") if e["hatch"] == check.hatch and e["state"] == "closed"), None)
        if event is None:
            margin, detail = -math.inf, "never closed"
        else:
            margin = check.within - event["t"]
            passed = margin >= 0
            detail = f"closed at {event['t']:.0f} s, limit {check.within:.0f} s"
    elif kind in ("nobody_incapacitated", "nobody_impaired"):
        bad_states = {"incapacitated"} if kind == "nobody_incapacitated" else {"impaired", "incapacitated"}
        hit = [m.id for m in crew.values() if m.worst_status in bad_states]
        passed = not hit
        detail = ", ".join(hit) if hit else "none"
    elif kind == "outcome":
        passed = summary["outcome"] == check.is_
        detail = f"outcome {summary['outcome']!r}, expected {check.is_!r}"
    elif kind == "treserve_above":
        # the model's truth, not the crew's gauge: the lowest Treserve over the whole run
        truth = summary.get("treserve", {})
        of = getattr(check, "of", "station") or "station"
        low = truth if of == "station" else truth.get("per_compartment", {}).get(of, {})
        value = low.get("min_s")
        if value is None:
            detail = f"no Treserve for {of} (nobody aboard)"
        else:
            value = math.inf if value == "inf" else float(value)
            margin = value - check.above
            passed = margin >= 0
            when = f" at {low['min_at_s']:.0f} s" if low.get("min_at_s") is not None else ""
            measured = summary.get("treserve_first_s")
            detail = (f"lowest model Treserve of {of} {value:.0f} s{when}, limit {check.above:.0f} s"
                      + (f"; the crew first measured {float(measured):.0f} s" if measured not in (None, "inf") else ""))
    elif kind == "leak_repaired":
        leak = summary["leaks"].get(check.leak, {})
        t = leak.get("repaired_s")
        attempts = leak.get("repairs", [])
        if t is None:
            margin = -math.inf
            detail = (f"not repaired to stay: {len(attempts)} attempt(s), none held"
                      if attempts else "never repaired")
        else:
            margin = check.within - t
            passed = margin >= 0
            n = next(i for i, a in enumerate(attempts, 1) if a["accepted"])
            detail = f"repaired to stay at {t:.0f} s (attempt {n} of {len(attempts)}), limit {check.within:.0f} s"
            if n > 1:
                detail += "; earlier attempts at " + ", ".join(f"{a['t_s']:.0f} s" for a in attempts[: n - 1])
    unit = None if margin is None else ("Pa" if kind == "min_pressure" else "s")
    return {
        "check": label,
        "expect": kind,
        "passed": bool(passed),
        "margin": None if margin is None else _num(margin),
        "margin_unit": unit,
        "detail": detail,
    }
