"""The run summary: outcome, margins and checks, as a JSON-ready dict (summary.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim import __version__
from sim.results.series import Series

if TYPE_CHECKING:
    from sim.engine import Simulation

__all__ = ["build_summary"]


def _r(x: float, digits: int = 6) -> float | str:
    """Round for the summary; inf and nan as strings so the JSON stays standard."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.{digits}g}")


def build_summary(sim: Simulation, series: Series, status: str, message: str) -> dict[str, Any]:
    """Assemble summary.json from a finished :class:`~sim.engine.Simulation`."""
    sc, st = sim.scenario, sim.station
    ledger = sim.solver.ledger
    compartments = {}
    for i, name in enumerate(sim.names):
        compartments[name] = {
            "p_start_Pa": _r(sim.p0[i]),
            "p_min_Pa": _r(sim.p_min[i]),
            "p_min_t_s": _r(sim.p_min_t[i]),
            "p_end_Pa": _r(series.p[-1, i]) if len(series.t) else None,
            "reserve_floor_t_s": _r(sim.floor_crossed[name]) if name in sim.floor_crossed else None,
        }
    leaked = {}
    for leak_id, masses in ledger.leaked_by_leak.items():
        leaked[leak_id] = _r(float(np.sum(masses)))
    supplies = {}
    for sid, supply in st.gas_supply.items():
        start = supply.N2 + supply.O2
        remaining = float(np.sum(sim.solver.supply_remaining(sid)))
        supplies[sid] = {"start_kg": _r(start), "used_kg": _r(start - remaining), "remaining_kg": _r(remaining)}
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "seed": sim.seed,
        "spawn_key": list(sim.spawn_key),
        "version": __version__,
        "status": status,
        "message": message,
        "duration_s": _r(sc.duration),
        "outcome": sim.outcome(),
        "compartments": compartments,
        "station": {
            "p_min_Pa": _r(float(np.min(sim.p_min))),
            "p_min_at": sim.names[int(np.argmin(sim.p_min))],
            "reserve_floor_Pa": _r(st.limits.reserve_floor),
        },
        "leaks": {},
        "gas": {
            "leaked_kg": _r(float(np.sum(ledger.leaked))),
            "leaked_by_leak_kg": leaked,
            "supplies": supplies,
        },
        "alarms": [dict(e) for e in sim.log.of_kind("alarm")],
    }
    for leak in sc.leaks:
        state = sim.leak_state.get(leak.id, {})
        detected = sim.leak_detected.get(leak.id)
        summary["leaks"][leak.id] = {
            "at": leak.at,
            "started_s": _r(state["started"]) if "started" in state else None,
            "detected_s": _r(detected[0]) if detected else None,
            "detected_by": detected[1] if detected else None,
            "isolated_s": _r(sim.leak_isolated[leak.id]) if leak.id in sim.leak_isolated else None,
            "repaired_s": _r(sim.leak_repaired[leak.id]) if leak.id in sim.leak_repaired else None,
            "cda_m2": _r(state.get("cda_m2", 0.0)),
            "leaked_kg": leaked.get(leak.id, 0.0),
        }
    if sim.treserve_first is not None:
        summary["treserve_first_s"] = _r(sim.treserve_first[1])
        summary["treserve_first_at_s"] = _r(sim.treserve_first[0])
    else:
        summary["treserve_first_s"] = None
    crew = {}
    for m in sim.crew.values():
        crew[m.id] = {
            "roles": list(m.roles),
            "start": m.home,
            "location": m.location,
            "aboard": m.aboard,
            "status": m.status,
            "worst_status": m.worst_status,
            "sheltered_s": _r(m.sheltered_at) if m.sheltered_at is not None else None,
            "min_ppO2_Pa": _r(m.min_ppO2) if m.min_ppO2 != float("inf") else None,
            "min_p_Pa": _r(m.min_p) if m.min_p != float("inf") else None,
        }
    summary["crew"] = crew
    summary["procedures"] = [
        {"procedure": r.label, "name": r.procedure.name, "status": r.status, "last_phase": r.phase}
        for r in sim.procedure_runs
    ]
    for ext in sim.extensions:
        ext.summarize(summary)
    from sim.results.checks import evaluate_checks

    summary["checks"] = evaluate_checks(sim, summary)
    summary["checks_passed"] = all(c["passed"] for c in summary["checks"])
    return summary
