"""The station at one instant on the terminal: pressures from the series, the rest from the events.

Used by ``safehaven replay DIR --at T`` and ``safehaven drill --replay DIR --at T``; the state comes
from :func:`sim.results.state.state_at`, so it is the same state ``report --at`` draws.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from sim.errors import UsageError
from sim.results.reader import interpolate_series
from sim.results.state import IDLE, CrewState, StationState, state_at
from sim.units import format_duration

__all__ = ["crew_doing", "render_state", "run_state_at", "state_json"]


def run_state_at(record, t: float):
    """The state of a run directory at *t* [s] and its series there: ``(StationState, SeriesState)``.

    Raises
    ------
    UsageError
        If *t* is outside the run, or the run's inputs do not load.
    """
    duration = record.summary.get("duration_s")
    if t < 0 or (isinstance(duration, int | float) and t > duration + 1e-9):
        raise UsageError(f"--at {t:g} s is outside the run (0 to {duration:g} s)")
    loaded = record.load()
    return state_at(record.events, t, loaded, record.series), interpolate_series(record.series, t)


def crew_doing(state: StationState, cid: str) -> str:
    """What a crew member is doing at the instant, in words (with why, when they are stuck)."""
    m: CrewState = state.crew[cid]
    text = m.describe()
    if m.aboard is not None:
        return text
    shelter = state.shelter.get(m.location)
    if shelter is not None and m.activity == IDLE:
        text = f"sheltering in {m.location} ({'hatch closed' if shelter.sealed else 'hatch open'})"
    return text


def state_json(state: StationState, series_state) -> dict[str, Any]:
    """The state as JSON-ready data, with the series' pressures at the instant [Pa]."""
    out = state.to_json()
    out["doing"] = {cid: crew_doing(state, cid) for cid in state.crew}
    if series_state is not None:
        out["series"] = {"t": series_state.t, "interpolated": series_state.interpolated,
                         "bracket": list(series_state.bracket), "p_Pa": series_state.p, "pp_Pa": series_state.pp}
    return out


def render_state(console, state: StationState, series_state) -> None:
    """Print the station at one instant: compartments, hatches, leaks, alarms, procedures, crew."""
    console.print(f"\n[bold]State at {format_duration(state.t)}[/bold] ({state.t:g} s), "
                  f"after {state.n_events} events", markup=True)
    if series_state is not None:
        how = ("at a sample time" if not series_state.interpolated else
               f"interpolated linearly between samples at {series_state.bracket[0]:g} s and "
               f"{series_state.bracket[1]:g} s")
        t = Table(title=f"Compartments [kPa], from series.csv {how}", title_justify="left")
        for col in ("compartment", "p", "N2", "O2", "CO2"):
            t.add_column(col, justify="left" if col == "compartment" else "right")
        for name, p in series_state.p.items():
            pp = series_state.pp[name]
            t.add_row(name, f"{p / 1000:.3f}", f"{pp['N2'] / 1000:.2f}", f"{pp['O2'] / 1000:.2f}",
                      f"{pp['CO2'] / 1000:.3f}")
        console.print(t)
    closed = [h + (" (jammed)" if x.jammed else "") for h, x in state.hatches.items() if not x.open]
    jammed_open = [h for h, x in state.hatches.items() if x.open and x.jammed]
    valves = [h + (" (stuck)" if x.valve_stuck else "") for h, x in state.hatches.items() if x.valve_open]
    stuck_shut = [h for h, x in state.hatches.items() if x.valve_stuck and not x.valve_open]
    console.print(f"Hatches closed: {', '.join(closed) or 'none'} (all others open)", markup=False)
    if jammed_open:
        console.print(f"Hatches jammed open: {', '.join(jammed_open)}", markup=False)
    console.print(f"Equalization valves open: {', '.join(valves) or 'none'}", markup=False)
    if stuck_shut:
        console.print(f"Valves stuck closed: {', '.join(stuck_shut)}", markup=False)
    leaks = []
    for lid, lk in state.leaks.items():
        if not lk.active:
            leaks.append(f"{lid} at {lk.at}: sealed")
            continue
        where = "isolated from the crew's air" if lk.isolated else "open to the station (the crew's air)"
        fixed = ", repaired (reduced)" if lk.repaired else ""
        leaks.append(f"{lid} at {lk.at}: CdA {lk.cda_m2 * 1e4:.3g} cm², {where}{fixed}")
    console.print(f"Leaks: {'; '.join(leaks) or 'none'}", markup=False)
    alarms = [f"{name} since {format_duration(a.since)} ({', '.join(a.where)})" + (f" [{a.cause}]" if a.cause else "")
              for name, a in state.alarms.items()]
    console.print(f"Alarms sounding: {'; '.join(alarms) or 'none'}", markup=False)
    procs = [f"{label}: {p.status}" + (f", phase {p.phase}" if p.phase else "") for label, p in state.procedures.items()]
    console.print(f"Procedures: {'; '.join(procs) or 'none started'}", markup=False)
    for v, s in state.shelter.items():
        if s.crew or s.departed:
            gone = ", departed" if s.departed else ""
            jammed = " (jammed)" if s.hatch is not None and state.hatches[s.hatch].jammed else ""
            console.print(f"Shelter {v}: {', '.join(s.crew) or 'nobody'} inside, hatch {s.hatch} "
                          f"{'closed' if s.sealed else 'open'}{jammed}{gone}", markup=False)
    if not state.crew:
        console.print("Crew: none in this scenario")
        return
    t = Table(title="Crew", title_justify="left")
    for col in ("crew", "location", "status", "doing"):
        t.add_column(col)
    for cid, m in state.crew.items():
        where = f"aboard {m.aboard}" if m.aboard else m.location
        style = "red" if m.trapped or m.status != "able" else None
        t.add_row(cid, where, m.status, crew_doing(state, cid), style=style)
    console.print(t)
