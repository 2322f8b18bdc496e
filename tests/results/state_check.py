"""Helpers of the state-at-T tests: run with the engine probe, compare with the state from events."""

from __future__ import annotations

import itertools

import numpy as np

from sim.probe import ProbingEnvironment, engine_state
from sim.results.state import StateTracker

_EPS = 1e-3
"""How far before and after an event the instants are taken [s] (event times carry 9 digits)."""


def sample_times(events: list[dict], duration: float, rng: np.random.Generator, n_random: int = 20) -> list[float]:
    """Instants to compare at: just before and after every event time, midpoints, random ones, the ends."""
    ts = sorted({float(e["t"]) for e in events})
    out = {0.0, float(duration)}
    for a, b in itertools.pairwise(ts):
        out.add((a + b) / 2)
    for t in ts:
        out.update((t - _EPS, t + _EPS))
    out.update(rng.uniform(0.0, duration, n_random).tolist())
    return sorted(t for t in out if 0.0 <= t <= duration)


def probed_run(make_sim, times: list[float]):
    """Run ``make_sim(env)``'s simulation with a probe at *times*; returns (result, {t: EngineState})."""
    captured = {}
    holder = {}

    def capture(t):
        captured[t] = engine_state(holder["sim"], t, holder.get("extra", ()))

    env = ProbingEnvironment(times, capture)
    sim, run = make_sim(env)
    holder["sim"] = sim
    holder["extra"] = getattr(run, "live_runs", ())
    result = run.run() if run is not None else sim.run()
    env.finish()
    return result, captured


def derived_states(loaded, events: list[dict], times: list[float]):
    """The state from events at each of *times*, with one tracker walking the log once."""
    tracker = StateTracker(loaded)
    out, k = {}, 0
    for t in sorted(times):
        while k < len(events) and events[k]["t"] <= t + 1e-9:
            tracker.apply(events[k])
            k += 1
        out[t] = tracker.snapshot(t)
    return out


def differences(derived, engine) -> list[str]:
    """Where the state from events and the engine's own state disagree (empty when they agree)."""
    diffs = []

    def check(what, a, b):
        if a != b:
            diffs.append(f"t={engine.t:.6f} {what}: from events {a!r}, engine {b!r}")

    for cid, e in engine.crew.items():
        d = derived.crew[cid]
        check(f"{cid}.location", d.location, e["location"])
        check(f"{cid}.aboard", d.aboard, e["aboard"])
        check(f"{cid}.activity", d.activity, e["activity"])
        check(f"{cid}.status", d.status, e["status"])
        check(f"{cid}.trapped", d.trapped, e["trapped_to"] is not None)
        waiting = d.blocked_by[0].split(":")[0].removeprefix("hatch ") if d.blocked_by and not d.trapped else None
        check(f"{cid}.waiting_at", waiting, e["waiting_at"])
    check("crew ids", sorted(derived.crew), sorted(engine.crew))
    for h, e in engine.hatches.items():
        d = derived.hatches[h]
        check(f"{h}", (d.open, d.valve_open, d.jammed, d.valve_stuck),
              (e["open"], e["valve_open"], e["jammed"], e["valve_stuck"]))
    check("leak ids", sorted(derived.leaks), sorted(engine.leaks))
    for lid, e in engine.leaks.items():
        d = derived.leaks.get(lid)
        if d is not None:
            check(f"{lid}", (d.at, d.active, d.isolated), (e["at"], e["active"], e["isolated"]))
            if not np.isclose(d.cda_m2, e["cda_m2"], rtol=1e-8, atol=0):
                diffs.append(f"t={engine.t} {lid}.cda_m2: {d.cda_m2} vs {e['cda_m2']}")
    check("alarms", sorted(a for a, s in derived.alarms.items() if s.cause is None), sorted(engine.alarms))
    check("procedures", {k: (p.phase, p.status) for k, p in derived.procedures.items()},
          {k: (p["phase"], p["status"]) for k, p in engine.procedures.items()})
    check("shelter", {v: (list(s.crew), s.sealed) for v, s in derived.shelter.items()},
          {v: (s["crew"], s["sealed"]) for v, s in engine.shelter.items()})
    return diffs
