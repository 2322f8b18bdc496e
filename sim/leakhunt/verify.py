"""Run a written hunt plan with the engine for leaks in every candidate, and compare with the claims."""

from __future__ import annotations

from pathlib import Path

from sim.api import load
from sim.engine import simulate

__all__ = ["verify_plan"]


def verify_plan(scenario: Path, sites: list[str], rate: float, factors=(1.0,)) -> list[dict]:
    """For each site and rate factor: where the executed plan located the leak, and when [s]."""
    out = []
    for f in factors:
        for site in sites:
            loaded = load(scenario, [f"leaks.0.at={site}", f"leaks.0.rate={rate * f!r} kg/s"])
            result = simulate(loaded)
            found = [e for e in result.events.of_kind("phase_start") if str(e.get("phase", "")).startswith("found_")]
            where = found[0]["phase"].removeprefix("found_") if found else None
            out.append({"site": site, "rate_factor": f, "located": where, "correct": where == site,
                        "time_s": float(found[0]["t"]) if found else None, "status": result.status})
    return out
