"""The scorecard of a drill: each expectation passed or failed with its margin, weighted into a score.

Expectations are judged from the event log and the summary after the run, never during it, so a
live session and its replay are scored alike.

Deadlines are relative to the first event of a kind (``of: alarm``); a state expectation
(``hatches_closed``, ``crew_at_vehicles``) is met at the first moment, at or after that event,
when the state holds — already holding at the event counts. The margin is the time to spare
[s]; negative when late; ``None`` when never met or when the expectation is pass/fail only. An
expectation whose reference event never happened is *not applicable*: it is shown but leaves the
score alone. Score = 100 x (weight passed) / (weight applicable).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sim.scenario.drill_load import EventRef, segment_hatches
from sim.scenario.drill_model import (
    CrewAtVehicles,
    HatchesClosed,
    LeakIsolated,
    NobodyImpaired,
    NobodyIncapacitated,
    ScenarioCheck,
    TreserveMeasured,
)

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun
    from sim.engine import RunResult

__all__ = ["describe", "ref_time", "score"]

TRESERVE_KINDS = ("treserve", "dpdt")
"""Measurements that give Treserve (a dP/dt reading gives it as well, as the engine counts it)."""


def _r(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.6g}")


def ref_time(ref: EventRef, events: list[dict], summary: dict) -> float | None:
    """When the referenced event first happened [s], or None."""
    if ref.kind == "start":
        return 0.0
    if ref.kind == "leak_detected":
        times = [v["detected_s"] for k, v in summary.get("leaks", {}).items()
                 if v.get("detected_s") is not None and ref.arg in (None, k)]
        return min(times) if times else None
    match = {
        "alarm": lambda e: e["kind"] == "alarm" and ref.arg in (None, e.get("alarm")),
        "inject": lambda e: e["kind"] == "inject" and e.get("name") == ref.arg,
        "hatch_closed": lambda e: e["kind"] == "hatch" and e.get("state") == "closed" and ref.arg in (None, e.get("hatch")),
        "leak_start": lambda e: e["kind"] == "leak_start" and ref.arg in (None, e.get("leak")),
    }[ref.kind]
    return next((e["t"] for e in events if match(e)), None)


def _first_holding(events: list[dict], state: dict, update, holds, t_from: float) -> float | None:
    """First time >= *t_from* at which ``holds(state)``, replaying *events* through ``update``."""
    k = 0
    while k < len(events) and events[k]["t"] <= t_from:
        update(state, events[k])
        k += 1
    if holds(state):
        return t_from
    for e in events[k:]:
        update(state, e)
        if holds(state):
            return e["t"]
    return None


def _hatch_update(state, e):
    if e["kind"] == "hatch":
        state[e["hatch"]] = e["state"] == "open"


def _crew_update(state, e):
    if e["kind"] == "move":
        state[e["crew"]] = e["to"]


def describe(exp) -> str:
    """A default name for an expectation."""
    kind = exp.expect
    if isinstance(exp, HatchesClosed):
        what = "segment hatches" if exp.hatches == "segments" else "hatches " + ", ".join(exp.hatches)
        return f"{what} closed within {exp.within / 60:g} min of {exp.of}"
    if isinstance(exp, CrewAtVehicles):
        who = "all crew" if exp.who == "all" else exp.who
        return f"{who} at their vehicles within {exp.within / 60:g} min of {exp.of}"
    if isinstance(exp, TreserveMeasured):
        if exp.before is not None:
            return f"Treserve measured before {exp.before}"
        return f"Treserve measured within {exp.within / 60:g} min of {exp.of}"
    if isinstance(exp, LeakIsolated):
        return f"leak {exp.leak} isolated within {exp.within / 60:g} min of {exp.of}"
    if isinstance(exp, ScenarioCheck):
        return exp.check.name or exp.check.expect
    return kind.replace("_", " ")


def _judge(run: DrillRun, result: RunResult, i: int, exp) -> dict[str, Any]:
    sim, events, summary = run.sim, result.events.events, result.summary
    refs = run.drill.refs
    out: dict[str, Any] = {"name": exp.name or describe(exp), "expect": exp.expect, "weight": exp.weight,
                           "passed": False, "margin_s": None, "detail": ""}
    if isinstance(exp, NobodyIncapacitated | NobodyImpaired):
        worst = {"incapacitated"} if isinstance(exp, NobodyIncapacitated) else {"impaired", "incapacitated"}
        hit = [cid for cid, c in summary["crew"].items() if c["worst_status"] in worst]
        out["passed"] = not hit
        out["detail"] = ", ".join(f"{cid} {summary['crew'][cid]['worst_status']}" for cid in hit) or "nobody"
        return out
    if isinstance(exp, ScenarioCheck):
        from sim.results.checks import evaluate_checks

        class _One:  # the engine, seen as if its scenario had this one check
            def __getattr__(self, name):
                return getattr(sim, name)

        one = _One()
        one.scenario = SimpleNamespace(checks=[exp.check])
        res = evaluate_checks(one, summary)[0]
        margin = res["margin"]
        out["passed"] = res["passed"]
        out["detail"] = res["detail"]
        if isinstance(margin, int | float):
            unit = "Pa" if exp.check.expect == "min_pressure" else "s"
            out["margin_s" if unit == "s" else "margin_Pa"] = margin
        return out
    if isinstance(exp, TreserveMeasured) and exp.before is not None:
        ref = refs[(i, "before")]
        t_ref = ref_time(ref, events, summary)
        t_m = next((e["t"] for e in events if e["kind"] == "measure" and e.get("what") in TRESERVE_KINDS), None)
        out["ref"], out["ref_t_s"] = str(ref), t_ref
        if t_m is None:
            out["detail"] = "Treserve was never measured"
        elif t_ref is None:
            out["passed"], out["detail"] = True, f"measured at {t_m:.0f} s; {ref} never happened"
        else:
            out["passed"] = t_m <= t_ref
            out["margin_s"] = _r(t_ref - t_m)
            out["detail"] = f"measured at {t_m:.0f} s, {ref} at {t_ref:.0f} s"
        return out

    ref = refs[(i, "of")]
    t_ref = ref_time(ref, events, summary)
    out["ref"], out["ref_t_s"] = str(ref), t_ref
    if t_ref is None:
        out["passed"] = None
        out["detail"] = f"not applicable: {ref} never happened"
        return out
    deadline = t_ref + exp.within
    if isinstance(exp, HatchesClosed):
        hatches = segment_hatches(sim.station) if exp.hatches == "segments" else list(exp.hatches)
        initial = {h: (sim.scenario.initial.hatches.get(h, "open" if x.open else "closed") == "open")
                   for h, x in sim.station.hatches.items()}
        t = _first_holding(events, initial, _hatch_update, lambda s: not any(s[h] for h in hatches), t_ref)
        what = "closed"
    elif isinstance(exp, CrewAtVehicles):
        members = [c for c in sim.scenario.crew if exp.who in ("all", c.id) or exp.who in c.roles]
        where = {c.id: c.at for c in sim.scenario.crew}
        t = _first_holding(events, where, _crew_update, lambda s: all(s[c.id] == c.vehicle for c in members), t_ref)
        what = "all at their vehicles"
    elif isinstance(exp, TreserveMeasured):
        t = next((e["t"] for e in events if e["kind"] == "measure" and e.get("what") in TRESERVE_KINDS
                  and e["t"] >= t_ref), None)
        what = "measured"
    elif isinstance(exp, LeakIsolated):
        t_iso = next((e["t"] for e in events if e["kind"] == "leak_isolated" and e.get("leak") == exp.leak), None)
        t = None if t_iso is None else max(t_iso, t_ref)
        what = "isolated"
    else:  # pragma: no cover  (the model admits no other kind)
        raise TypeError(exp)
    if t is None:
        out["detail"] = f"never {what} ({ref} at {t_ref:.0f} s, deadline {deadline:.0f} s)"
        return out
    out["t_s"] = t
    out["margin_s"] = _r(deadline - t)
    out["passed"] = t <= deadline + 1e-9
    out["detail"] = f"{what} at {t:.0f} s, deadline {deadline:.0f} s ({ref} at {t_ref:.0f} s)"
    return out


def score(run: DrillRun, result: RunResult) -> dict[str, Any]:
    """The scorecard of a finished drill run, JSON-ready."""
    drill = run.drill.drill
    items = [_judge(run, result, i, exp) for i, exp in enumerate(drill.expect)]
    applicable = [x for x in items if x["passed"] is not None]
    total = sum(x["weight"] for x in applicable)
    got = sum(x["weight"] for x in applicable if x["passed"])
    value = 100.0 if total == 0 else 100.0 * got / total
    value = float(f"{value:.4g}")
    injects = []
    for inj in drill.injects:
        trigger = "at" if inj.at is not None else "when" if inj.when is not None else "manual"
        injects.append({"name": inj.name, "fault": inj.fault, "trigger": trigger,
                        "fired_s": run.fired.get(inj.name)})
    return {
        "drill": drill.name,
        "scenario": run.sim.scenario.name,
        "seed": run.sim.seed,
        "mode": run.mode,
        "end_s": _r(run.env.now),
        "score": value,
        "pass_mark": drill.scoring.pass_mark,
        "passed": value >= drill.scoring.pass_mark and result.status == "ok",
        "all_met": all(x["passed"] for x in applicable) and result.status == "ok",
        "status": result.status,
        "expectations": items,
        "injects": injects,
    }

