"""A hunt plan as a procedure file (and a scenario that runs it), for ``validate`` and ``run``."""

from __future__ import annotations

import math

import yaml

from sim.leakhunt.plan import HuntPlan

__all__ = ["plan_procedure", "plan_scenario"]

MMHG = 133.322


def _q(x: float, unit: str) -> str:
    return f"{x:.6g} {unit}"


def plan_procedure(plan: HuntPlan, resolution: float, noise: float, title: str) -> str:
    """The procedure text: one phase per step, a ``found_SITE`` phase per candidate (the leak located).

    A measurement decides "the leak is here" when its dP/dt is below the plan's decision level, midway
    between the changes expected without and with the leak over the window.
    """
    phases: dict[str, list] = {}
    order = list(plan.nodes)
    steps_first = [n for n in order if plan.nodes[n].site is None] + [n for n in order if plan.nodes[n].site is not None]
    for name in steps_first:
        node = plan.nodes[name]
        if node.site is not None:
            body = []
            if plan.strategy == "all":
                body += [{"do": "open_hatch", "hatch": h, "by": "search", "side": s}
                         for h, s in zip(reversed(node_close(plan)), reversed(node_sides(plan)), strict=True)]
            body.append({"do": "end"})
            phases[name] = body
            continue
        body = [{"do": "close_hatch", "hatch": h, "by": "search", "side": s} for h, s in zip(node.close, node.sides, strict=True)]
        measures = []
        for k, (of, w, _child, _level) in enumerate(node.measure):
            var = f"d_{name}_{k}" if len(node.measure) > 1 else f"d_{name}"
            measures.append((var, {"do": "measure", "of": of, "window": _q(w, "s"), "as": var,
                                   "resolution": _q(resolution, "Pa"), "noise": _q(noise, "Pa")}, w))
        if len(measures) == 1:
            body.append(measures[0][1])
        else:
            body.append({"parallel": {f"m_{of}": [m] for (_, m, _), (of, *_) in zip(measures, node.measure, strict=True)}})
        if node.reopen:
            body += [{"do": "open_hatch", "hatch": h, "by": "search", "side": s} for h, s in zip(node.close, node.sides, strict=True)]
        for (var, _, _w), (_, _, child, level) in zip(measures, node.measure, strict=True):
            limit = level * 3600 / MMHG  # [mmHg/h], midway between the expected changes without and with the leak
            cond = f"{var} < {limit:.6g} mmHg/h"
            if len(measures) == 1:
                body.append({"if": cond, "then": child, "else": node.otherwise})
            else:
                body.append({"if": cond, "then": child})
        if len(measures) > 1:
            body.append({"goto": node.otherwise})
        phases[name] = body
    doc = {"name": title,
           "description": (f"Planned by safehaven hunt ({plan.strategy}): close, wait the window, measure, reopen, "
                           "branch; the phase found_SITE is reached when the leak is located in SITE."),
           "roles": ["search"], "phases": phases}
    return yaml.safe_dump(doc, sort_keys=False, width=120, allow_unicode=True)


def node_close(plan: HuntPlan) -> list[str]:
    return plan.nodes[plan.root].close


def node_sides(plan: HuntPlan) -> list[str]:
    return plan.nodes[plan.root].sides


def plan_scenario(station_ref: str, plan: HuntPlan, rate: float, crew_at: str, crew_count: int, site: str) -> str:
    """A scenario that runs the plan's procedure with a leak of *rate* [kg/s] in *site*.

    The run's default checks judge it like any other: a plan that closes the crew into a part of the
    station with the leak (or without life support) fails "nobody sealed into an isolated or leaking
    compartment", which is what the crew would be.
    """
    duration = math.ceil((plan.worst_time() * 2.0 + 3600.0) / 600.0) * 600.0
    crew = [{"id": "searcher", "roles": ["search"], "at": crew_at}]
    crew += [{"id": f"crew{k}", "at": crew_at} for k in range(2, crew_count + 1)]
    doc = {
        "name": f"Leak hunt ({plan.strategy}) with the leak in {site}",
        "description": "Written by safehaven hunt: the planned procedure against one leak; set leaks.0.at and "
                       "leaks.0.rate to try another.",
        "station": station_ref,
        "duration": f"{duration:g} s",
        "seed": 1,
        "output": {"every": "60 s"},
        "crew": crew,
        "leaks": [{"id": "leak", "at": site, "rate": f"{rate:.9g} kg/s"}],
        "run": [{"procedure": "procedure.yaml", "at": "0 s"}],
    }
    return yaml.safe_dump(doc, sort_keys=False, width=120, allow_unicode=True)
