"""A run's milestones as a flight planner reads them, from its summary, events and series.

The shelter (entered, all in, sealed, opened, how long), time to shelter, each leak's repair
attempts, how long it was open to the station and the gas lost meanwhile, the shelter's worst
ppO2 and ppCO2 while occupied, the model's true minimum Treserve beside the crew's measurement,
the lowest pressure, gas used, every crew member's worst status, hazards, outcome and checks.

Values come from the summary's own fields when it has them (``shelter``, ``leaks.*.repairs``,
``leaks.*.open_to_station``, ``treserve``, ``hazards``); for a run directory written before those
fields existed, the shelter and the repair attempts are derived from the events (and the
milestone says so in its ``note``), and what cannot be derived is None.

Each :class:`Milestone` carries its kind (see :mod:`sim.report.formats`), so every value is
written with its unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.units import time_text

__all__ = ["Milestone", "milestones", "shelter_of"]


@dataclass(frozen=True)
class Milestone:
    """One thing a planner reads off a run.

    Attributes
    ----------
    key : str
        A stable identifier (``shelter.sealed_s``, ``leaks.prk-crack.repairs``).
    label : str
        What it is, for a table row.
    kind : str
        ``time``, ``duration``, ``pressure``, ``pp``, ``mass``, ``count`` or ``text``.
    value : float, str or None
        SI value ([s], [Pa], [kg]) or text; None when it did not happen or is not known.
    none : str
        How None reads (``never``, ``not opened before the end``, ``-``).
    note : str
        Where it came from when that matters (``derived from events``).
    core : bool
        One of the planner's milestones, shown side by side even when the runs agree.
    """

    key: str
    label: str
    kind: str
    value: Any
    none: str = "-"
    note: str = ""
    core: bool = False


def _events(run) -> list[dict]:
    ev = run.events
    return list(getattr(ev, "events", ev))


def shelter_of(summary: dict, events: list[dict]) -> dict[str, Any] | None:
    """The run's shelter: the summary's ``shelter`` entry, or one derived from the events.

    Derived: the vehicle of the first ``sheltered`` event (or, when there is none, the vehicle most
    crew reached), entered at its first ``in_shelter``, all in at the last ``in_shelter`` of the
    crew it names, sealed at the first ``sheltered`` event whose hatch is closed (a jammed hatch
    leaves the shelter unsealed), opened at the first ``hatch`` ``open`` of the hatch closed at
    that instant. Returns None when nobody went into a shelter.
    """
    if "shelter" in summary:
        return summary["shelter"]
    ins = [e for e in events if e.get("kind") == "in_shelter"]
    # 'sheltered' says the crew are in; they are sealed in only when it says the hatch is closed
    sheltered = next((e for e in events if e.get("kind") == "sheltered"), None)
    sealed = next((e for e in events if e.get("kind") == "sheltered" and e.get("hatch", "closed") == "closed"),
                  None)
    if not ins and sheltered is None:
        return None
    if sheltered is not None:
        vehicle = sheltered.get("vehicle")
    else:
        counts: dict[str, int] = {}
        for e in ins:
            counts[e.get("vehicle")] = counts.get(e.get("vehicle"), 0) + 1
        vehicle = max(counts, key=lambda v: counts[v])
    mine = [e for e in ins if e.get("vehicle") == vehicle]
    crew = (list(sheltered.get("crew", [])) if sheltered is not None
            else list(dict.fromkeys(e["crew"] for e in mine)))
    entered = mine[0]["t"] if mine else None
    all_in = max((e["t"] for e in mine if e.get("crew") in crew), default=None)
    hatch = opened = None
    if sealed is not None:
        hatch = next((e.get("hatch") for e in events if e.get("kind") == "hatch" and e.get("state") == "closed"
                      and e["t"] == sealed["t"]), None)
        opened = next((e["t"] for e in events if e.get("kind") == "hatch" and e.get("hatch") == hatch
                       and e.get("state") == "open" and e["t"] >= sealed["t"]), None)
    end = summary.get("duration_s")
    sealed_t = sealed["t"] if sealed is not None else None
    duration = None
    if sealed_t is not None:
        duration = (opened if opened is not None else (end if end is not None else sealed_t)) - sealed_t
    return {"compartment": vehicle, "hatch": hatch, "entered_s": entered, "all_in_s": all_in,
            "sealed_s": sealed_t, "opened_s": opened, "duration_s": duration,
            "sealed_at_end": sealed_t is not None and opened is None, "crew": crew, "derived": True}


def _repairs(summary_leak: dict, events: list[dict], leak_id: str) -> tuple[list[dict], bool]:
    """Repair attempts of a leak: the summary's, or paired ``repair_start``/``repair_done`` events."""
    if "repairs" in summary_leak:
        return list(summary_leak["repairs"]), False
    attempts, pending = [], []
    for e in events:
        if e.get("leak") != leak_id:
            continue
        if e["kind"] == "repair_start":
            pending.append(e)
        elif e["kind"] == "repair_done" and pending:
            start = pending.pop(0)
            attempts.append({"started_s": start["t"], "t_s": e["t"], "by": list(start.get("crew", [])),
                             "success": bool(e.get("success")), "accepted": None})
    return attempts, True


def _attempts_text(attempts: list[dict]) -> str | None:
    if not attempts:
        return None
    words = []
    for a in attempts:
        if not a.get("success"):
            verdict = "failed"
        else:
            verdict = {True: "held", False: "rejected", None: "succeeded"}[a.get("accepted")]
        words.append(f"{time_text(a.get('t_s'))} {verdict}")
    return "; ".join(words)


def _shelter_air(run, shelter: dict | None, end: float | None) -> tuple[float | None, float | None]:
    """Lowest ppO2 and highest ppCO2 [Pa] in the shelter from first entry to opening (or the end)."""
    series = getattr(run, "series", None)
    if shelter is None or series is None or shelter.get("entered_s") is None or not len(series.t):
        return None, None
    name = shelter.get("compartment")
    if name not in series.names:
        return None, None
    t0 = float(shelter["entered_s"])
    t1 = shelter.get("opened_s")
    t1 = float(t1) if t1 is not None else (float(end) if end is not None else float(series.t[-1]))
    i = series.names.index(name)
    inside = (series.t >= t0) & (series.t <= t1)
    o2, co2 = series.pp[:, i, 1], series.pp[:, i, 2]
    # the samples within the interval and the values at its ends (interpolated)
    o2_all = np.concatenate([o2[inside], np.interp([t0, t1], series.t, o2)])
    co2_all = np.concatenate([co2[inside], np.interp([t0, t1], series.t, co2)])
    return float(np.min(o2_all)), float(np.max(co2_all))


def milestones(run) -> list[Milestone]:
    """The milestones of one run (a :class:`~sim.results.reader.RunRecord` or a ``RunResult``).

    Returns
    -------
    list of Milestone
        In reading order: outcome, shelter, leaks, Treserve, pressure, gas, crew, hazards, checks.
    """
    s = run.summary
    events = _events(run)
    out: list[Milestone] = [
        Milestone("outcome", "outcome", "text", s.get("outcome"), core=True),
        Milestone("status", "run status", "text", s.get("status")),
    ]
    checks = s.get("checks") or []
    failed = [c["check"] for c in checks if not c.get("passed")]
    out.append(Milestone("checks", "checks", "text",
                         ("all pass" if not failed else f"{len(failed)} failed: {', '.join(failed)}") if checks else None,
                         none="none", core=True))

    shelter = shelter_of(s, events)
    derived = ("shelter derived from the events (the summary predates its 'shelter' entry)"
               if shelter and shelter.get("derived") else "")
    tts = s.get("time_to_shelter_s") if "time_to_shelter_s" in s else None
    if "time_to_shelter_s" not in s and shelter is not None:
        tts = shelter.get("all_in_s")
    out.append(Milestone("time_to_shelter_s", "time to shelter (the last crew member sent there in)", "time", tts,
                         none="nobody sent to a shelter", note=derived, core=True))
    sh = shelter or {}
    out += [
        Milestone("shelter.compartment", "shelter", "text", sh.get("compartment"), none="none", core=True),
        Milestone("shelter.entered_s", "shelter entered (first crew member)", "time", sh.get("entered_s"),
                  none="never", note=derived, core=True),
        Milestone("shelter.all_in_s", "shelter: all its crew in", "time", sh.get("all_in_s"), none="never",
                  note=derived),
        Milestone("shelter.sealed_s", "shelter sealed (hatch closed)", "time", sh.get("sealed_s"),
                  none="never sealed", note=derived, core=True),
        Milestone("shelter.opened_s", "shelter opened", "time", sh.get("opened_s"),
                  none="not opened before the end" if sh.get("sealed_s") is not None else "-", note=derived),
        Milestone("shelter.duration_s", "shelter duration (sealed to opened)", "duration", sh.get("duration_s"),
                  note="still sealed at the end" if sh.get("sealed_at_end") else derived, core=True),
        Milestone("shelter.crew", "crew in the shelter", "text",
                  ", ".join(sh.get("crew") or []) or None, none="none"),
    ]
    o2, co2 = _shelter_air(run, shelter, s.get("duration_s"))
    out += [
        Milestone("shelter.min_ppO2_Pa", "shelter: lowest ppO2 while occupied", "pp", o2, core=True),
        Milestone("shelter.max_ppCO2_Pa", "shelter: highest ppCO2 while occupied", "pp", co2, core=True),
    ]

    for lid, lk in (s.get("leaks") or {}).items():
        attempts, from_events = _repairs(lk, events, lid)
        note = f"{lid}: repairs derived from the events (the summary predates its 'repairs' field)" if from_events else ""
        out += [
            Milestone(f"leaks.{lid}.repairs", f"{lid}: repair attempts", "count", len(attempts), note=note, core=True),
            Milestone(f"leaks.{lid}.repair_results", f"{lid}: repairs done at", "text", _attempts_text(attempts),
                      none="none", note=note),
            Milestone(f"leaks.{lid}.repaired_s", f"{lid}: repaired (the repair that held)", "time",
                      lk.get("repaired_s"), none="never"),
            Milestone(f"leaks.{lid}.open_to_station_s", f"{lid}: open to the station, total", "duration",
                      lk.get("open_to_station_s"), none="not in this run's summary"
                      if "open_to_station_s" not in lk else "-", core=True),
            Milestone(f"leaks.{lid}.open_to_station", f"{lid}: open to the station, when", "text",
                      _intervals_text(lk.get("open_to_station")),
                      none="never" if "open_to_station" in lk else "not in this run's summary"),
            Milestone(f"leaks.{lid}.open_to_station_kg", f"{lid}: gas lost while open to the station", "mass",
                      lk.get("open_to_station_kg"), none="not in this run's summary"
                      if "open_to_station_kg" not in lk else "-", core=True),
            Milestone(f"leaks.{lid}.leaked_kg", f"{lid}: gas lost in all", "mass", lk.get("leaked_kg")),
        ]

    tr = s.get("treserve") or {}
    out += [
        Milestone("treserve.min_s", "Treserve, true minimum (model)", "duration", tr.get("min_s"),
                  none="not in this run's summary" if "treserve" not in s else "no loss", core=True),
        Milestone("treserve.min_at_s", "Treserve, true minimum at", "time", tr.get("min_at_s")),
        Milestone("treserve_first_s", "Treserve measured by the crew (first)", "duration", s.get("treserve_first_s"),
                  none="not measured", note=_confounded_note(s)),
        Milestone("treserve_first_at_s", "Treserve measured at", "time", s.get("treserve_first_at_s")),
        Milestone("treserve_first_truth_s", "Treserve in the model at that measurement", "duration",
                  _first_measurement(s).get("truth", {}).get("treserve_s"),
                  none="not measured" if s.get("treserve_first_s") is None else "not in this run's summary"),
    ]
    st = s.get("station") or {}
    out += [
        Milestone("station.p_min_Pa", "lowest pressure anywhere", "pressure", st.get("p_min_Pa")),
        Milestone("station.p_min_at", "lowest pressure in", "text", st.get("p_min_at")),
    ]
    gas = s.get("gas") or {}
    out.append(Milestone("gas.leaked_kg", "gas leaked overboard", "mass", gas.get("leaked_kg")))
    for sid, sup in (gas.get("supplies") or {}).items():
        out.append(Milestone(f"gas.supplies.{sid}.used_kg", f"{sid}: gas used", "mass", sup.get("used_kg")))
    for cid, m in (s.get("crew") or {}).items():
        out += [
            Milestone(f"crew.{cid}.worst_status", f"{cid}: worst status", "text", m.get("worst_status")),
            Milestone(f"crew.{cid}.location", f"{cid}: ended in", "text", m.get("location")),
            Milestone(f"crew.{cid}.min_ppO2_Pa", f"{cid}: lowest ppO2 breathed", "pp", m.get("min_ppO2_Pa")),
        ]
    hazards = s.get("hazards")
    out.append(Milestone("hazards", "hazards", "text",
                         "; ".join(_hazard_text(h) for h in hazards) if hazards else None,
                         none="none" if hazards is not None else "not in this run's summary"))
    return out


def _intervals_text(intervals) -> str | None:
    if not intervals:
        return None
    return ", ".join(f"{time_text(a)}–{time_text(b)}" for a, b in intervals)


def _first_measurement(s: dict) -> dict:
    """The summary's first measurement that gave a Treserve (``{}`` when none or not recorded)."""
    return next((m for m in s.get("measurements") or [] if m.get("treserve_s") is not None), {})


def _confounded_note(s: dict) -> str:
    first = _first_measurement(s)
    if first.get("confounded"):
        c = first["confounded"]
        who = first.get("by") or "the measurer"
        share = c.get("share")
        part = f" ({share:.0%} of the measured dP/dt)" if isinstance(share, int | float) else ""
        return f"confounded: {who} breathed inside the measured volume{part}"
    return ""


def _hazard_text(h: dict) -> str:
    who = ", ".join(h.get("crew") or [])
    where = ", ".join(h.get("at") or [])
    return f"{h.get('hazard')} at {time_text(h.get('t_s'))}" + (f": {who}" if who else "") + (
        f" in {where}" if where else "")
