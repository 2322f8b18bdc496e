"""What each seat of the browser station sees, built from the running drill.

Two views, built in the simulation's thread once per tick. The discrete state (crew, hatches,
valves, jams, leaks, alarms, procedures) is the one :class:`sim.results.state.StateTracker` derives
from the run's events — the same state ``replay --at`` and ``report --at`` show — and the pressures
are the solver's latest state (read, never synced, and never a random draw: watching changes
nothing):

* :func:`instructor_view` — the truth: true pressures and their rates, Treserve, hatch and valve
  states with their faults (jams, stuck valves), crew positions and tasks, leak sites, alarms,
  what procedures run, the injects with their notes and whether they fired.
* :func:`trainee_view` — only what the crew would see: each compartment's pressure *as its gauge
  reads it* (the drill's gauge faults applied — a bias, a scale, a failed gauge — and quantized to
  the gauge's step, 0.1 mmHg by default), the alarms sounding, their crew (where each is and what
  they do), the hatches and valves as they stand, and a hatch marked jammed only once someone
  tried it and reported it. Never a leak, an inject, a fault not yet met, or a true Treserve.

:func:`trainee_event` filters the event feed the same way (a whitelist of kinds and fields), and
:func:`layout` places the station's compartments for the diagram (deterministic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from sim.drill.clock import clock, treserve_text
from sim.drill.feedback import MMHG, reading_text
from sim.drill.trend import NOW_WINDOW_S, TREND_WINDOW_S, PressureTrend
from sim.instruments import quantize
from sim.procedures.lookup import treserve
from sim.results.state import StationState

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["TRAINEE_EVENTS", "instructor_view", "layout", "trainee_event", "trainee_view"]

TRAINEE_EVENTS: dict[str, tuple[str, ...]] = {
    "alarm": ("alarm", "where"),
    "alarm_clear": ("alarm",),
    "hatch": ("hatch", "state", "by"),
    "valve": ("hatch", "state", "by"),
    "hatch_jammed": ("hatch", "by"),
    "valve_stuck": ("hatch", "by"),
    "hatch_blocked": ("hatch", "by"),
    "move": ("crew", "to"),
    "task_start": ("crew", "task"),
    "task_end": ("crew", "task"),
    "task_interrupted": ("crew", "task"),
    "sheltered": ("vehicle", "crew"),
    "undock": ("vehicle", "crew"),
    "repair_start": ("crew", "at"),
    "command": ("command",),
    "session_quit": (),
}
"""Event kinds a trainee sees, and the fields of each (the crew saw these happen). ``measure``
is shown as its reading (:func:`sim.drill.feedback.reading_text`); leaks, injects, isolation,
procedures' inner workings and every true value stay with the instructor."""


def layout(run: DrillRun) -> dict[str, list[float]]:
    """Compartment -> [x, y] in [0, 1] for the station diagram (the same every time)."""
    G = nx.Graph(run.sim.G)
    pos = nx.kamada_kawai_layout(G) if len(G) > 2 else nx.circular_layout(G)
    xy = np.array([pos[n] for n in run.sim.names], float)
    lo, span = xy.min(axis=0), np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    xy = 0.05 + 0.9 * (xy - lo) / span
    return {n: [round(float(x), 4), round(float(y), 4)] for n, (x, y) in zip(run.sim.names, xy, strict=True)}


def _hatches(run: DrillRun) -> list[dict[str, Any]]:
    st = run.sim.station
    return [{"id": h, "between": list(x.between), "valve": x.valve is not None} for h, x in st.hatches.items()]


def static_info(run: DrillRun) -> dict[str, Any]:
    """What does not change in a session: names, the diagram's layout, hatches, crew, floor."""
    sim = run.sim
    return {
        "drill": run.drill.drill.name,
        "duration_s": sim.end,
        "compartments": list(sim.names),
        "vehicles": list(sim.station.vehicles),
        "layout": layout(run),
        "hatches": _hatches(run),
        "crew": [{"id": c.id, "roles": list(c.roles), "vehicle": c.vehicle} for c in sim.scenario.crew],
        "reserve_floor_mmHg": sim.station.limits.reserve_floor / MMHG,
    }


def _crew(state: StationState) -> list[dict[str, Any]]:
    return [{"id": cid, "location": m.location, "aboard": m.aboard, "status": m.status, "activity": m.activity,
             "trapped": m.trapped, "blocked_by": list(m.blocked_by)} for cid, m in state.crew.items()]


def instructor_view(run: DrillRun, trend: PressureTrend, source, state: StationState) -> dict[str, Any]:
    """The truth at the current tick (see the module docstring); *state* from the run's events."""
    sim = run.sim
    p = np.asarray(sim.solver.pressure(), float)  # the solver's latest state: read, never synced
    trend.add(float(sim.solver.t), p)
    now, _ = trend.rate(NOW_WINDOW_S)
    minute, _ = trend.rate(TREND_WINDOW_S)
    tres = treserve(p, now, sim.station.limits.reserve_floor)
    faults = sim.faults
    compartments = [{"id": n, "p_mmHg": round(float(p[i]) / MMHG, 2),
                     "dpdt_mmHg_min": round(float(now[i]) * 60 / MMHG, 3),
                     "trend_mmHg_min": round(float(minute[i]) * 60 / MMHG, 3),
                     "treserve": treserve_text(float(tres[i])),
                     "treserve_s": float(tres[i]) if np.isfinite(tres[i]) else None}
                    for i, n in enumerate(sim.names)]
    gone = {h for v, x in state.shelter.items() if x.departed for h in [x.hatch] if h}
    hatches = [{"id": h, "open": x.open, "valve_open": bool(x.valve_open), "jammed": x.jammed,
                "valve_stuck": x.valve_stuck, "gone": h in gone} for h, x in state.hatches.items()]
    leaks = [{"id": lid, "at": x.at, "cda_m2": x.cda_m2, "active": x.active, "isolated": x.isolated,
              "repaired": x.repaired} for lid, x in state.leaks.items()]
    injects = [{"name": i.name, "fault": i.fault, "note": i.note,
                "trigger": "at" if i.at is not None else "when" if i.when is not None else "manual",
                "fired_s": run.fired.get(i.name), "fired_at": clock(run.fired.get(i.name))}
               for i in run.drill.drill.injects]
    procedures = [{"label": label, "name": x.name, "phase": x.phase} for label, x in state.procedures.items()
                  if x.status == "running"]
    station_tres = float(np.min(tres)) if len(tres) else float("inf")
    return {
        "t_s": float(run.env.now), "clock": clock(run.env.now), "paused": source.paused,
        "speed": source.pacer.speed, "alarms": sorted(state.alarms),
        "treserve": treserve_text(station_tres), "compartments": compartments, "hatches": hatches,
        "crew": _crew(state), "leaks": leaks, "injects": injects, "procedures": procedures,
        "faults": {"gauges": {k: {"failed": g.failed, "bias_mmHg": g.bias / MMHG, "scale": g.scale}
                              for k, g in faults.gauges.items()},
                   "unavailable_vehicles": sorted(faults.unavailable_vehicles),
                   "lost_supplies": sorted(faults.lost_supplies)},
    }


def gauge_reading(run: DrillRun, name: str, p_true: float) -> float | None:
    """What compartment *name*'s gauge shows for a true pressure *p_true* [Pa]: the drill's gauge
    fault applied, quantized to the gauge's step; None for a failed gauge. [Pa]"""
    sim = run.sim
    fault = sim.faults.gauge(name)
    value = p_true
    if fault is not None:
        if fault.failed:
            return None
        value = max(0.0, value * fault.scale + fault.bias)
    step = next((g.resolution for g in sim.station.gauges.values() if g.at == name and g.reads == "total"
                 and g.resolution > 0), sim.scenario.gauge.resolution)
    return float(quantize(value, step))


def trainee_view(run: DrillRun, source, state: StationState, reported: set[str], stuck: set[str]) -> dict[str, Any]:
    """What the crew see at the current tick (see the module docstring): *reported* and *stuck*
    are the hatches someone found jammed and the valves someone found stuck."""
    sim = run.sim
    p = np.asarray(sim.solver.pressure(), float)
    gauges = []
    for i, n in enumerate(sim.names):
        reading = gauge_reading(run, n, float(p[i]))
        gauges.append({"id": n, "reading_mmHg": None if reading is None else round(reading / MMHG, 1)})
    gone = {x.hatch for x in state.shelter.values() if x.departed}
    hatches = [{"id": h, "open": x.open, "valve_open": bool(x.valve_open), "reported_jammed": h in reported,
                "reported_valve_stuck": h in stuck} for h, x in state.hatches.items() if h not in gone]
    return {"t_s": float(run.env.now), "clock": clock(run.env.now), "paused": source.paused,
            "alarms": sorted(state.alarms), "gauges": gauges, "hatches": hatches, "crew": _crew(state)}


def trainee_event(e: dict[str, Any]) -> dict[str, Any] | None:
    """The part of event *e* a trainee sees, or None (see :data:`TRAINEE_EVENTS`)."""
    kind = e["kind"]
    if kind == "measure":
        return {"t_s": e["t"], "clock": clock(e["t"]), "kind": kind, "by": e.get("by"), "reading": reading_text(e)}
    fields = TRAINEE_EVENTS.get(kind)
    if fields is None:
        return None
    return {"t_s": e["t"], "clock": clock(e["t"]), "kind": kind, **{k: e[k] for k in fields if k in e}}
