"""Evaluating a scenario's ``checks``: each passes or fails, with a margin in SI units.

A positive margin is how much room was left (time to spare [s], pressure above the limit [Pa]);
a negative margin is by how much the check was missed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.engine import Simulation

__all__ = ["evaluate_checks"]


def _num(x: float) -> float | str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.6g}")


def evaluate_checks(sim: Simulation, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Results of every check of the scenario, in file order."""
    return [_evaluate(sim, summary, check) for check in sim.scenario.checks]


def _evaluate(sim: Simulation, summary: dict, check) -> dict[str, Any]:
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
        value = summary.get("treserve_first_s")
        if value is None:
            detail = "Treserve was never measured"
        else:
            value = math.inf if value == "inf" else float(value)
            margin = value - check.above
            passed = margin >= 0
            detail = f"Treserve {value:.0f} s at the first measurement, limit {check.above:.0f} s"
    elif kind == "leak_repaired":
        leak = summary["leaks"].get(check.leak, {})
        t = leak.get("repaired_s")
        if t is None:
            margin, detail = -math.inf, "never repaired"
        else:
            margin = check.within - t
            passed = margin >= 0
            detail = f"repaired at {t:.0f} s, limit {check.within:.0f} s"
    return {
        "check": label,
        "expect": kind,
        "passed": bool(passed),
        "margin": None if margin is None else _num(margin),
        "detail": detail,
    }
