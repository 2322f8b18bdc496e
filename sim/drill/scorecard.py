"""The scorecard of a drill: each expectation passed or failed with its margin, weighted into a score.

Expectations are judged from the event log and the summary after the run, never during it, so a
live session and its replay are scored alike.

Deadlines are relative to the first event of a kind (``of: alarm``); a state expectation
(``hatches_closed``, ``crew_at_vehicles``) is met at the first moment, at or after that event,
when the state holds — already holding at the event counts. The margin is the time to spare
[s]; negative when late; ``None`` when never met or when the expectation is pass/fail only. An
expectation whose reference event never happened is *not applicable*: it is shown but leaves the
score alone. Score = 100 x (weight passed) / (weight applicable); with nothing applicable there is
no score (``score: null``, not passed), never a "100" that nothing earned.

Every expectation says why it passed or failed in words (``detail``, times as HH:MM:SS, values in
the unit the drill file used) and, when it failed, ``why`` lists what stood in the way (a jammed
hatch and who tried it, who was not where they had to be). ``commands`` lines up the trainees'
commands that touched its subject (its hatches, leak, crew, a measurement).
"""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

from sim.drill.clock import clock
from sim.results.summary import build_summary
from sim.scenario.drill_load import EventRef, LoadedDrill, segment_hatches
from sim.scenario.drill_model import (
    CrewAtVehicles,
    CrewSeparatedFromLeak,
    HatchesClosed,
    LeakIsolated,
    NobodyImpaired,
    NobodyIncapacitated,
    ScenarioCheck,
    TreserveMeasured,
)

if TYPE_CHECKING:
    import simpy

    from sim.engine import RunResult, Simulation

__all__ = ["ScoredRun", "describe", "live_score", "ref_time", "score"]


class ScoredRun(Protocol):
    """What scoring reads of a drill being run (a :class:`sim.drill.injects.DrillRun`, which
    scores itself at its end, so this module cannot depend on it)."""

    drill: LoadedDrill
    sim: Simulation
    env: simpy.Environment
    fired: dict[str, float]
    """inject name -> time it fired [s]"""
    session: list[dict[str, Any]]
    """every command given, ``{"t": [s], "command": text}`` (and ``"error"`` when refused)"""
    mode: str

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
        "hatch_opened": lambda e: e["kind"] == "hatch" and e.get("state") == "open" and ref.arg in (None, e.get("hatch")),
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


def _separation_update(state, e):
    """State: hatch -> open, crew -> place (None once departed), leak -> started."""
    kind = e["kind"]
    if kind == "hatch":
        state["hatch"][e["hatch"]] = e["state"] == "open"
    elif kind == "move":
        state["crew"][e["crew"]] = e["to"]
    elif kind == "undock":
        for c in e.get("crew", []):
            state["crew"][c] = None
        state["departed"].add(e["vehicle"])
    elif kind == "leak_start":
        state["leaks"].add(e["leak"])


def _in_unit(value_si: float, raw: Any, kind: str) -> tuple[float, str] | None:
    """*value_si* in the unit of the drill file's text *raw* (``"490 mmHg"``), or None."""
    from sim.units import UnitError, to_si

    if not isinstance(raw, str):
        return None
    m = re.match(r"^\s*[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?\s*([^\s].*?)\s*$", raw)
    if m is None:
        return None
    unit = m.group(1)
    try:
        factor = to_si(f"1 {unit}", kind)
    except UnitError:
        return None
    return float(f"{value_si / factor:.6g}"), unit


_CMD_SUBJECT_WORDS = re.compile(r"[A-Za-z0-9_.-]+")


def _related_commands(run: ScoredRun, words: set[str]) -> list[dict[str, Any]]:
    """The session's accepted commands that name one of *words* (hatch, leak, crew ids, verbs)."""
    out = []
    for r in run.session:
        text = r.get("command", "")
        if "error" in r or not words & set(_CMD_SUBJECT_WORDS.findall(text)):
            continue
        out.append({"t_s": r["t"], "at": clock(r["t"]), "command": text})
    return out


def _subject(run: ScoredRun, exp) -> set[str]:
    """The words a trainee's command about *exp* would contain."""
    sim = run.sim
    if isinstance(exp, HatchesClosed):
        return set(segment_hatches(sim.station) if exp.hatches == "segments" else exp.hatches)
    if isinstance(exp, CrewAtVehicles):
        members = [c for c in sim.scenario.crew if exp.who in ("all", c.id) or exp.who in c.roles]
        return {exp.who, "vehicle", "shelter", *(c.id for c in members), *(c.vehicle for c in members if c.vehicle)}
    if isinstance(exp, TreserveMeasured):
        return {"measure"}
    if isinstance(exp, LeakIsolated | CrewSeparatedFromLeak):
        return {"close", "shelter", getattr(exp, "leak", "")}
    return set()


def _hatch_trouble(events: list[dict], hatches: list[str], until: float) -> list[str]:
    """Why hatches did not close: jams (and who tried), stuck valves, blocked openings."""
    why = []
    for e in events:
        if e["t"] > until:
            break
        if e["kind"] == "inject" and e.get("fault") == "hatch_jams" and e.get("hatch") in hatches:
            why.append(f"{e['hatch']} jammed at {clock(e['t'])} (inject {e['name']})")
        elif e["kind"] == "hatch_jammed" and e.get("hatch") in hatches:
            why.append(f"{e['by']}'s attempt on {e['hatch']} at {clock(e['t'])} failed: jammed")
    return why

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
    if isinstance(exp, CrewSeparatedFromLeak):
        who = "all crew" if exp.who == "all" else exp.who
        return f"{who} separated from leak {exp.leak} within {exp.within / 60:g} min of {exp.of}"
    if isinstance(exp, ScenarioCheck):
        return exp.check.name or exp.check.expect
    return kind.replace("_", " ")


def _raw(run: ScoredRun, i: int, path: tuple[str, ...]) -> Any:
    """The text the drill file gave at ``expect[i].<path>`` (for its unit), or None."""
    node: Any = run.drill.doc.data
    for key in ("expect", i, *path):
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _judge(run: ScoredRun, result: RunResult, i: int, exp) -> dict[str, Any]:
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
        out["detail"] = re.sub(r"\b(\d+(?:\.\d+)?) s\b", lambda m: clock(float(m.group(1))), res["detail"])
        if isinstance(margin, int | float):
            unit = "Pa" if exp.check.expect == "min_pressure" else "s"
            out["margin_s" if unit == "s" else "margin_Pa"] = margin
            if unit == "Pa":
                raw = _raw(run, i, ("check", "above"))
                shown = _in_unit(margin, raw, "pressure") if math.isfinite(margin) else None
                if shown is not None:
                    out["margin"] = {"value": shown[0], "unit": shown[1]}
                    low = _in_unit(margin + exp.check.above, raw, "pressure")
                    limit = _in_unit(exp.check.above, raw, "pressure")
                    out["detail"] = f"minimum {low[0]:g} {low[1]}, limit {limit[0]:g} {limit[1]}"
        return out
    if isinstance(exp, TreserveMeasured) and exp.before is not None:
        ref = refs[(i, "before")]
        t_ref = ref_time(ref, events, summary)
        t_m = next((e["t"] for e in events if e["kind"] == "measure" and e.get("what") in TRESERVE_KINDS), None)
        out["ref"], out["ref_t_s"] = str(ref), t_ref
        if t_m is None:
            out["detail"] = "Treserve was never measured"
        elif t_ref is None:
            out["passed"], out["detail"] = True, f"measured at {clock(t_m)}; {ref} never happened"
        else:
            out["passed"] = t_m <= t_ref
            out["margin_s"] = _r(t_ref - t_m)
            out["detail"] = f"measured at {clock(t_m)}, {ref} at {clock(t_ref)}"
        return out

    ref = refs[(i, "of")]
    t_ref = ref_time(ref, events, summary)
    out["ref"], out["ref_t_s"] = str(ref), t_ref
    if t_ref is None:
        out["passed"] = None
        out["detail"] = f"not applicable: {ref} never happened"
        return out
    deadline = t_ref + exp.within
    out["deadline_s"] = _r(deadline)
    why: list[str] = []
    initial = {h: (sim.scenario.initial.hatches.get(h, "open" if x.open else "closed") == "open")
               for h, x in sim.station.hatches.items()}
    if isinstance(exp, HatchesClosed):
        hatches = segment_hatches(sim.station) if exp.hatches == "segments" else list(exp.hatches)
        t = _first_holding(events, dict(initial), _hatch_update, lambda s: not any(s[h] for h in hatches), t_ref)
        what = "closed"
        if t is None or t > deadline + 1e-9:
            state = dict(initial)
            for e in events:
                if e["t"] > deadline:
                    break
                _hatch_update(state, e)
            still = [h for h in hatches if state[h]]
            why = [f"open at the deadline: {', '.join(still)}", *_hatch_trouble(events, still, deadline)]
    elif isinstance(exp, CrewSeparatedFromLeak):
        t, why = _separated(run, events, exp, initial, t_ref, deadline)
        what = "separated from the leak"
        if t is None and why and why[0].startswith("not applicable"):
            out["passed"], out["detail"] = None, why[0]
            return out
    elif isinstance(exp, CrewAtVehicles):
        members = [c for c in sim.scenario.crew if exp.who in ("all", c.id) or exp.who in c.roles]
        where = {c.id: c.at for c in sim.scenario.crew}
        t = _first_holding(events, where, _crew_update, lambda s: all(s[c.id] == c.vehicle for c in members), t_ref)
        what = "all at their vehicles"
        if t is None or t > deadline + 1e-9:
            state = {c.id: c.at for c in sim.scenario.crew}
            for e in events:
                if e["t"] > deadline:
                    break
                _crew_update(state, e)
            why = [f"{c.id} in {state[c.id]}, not {c.vehicle}, at the deadline" for c in members
                   if state[c.id] != c.vehicle]
    elif isinstance(exp, TreserveMeasured):
        t = next((e["t"] for e in events if e["kind"] == "measure" and e.get("what") in TRESERVE_KINDS
                  and e["t"] >= t_ref), None)
        what = "measured"
    elif isinstance(exp, LeakIsolated):
        t_iso = next((e["t"] for e in events if e["kind"] == "leak_isolated" and e.get("leak") == exp.leak), None)
        left = next((e for e in events if e["kind"] == "undock" and e.get("crew")), None)
        if t_iso is not None and left is not None and left["t"] <= t_iso + 1e-9:
            # the zone emptied because the crew left the station: that is an evacuation, not an isolation
            why = [f"the crew ({', '.join(left['crew'])}) left in {left['vehicle']} at {clock(left['t'])}: "
                   "abandoning the station is its own outcome, not an isolation"]
            t_iso = None
        t = None if t_iso is None else max(t_iso, t_ref)
        what = "isolated"
    else:  # pragma: no cover  (the model admits no other kind)
        raise TypeError(exp)
    if why:
        out["why"] = why
    if t is None:
        out["detail"] = f"never {what} ({ref} at {clock(t_ref)}, deadline {clock(deadline)})"
        return out
    out["t_s"] = t
    out["margin_s"] = _r(deadline - t)
    out["passed"] = t <= deadline + 1e-9
    out["detail"] = f"{what} at {clock(t)}, deadline {clock(deadline)} ({ref} at {clock(t_ref)})"
    return out


def _separated(run: ScoredRun, events: list[dict], exp, initial: dict, t_ref: float, deadline: float):
    """First time >= *t_ref* at which every member of ``exp.who`` is out of the leak's reach; and why not."""
    from sim.station import zones as station_zones

    sim = run.sim
    leak = next(lk for lk in sim.scenario.leaks if lk.id == exp.leak)
    members = [c.id for c in sim.scenario.crew if exp.who in ("all", c.id) or exp.who in c.roles]
    state = {"hatch": dict(initial), "crew": {c.id: c.at for c in sim.scenario.crew}, "departed": set(),
             "leaks": set()}

    def reach(s):
        groups = station_zones(sim.G, lambda h: s["hatch"][h] and not (set(sim.station.hatches[h].between)
                                                                      & s["departed"]))
        return next(g for g in groups if leak.at in g)

    def holds(s):
        if exp.leak not in s["leaks"]:
            return False
        zone = reach(s)
        return all(s["crew"][c] is not None and s["crew"][c] not in zone for c in members)

    if not any(e["kind"] == "leak_start" and e.get("leak") == exp.leak for e in events):
        return None, [f"not applicable: leak {exp.leak} never started"]
    # met from the first instant after which the crew stay out of reach until the leak is repaired
    # (or the run ends): being out of reach for a moment, before a hatch to the leak opens, is not it
    t_stop = next((e["t"] for e in events if e["kind"] == "repair_done" and e.get("leak") == exp.leak
                   and e.get("success")), math.inf)
    k = 0
    while k < len(events) and events[k]["t"] <= t_ref:
        _separation_update(state, events[k])
        k += 1
    t = t_ref if holds(state) else None
    for e in events[k:]:
        if e["t"] > t_stop:
            break
        _separation_update(state, e)
        if not holds(state):
            t = None
        elif t is None:
            t = e["t"]
    why: list[str] = []
    if t is None or t > deadline + 1e-9:
        s = {"hatch": dict(initial), "crew": {c.id: c.at for c in sim.scenario.crew}, "departed": set(),
             "leaks": set()}
        for e in events:
            if e["t"] > deadline:
                break
            _separation_update(s, e)
        zone = reach(s)
        gone = [c for c in members if s["crew"][c] is None]
        exposed = [c for c in members if s["crew"][c] is not None and s["crew"][c] in zone]
        if exposed:
            places = ", ".join(f"{c} in {s['crew'][c]}" for c in exposed)
            why.append(f"at the deadline {places}, open to {leak.at} through open hatches")
        if gone:
            why.append(f"{', '.join(gone)} left the station (evacuation is its own outcome)")
        near = {s["crew"][c] for c in exposed}
        shut = [h for h, x in sim.station.hatches.items() if set(x.between) & near]
        why.extend(_hatch_trouble(events, shut, deadline))
    return t, why


def score(run: ScoredRun, result: RunResult) -> dict[str, Any]:
    """The scorecard of a finished drill run, JSON-ready."""
    drill = run.drill.drill
    items = []
    for i, exp in enumerate(drill.expect):
        item = _judge(run, result, i, exp)
        item["commands"] = _related_commands(run, _subject(run, exp))
        items.append(item)
    applicable = [x for x in items if x["passed"] is not None]
    total = sum(x["weight"] for x in applicable)
    got = sum(x["weight"] for x in applicable if x["passed"])
    value = None if total == 0 else float(f"{100.0 * got / total:.4g}")
    injects = []
    for inj in drill.injects:
        trigger = "at" if inj.at is not None else "when" if inj.when is not None else "manual"
        fired = run.fired.get(inj.name)
        injects.append({"name": inj.name, "fault": inj.fault, "trigger": trigger, "note": inj.note,
                        "fired_s": fired, "fired_at": clock(fired) if fired is not None else None})
    quits = [r for r in run.session if r.get("command", "").split()[:1] == ["quit"] and "error" not in r]
    ended_early = None
    if run.env.now < run.sim.end - 1e-9:
        reason = quits[-1].get("reason", "quit") if quits else result.status
        ended_early = {"at_s": _r(run.env.now), "duration_s": _r(run.sim.end), "reason": reason}
    return {
        "drill": drill.name,
        "scenario": run.sim.scenario.name,
        "seed": run.sim.seed,
        "mode": run.mode,
        "end_s": _r(run.env.now),
        "ended_early": ended_early,
        "score": value,
        "pass_mark": drill.scoring.pass_mark,
        "passed": value is not None and value >= drill.scoring.pass_mark and result.status == "ok",
        "all_met": bool(applicable) and all(x["passed"] for x in applicable) and result.status == "ok",
        "scored": value is not None,
        "status": result.status,
        "expectations": items,
        "injects": injects,
        "commands": [{"t_s": r["t"], "at": clock(r["t"]), **{k: v for k, v in r.items() if k != "t"}}
                     for r in run.session],
    }



def live_score(run: ScoredRun) -> dict[str, Any]:
    """The scorecard so far, while the drill runs (read only): each expectation ``met``, ``missed``,
    ``pending until HH:MM:SS`` (its deadline is still ahead), ``holds so far`` (a whole-drill one) or
    ``not applicable yet``; the score counts only what is decided."""
    sim = run.sim
    summary = build_summary(sim, sim.recorder.series(), "ok", "")
    card = score(run, SimpleNamespace(events=sim.log, summary=summary, status="ok"))
    now = run.env.now
    decided_weight = met_weight = 0.0
    items = []
    for x in card["expectations"]:
        deadline = x.get("deadline_s")
        if x["passed"] is None:
            status = "not applicable yet"
        elif deadline is None and x["expect"] in ("nobody_incapacitated", "nobody_impaired", "check"):
            status = "holds so far" if x["passed"] else "missed"
            if not x["passed"]:
                decided_weight += x["weight"]
        elif x["passed"]:
            status = "met"
            decided_weight += x["weight"]
            met_weight += x["weight"]
        elif deadline is not None and deadline > now:
            status = f"pending until {clock(deadline)}"
        else:
            status = "missed"
            decided_weight += x["weight"]
        items.append({"name": x["name"], "status": status, "weight": x["weight"]})
    value = None if decided_weight == 0 else float(f"{100.0 * met_weight / decided_weight:.4g}")
    return {"score": value, "expectations": items}
