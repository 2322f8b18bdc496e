"""The run summary: outcome, margins and checks, as a JSON-ready dict (summary.json).

Sections and what they mean (the definitions live in docs/crew.md, docs/atmosphere.md
"Treserve" and docs/scenario-format.md "Check"):

``outcome``        the first outcome that applies (:meth:`sim.engine.Simulation.outcome`)
``compartments``   per compartment the start, lowest (and when) and end pressure [Pa], and when it
                   crossed the reserve floor [s]
``leaks``          per leak: ``known``, ``started_s``, ``detected_s``/``detected_by`` (``known``,
                   ``alarm``, ``measurement``), ``open_to_station`` (intervals [s] when it could draw
                   on the crew's air), ``open_to_station_s``, ``open_to_station_kg``, ``isolated_s``
                   (when last closed off; null while still open), ``repairs`` (every attempt) and
                   ``repaired_s`` (the attempt that held), ``cda_m2``, ``leaked_kg``
``treserve``       the model's Treserve: ``min_s``/``min_at_s`` for the crew's air, ``per_compartment``
``measurements``   the crew's readings as measured (who, where, gauge resolution, ``confounded``,
                   and the model's ``truth`` at that instant); ``treserve_first_s`` is the first
``shelter``        the most used shelter vehicle's milestones; ``shelters`` every one;
                   ``time_to_shelter_s`` for the crew a step sent to shelter
``hazards``        hazards to the crew, with start and end [s]
``crew``           per member: where they ended, where they were sent and whether they are there,
                   ``trapped`` (why), statuses and worst exposure
``checks``         the scenario's checks, then the default hazard checks (:mod:`sim.results.checks`)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.results.checks import CheckedRun, evaluate_checks
from sim.results.series import Series
from sim.version import __version__

if TYPE_CHECKING:
    import simpy

    from sim.atmosphere.base import AtmosphereSolver
    from sim.crew import CrewMember
    from sim.exposure import Exposure

__all__ = ["FinishedRun", "build_summary"]


class FinishedRun(CheckedRun, Protocol):
    """What the summary reads of a finished run: exactly the state it uses (the engine provides it)."""

    env: simpy.Environment
    seed: int
    spawn_key: Sequence[int]
    names: Sequence[str]
    solver: AtmosphereSolver
    p0: np.ndarray  # pressure of every compartment at the start [Pa]
    p_min_t: np.ndarray  # when each reached its lowest pressure [s]
    floor_crossed: Mapping[str, float]  # compartment -> when it fell below the reserve floor [s]
    exposure: Exposure
    leak_state: Mapping[str, dict[str, Any]]
    leak_detected: Mapping[str, tuple[float, str]]
    treserve_first: tuple[float, float] | None  # (when [s], the crew's first Treserve [s])
    measurements: Sequence[dict[str, Any]]
    procedure_runs: Sequence[Any]
    extensions: Sequence[Any]

    def outcome(self) -> str:
        """The run's outcome."""

    def in_place(self, member: CrewMember) -> bool:
        """Whether *member* is where the last move sent them."""

    def still_trapped(self, member: CrewMember) -> bool:
        """Whether *member* is trapped now."""


def _r(x: float, digits: int = 6) -> float | str:
    """Round for the summary; inf and nan as strings so the JSON stays standard."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.{digits}g}")


def build_summary(sim: FinishedRun, series: Series, status: str, message: str) -> dict[str, Any]:
    """Assemble summary.json from a finished run (the engine's :class:`~sim.engine.Simulation`)."""
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
    exposure = sim.exposure
    for leak in sc.leaks:
        state = sim.leak_state.get(leak.id, {})
        detected = sim.leak_detected.get(leak.id)
        intervals = exposure.intervals.get(leak.id, [])
        repairs = _repairs(sim.log.events, leak.id)
        accepted = next((r for r in repairs if r["accepted"]), None)
        if "started" not in state or leak.id in exposure.open_at_end:
            isolated = None
        else:
            isolated = intervals[-1][1] if intervals else state["started"]
        summary["leaks"][leak.id] = {
            "at": leak.at,
            "known": leak.known,
            "started_s": _r(state["started"]) if "started" in state else None,
            "detected_s": _r(detected[0]) if detected else None,
            "detected_by": detected[1] if detected else None,
            "open_to_station": [[_r(t0), _r(t1)] for t0, t1 in intervals],
            "open_to_station_s": _r(sum(t1 - t0 for t0, t1 in intervals)),
            "open_to_station_kg": _r(exposure.lost_open.get(leak.id, 0.0)),
            "isolated_s": _r(isolated) if isolated is not None else None,
            "repaired_s": _r(accepted["t_s"]) if accepted else None,
            "repairs": repairs,
            "cda_m2": _r(state.get("cda_m2", 0.0)),
            "leaked_kg": leaked.get(leak.id, 0.0),
        }
    if sim.treserve_first is not None:
        summary["treserve_first_s"] = _r(sim.treserve_first[1])
        summary["treserve_first_at_s"] = _r(sim.treserve_first[0])
    else:
        summary["treserve_first_s"] = None
    summary["treserve"] = _treserve(series, sim.station.limits.reserve_floor)
    summary["measurements"] = [_measurement(m) for m in sim.measurements]
    shelters = [_shelter(vid, rec, sim.env.now) for vid, rec in exposure.shelters.items()]
    summary["shelter"] = max(shelters, key=lambda x: (len(x["crew"]), -x["entered_s"])) if shelters else None
    summary["shelters"] = shelters
    summary["time_to_shelter_s"] = _time_to_shelter(sim)
    summary["hazards"] = [_hazard(h) for h in exposure.hazards]
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
            "sent_to_shelter": m.sent_to_shelter,
            "destination": m.destination,
            "in_place": sim.in_place(m),
            "trapped": _trapped(m.trapped) if sim.still_trapped(m) else None,
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
    summary["checks"] = evaluate_checks(sim, summary)
    summary["checks_passed"] = all(c["passed"] for c in summary["checks"])
    return summary


def _repairs(events: list[dict], leak_id: str) -> list[dict[str, Any]]:
    """Every repair attempt on a leak, from the events, with the one that held marked accepted.

    An attempt is accepted when it succeeded and the leak stayed repaired: no later attempt on
    the same leak (the procedure's measurement rejected it) and no later enlargement of the leak.
    """
    attempts: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    grown_at: float | None = None
    cda = 0.0
    for e in events:
        if e.get("leak") != leak_id:
            continue
        if e["kind"] == "leak_start":
            cda = e["cda_m2"]
        elif e["kind"] == "repair_start":
            pending.append({"started_s": e["t"], "by": list(e.get("crew", [])), "at": e.get("at")})
        elif e["kind"] == "repair_done" and pending:
            start = pending.pop(0)
            attempts.append({"t_s": e["t"], "by": start["by"], "started_s": start["started_s"], "at": start["at"],
                             "success": bool(e.get("success")), "effect": e.get("effect"), "accepted": False})
        elif e["kind"] == "leak_change":
            if e["cda_m2"] > cda:
                grown_at = e["t"]
            cda = e["cda_m2"]
    if attempts:
        last = attempts[-1]
        if last["success"] and (grown_at is None or grown_at < last["t_s"]):
            last["accepted"] = True
    for a in attempts:
        a["t_s"], a["started_s"] = _r(a["t_s"]), _r(a["started_s"])
    return attempts


def _treserve(series: Series, floor: float) -> dict[str, Any]:
    """Model-truth Treserve: the lowest value and when, for the station and every compartment."""

    def low(values: np.ndarray) -> dict[str, Any]:
        ok = ~np.isnan(values)
        if not ok.any():
            return {"min_s": None, "min_at_s": None}
        k = int(np.argmin(np.where(ok, values, np.inf)))
        return {"min_s": _r(values[k]), "min_at_s": _r(series.t[k]) if np.isfinite(values[k]) else None}

    out: dict[str, Any] = {"definition": "model truth: (p - floor) / -dP/dt, dP/dt from the leaks alone",
                           "floor_Pa": _r(floor)}
    if series.station_treserve is None or not len(series.t):
        return out | {"min_s": None, "min_at_s": None, "per_compartment": {}}
    out |= low(series.station_treserve)
    out["per_compartment"] = {name: low(series.treserve[:, i]) for i, name in enumerate(series.names)}
    return out


def _measurement(m: dict[str, Any]) -> dict[str, Any]:
    out = dict(m)
    for key in ("t_s", "window_s", "value", "dpdt_Pa_s", "treserve_s", "resolution", "resolution_dpdt_Pa_s"):
        out[key] = _r(out[key]) if out[key] is not None else None
    if out["confounded"] is not None:
        c = dict(out["confounded"])
        c["breathing_dpdt_Pa_s"], c["share"] = _r(c["breathing_dpdt_Pa_s"]), _r(c["share"], 3)
        out["confounded"] = c
    out["truth"] = {k: _r(v) for k, v in out["truth"].items()}
    return out


def _shelter(vehicle: str, rec: dict[str, Any], end: float) -> dict[str, Any]:
    sealed, opened = rec["sealed_s"], rec["opened_s"]
    return {
        "compartment": vehicle,
        "hatch": rec["hatch"],
        "entered_s": _r(rec["entered_s"]),
        "all_in_s": _r(rec["all_in_s"]),
        "sealed_s": _r(sealed) if sealed is not None else None,
        "opened_s": _r(opened) if opened is not None else None,
        "duration_s": _r((opened if opened is not None else end) - sealed) if sealed is not None else None,
        "sealed_at_end": sealed is not None and opened is None,
        "crew": list(rec["crew"]),
    }


def _time_to_shelter(sim: FinishedRun) -> float | str | None:
    """When the last crew member whom a step sent to a shelter vehicle got into one [s].

    None when no step sent anyone to a shelter; ``"inf"`` when someone sent never got there.
    """
    sent = [m for m in sim.crew.values() if m.sent_to_shelter is not None]
    if not sent:
        return None
    if any(m.sheltered_at is None for m in sent):
        return "inf"
    return _r(max(m.sheltered_at for m in sent))


def _hazard(h: dict[str, Any]) -> dict[str, Any]:
    return {"hazard": h["hazard"], "crew": list(h["crew"]), "at": list(h["at"]), "cause": h["cause"],
            "t_s": _r(h["t_s"]), "end_s": _r(h["end_s"]) if h["end_s"] is not None else None}


def _trapped(t: dict[str, Any]) -> dict[str, Any]:
    blocks = [{k: (_r(v) if isinstance(v, float) else v) for k, v in b.items()} for b in t["blocked_by"]]
    return {"t_s": _r(t["t_s"]), "at": t["at"], "to": t["to"], "blocked_by": blocks}
