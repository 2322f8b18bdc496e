"""Rich terminal rendering of run summaries, timelines and station graphs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from sim.report.formats import margin_text
from sim.results.state import block_text
from sim.units import time_text

__all__ = ["event_details", "render_graph", "render_run"]

_KEY_EVENTS = {
    "leak_start", "leak_change", "hatch", "valve", "alarm", "alarm_clear", "reserve_floor", "procedure_start",
    "procedure_end", "phase_start", "sheltered", "measure", "repair_done", "status", "undock", "trapped",
    "repress_start", "repress_end", "deadline", "run_failed", "inject",
}


def _kpa(x) -> str:
    return "-" if x is None else f"{float(x) / 1000:.2f}"


_t = time_text  # [s], "inf" or None from a summary


def render_run(console: Console, result, out: Path | None = None, max_events: int = 40) -> None:
    """Print a run's key events, per-compartment pressures and checks."""
    s = result.summary
    console.print(f"[bold]{s['scenario']}[/bold]  seed {s['seed']}  duration {_t(s['duration_s'])}  "
                  f"status [bold]{s['status']}[/bold]  outcome [bold]{s['outcome']}[/bold]")
    if s["message"]:
        console.print(f"[red]{s['message']}[/red]")
    events = [e for e in result.events.events if e["kind"] in _KEY_EVENTS]
    if events:
        table = Table(title="Timeline (key events)", show_lines=False, title_justify="left")
        table.add_column("time", justify="right")
        table.add_column("event")
        table.add_column("details")
        shown = events if len(events) <= max_events else events[: max_events - 5] + events[-5:]
        for e in shown:
            table.add_row(_t(e["t"]), e["kind"], event_details(e))
        if len(events) > max_events:
            table.caption = f"{len(events) - max_events} more in events.jsonl"
        console.print(table)
    table = Table(title="Compartments", title_justify="left")
    for col, just in (("compartment", "left"), ("start kPa", "right"), ("min kPa", "right"),
                      ("at", "right"), ("end kPa", "right"), ("reserve floor", "right")):
        table.add_column(col, justify=just)
    for name, c in s["compartments"].items():
        table.add_row(name, _kpa(c["p_start_Pa"]), _kpa(c["p_min_Pa"]), _t(c["p_min_t_s"]),
                      _kpa(c["p_end_Pa"]), _t(c["reserve_floor_t_s"]) if c["reserve_floor_t_s"] is not None else "not reached")
    console.print(table)
    if s.get("crew"):
        table = Table(title="Crew", title_justify="left")
        for col in ("crew", "ended in", "status", "sheltered at", "min ppO2 kPa", "min p kPa"):
            table.add_column(col)
        for cid, c in s["crew"].items():
            table.add_row(cid, c["location"], c["worst_status"], _t(c["sheltered_s"]),
                          _kpa(c["min_ppO2_Pa"]), _kpa(c["min_p_Pa"]))
        console.print(table)
    if s["checks"]:
        table = Table(title="Checks", title_justify="left")
        table.add_column("check")
        table.add_column("result")
        table.add_column("margin", justify="right")  # time to spare, or pressure above the limit
        table.add_column("detail")
        for c in s["checks"]:
            mark = "[green]pass[/green]" if c["passed"] else "[red]FAIL[/red]"
            table.add_row(c["check"], mark, margin_text(c), c["detail"])
        console.print(table)
    if out is not None:
        console.print(f"run directory: {out}")


def event_details(e: dict) -> str:
    """An event's fields as ``key=value, …``; the hatches in a trapped member's way in words."""
    parts = []
    for k, v in e.items():
        if k in ("t", "kind"):
            continue
        if k == "blocked_by" and isinstance(v, list):
            v = "; ".join(block_text(b) for b in v if isinstance(b, dict))
        parts.append(f"{k}={v}")
    return ", ".join(parts)


def render_graph(console: Console, station, initial=None) -> None:
    """Print the station as a tree: segments, compartments, their hatches and vehicles."""
    hatch_state = {h: x.open for h, x in station.hatches.items()}
    valve_state = {h: x.valve_open for h, x in station.hatches.items()}
    if initial is not None:
        hatch_state |= {h: s == "open" for h, s in initial.hatches.items()}
        valve_state |= {h: s == "open" for h, s in initial.valves.items()}
    places = station.compartments | station.vehicles
    tree = Tree(f"[bold]{station.name}[/bold]  {len(station.compartments)} compartments, "
                f"{len(station.vehicles)} vehicles, {len(station.hatches)} hatches, "
                f"{sum(c.volume for c in places.values()):.1f} m³")
    segments: dict[str, Tree] = {}
    for cid, comp in places.items():
        seg = comp.segment or "-"
        if seg not in segments:
            segments[seg] = tree.add(f"[bold]segment {seg}[/bold]")
        label = f"{cid}  {comp.volume:g} m³"
        if cid in station.vehicles:
            v = station.vehicles[cid]
            label += f"  [cyan]vehicle[/cyan], docked to {v.docked_to}, {v.seats} seats" + (", shelter" if v.shelter else "")
        node = segments[seg].add(label)
        for hid, hatch in station.hatches.items():
            if cid == hatch.between[0]:
                state = "[green]open[/green]" if hatch_state[hid] else "[red]closed[/red]"
                valve = ""
                if hatch.valve:
                    valve = f", valve {hatch.valve * 1e4:g} cm² " + ("open" if valve_state[hid] else "closed")
                node.add(f"hatch {hid} -> {hatch.between[1]}: {state}, {hatch.area:g} m²{valve}")
    console.print(tree)
