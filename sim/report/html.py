"""A self-contained HTML report of a run directory: plots embedded as base64 PNG, tables, timeline.

The file needs nothing beside it (no scripts, no external styles or images), so it can be mailed or
attached to a flight note. Every piece of text from the run is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path
from typing import Any

from sim.errors import InputError, UsageError
from sim.paths import atomic_write
from sim.report.formats import margin_text, value_text
from sim.report.terminal import event_details
from sim.results.milestones import milestones
from sim.units import format_duration, time_text

__all__ = ["CSS", "embedded_png", "html_table", "render_html", "write_report"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f2f2f2}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#176d2f;font-weight:bold}.fail{color:#b00020;font-weight:bold}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.muted{color:#666;font-size:.9em}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)



_t = time_text  # [s], "inf" or None from a summary


def _kpa(x) -> str:
    return "-" if x is None or isinstance(x, str) else f"{float(x) / 1000:.2f}"


def html_table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    """A table of escaped cells (columns in *numeric* right-aligned)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for j, cell in enumerate(row):
            if isinstance(cell, _Raw):
                cells.append(f"<td>{cell.html}</td>")
            else:
                cells.append(f'<td class="num">{_e(cell)}</td>' if j in numeric else f"<td>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw:
    """Markup built here from escaped parts (never from run text directly)."""

    def __init__(self, markup: str):
        self.html = markup


def embedded_png(path: Path, alt: str) -> str:
    """An ``<img>`` carrying the PNG at *path* inside the page (base64)."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def render_html(record, images: dict[str, Path], at: float | None = None, missing: str | None = None,
                sections: tuple[str, ...] = ()) -> str:
    """The report page for a run record and its PNG plots (``{caption: path}``).

    *missing* says why the station diagram could not be drawn (the run's inputs did not load);
    *sections* are HTML sections placed after the run's table (a drill run's scorecard).
    """
    s = record.summary
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(s.get('scenario'))}"
             f" — Safehaven report</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>{_e(s.get('scenario'))}</h1>")
    overrides = (getattr(record, "manifest", {}) or {}).get("overrides") or []
    checks_ok = s.get("checks_passed")
    info = [
        ["run directory", str(record.path)], ["seed", s.get("seed")], ["program version", s.get("version")],
        ["duration", _t(s.get("duration_s"))], ["status", s.get("status")], ["outcome", s.get("outcome")],
        ["checks", "all passed" if checks_ok else "some FAILED" if checks_ok is False else "-"],
        ["overrides (--set)", "; ".join(overrides) or "none"],
    ]
    if s.get("message"):
        info.append(["message", s["message"]])
    parts.append("<h2>Run</h2>" + html_table(["", ""], info))
    rows = [[m.label, value_text(m.value, m.kind, m.none), m.note] for m in milestones(record)
            if (m.core or m.value is not None) and not m.key.startswith("crew.")]  # crew: their own table
    parts.append("<h2>Milestones</h2><p class=\"muted\">times since the start as HH:MM:SS; durations the "
                 "same way</p>" + html_table(["milestone", "value", "note"], rows, {1}))
    parts.extend(sections)
    if s.get("checks"):
        rows = []
        for c in s["checks"]:
            mark = _Raw('<span class="pass">pass</span>' if c["passed"] else '<span class="fail">FAIL</span>')
            rows.append([c["check"], c["expect"], mark, margin_text(c), c["detail"]])
        parts.append("<h2>Checks</h2><p class=\"muted\">margin: time to spare (HH:MM:SS), or pressure above the "
                     "limit</p>" + html_table(["check", "expects", "result", "margin", "detail"], rows, {3}))
    rows = [[n, _kpa(c.get("p_start_Pa")), _kpa(c.get("p_min_Pa")), _t(c.get("p_min_t_s")), _kpa(c.get("p_end_Pa")),
             _t(c.get("reserve_floor_t_s")) if c.get("reserve_floor_t_s") is not None else "not reached"]
            for n, c in s.get("compartments", {}).items()]
    parts.append("<h2>Compartments</h2>" + html_table(
        ["compartment", "start [kPa]", "minimum [kPa]", "minimum at", "end [kPa]", "reserve floor crossed"],
        rows, {1, 2, 3, 4, 5}))
    if s.get("crew"):
        rows = [[cid, c.get("location"), c.get("worst_status"), _t(c.get("sheltered_s")),
                 _kpa(c.get("min_ppO2_Pa")), _kpa(c.get("min_p_Pa"))] for cid, c in s["crew"].items()]
        parts.append("<h2>Crew</h2>" + html_table(
            ["crew", "ended in", "worst status", "sheltered at", "min ppO2 [kPa]", "min p [kPa]"], rows, {3, 4, 5}))
    if s.get("leaks"):
        rows = [[lid, lk.get("at"), _t(lk.get("started_s")), f"{lk['cda_m2']:.3g}" if isinstance(lk.get("cda_m2"), float)
                 else lk.get("cda_m2"), value_text(lk.get("leaked_kg"), "mass"),
                 _t(lk.get("repaired_s")) if "repaired_s" in lk else "-"] for lid, lk in s["leaks"].items()]
        parts.append("<h2>Leaks</h2>" + html_table(["leak", "at", "started", "CdA at the end [m²]", "leaked", "repaired"],
                                              rows, {2, 3, 4, 5}))
    gas = s.get("gas", {})
    if gas:
        rows = [["leaked overboard", value_text(gas.get("leaked_kg"), "mass")]]
        rows += [[f"{sid} used", value_text(sup.get("used_kg"), "mass")] for sid, sup in gas.get("supplies", {}).items()]
        parts.append("<h2>Gas</h2>" + html_table(["", "mass"], rows, {1}))
    parts.append("<h2>Plots</h2>")
    if missing:
        parts.append(f"<p class=\"fail\">No station diagram: the run's inputs did not load ({_e(missing)})</p>")
    for caption, path in images.items():
        parts.append(f"<figure>{embedded_png(path, caption)}<figcaption class=\"muted\">{_e(caption)}</figcaption></figure>")
    rows = []
    for e in record.events:
        details = event_details(e)
        rows.append([_t(e["t"]), f"{float(e['t']):g}", e["kind"], details])
    parts.append(f"<h2>Event timeline</h2><p class=\"muted\">{len(rows)} events, as in events.jsonl</p>"
                 + html_table(["time", "t [s]", "event", "details"], rows, {0, 1}))
    parts.append("</body></html>\n")
    return "".join(parts)


def _report_time(record) -> float:
    """Default instant for the station drawing: when the station's lowest pressure occurred [s]."""
    s = record.summary
    where = s.get("station", {}).get("p_min_at")
    t = s.get("compartments", {}).get(where, {}).get("p_min_t_s")
    if isinstance(t, int | float):
        return float(t)
    return float(record.series.t[-1]) if len(record.series.t) else 0.0


def station_drawing(state, pressures: dict[str, float]) -> dict[str, Any]:
    """What :func:`sim.report.plots.draw_station` draws, from a :class:`~sim.results.state.StationState`."""
    return {"t": state.t, "compartments": {n: {"p_Pa": p} for n, p in pressures.items()},
            "hatches": {h: "open" if x.open else "closed" for h, x in state.hatches.items()},
            "valves": {h: "open" if x.valve_open else "closed" for h, x in state.hatches.items()
                       if x.valve_open is not None},
            "crew": {c: {"location": m.location} for c, m in state.crew.items() if m.aboard is None},
            "leaks": {lid: {"at": lk.at} for lid, lk in state.leaks.items() if lk.active},
            "jammed": [h for h, x in state.hatches.items() if x.jammed]}


def station_caption(state) -> str:
    """The station diagram's caption: the instant, and who is where (and who is stuck, and why)."""
    where: dict[str, list[str]] = {}
    for cid, m in state.crew.items():
        where.setdefault(f"aboard {m.aboard}" if m.aboard else m.location, []).append(cid)
    text = f"The station at {format_duration(state.t)}: compartments coloured by pressure, hatch states, crew"
    if where:
        text += " (" + "; ".join(f"{place}: {', '.join(ids)}" for place, ids in where.items()) + ")"
    stuck = [f"{cid} trapped in {m.location}" + (f" ({'; '.join(m.blocked_by)})" if m.blocked_by else "")
             for cid, m in state.crew.items() if m.trapped]
    jammed = [h for h, x in state.hatches.items() if x.jammed]
    if stuck:
        text += ". " + "; ".join(stuck)
    if jammed:
        text += f". Jammed: {', '.join(jammed)}"
    return text


def write_report(run_dir: str | Path, html_path: str | Path, png_dir: str | Path | None = None,
                 at: float | None = None, sections: tuple[str, ...] = ()) -> Path:
    """Draw the plots of a run directory and write the self-contained HTML report.

    Parameters
    ----------
    run_dir : path
        A run directory.
    html_path : path
        The HTML file to write.
    png_dir : path, optional
        Keep the PNGs there (created if needed); otherwise they live in a temporary directory.
    at : float, optional
        Instant for the station drawing [s]; default when the station's lowest pressure occurred.
    sections : tuple of str, optional
        Extra HTML sections after the run's table (``safehaven report`` adds a drill's scorecard).

    Returns
    -------
    Path
        *html_path*.
    """
    from sim.report.plots import draw_station, plot_crew_activity, plot_series
    from sim.results.reader import initial_hatch_states, interpolate_series, read_run
    from sim.results.state import state_at

    record = read_run(run_dir)
    missing = None
    try:
        loaded = record.load()
    except (UsageError, InputError) as exc:  # a hand-made directory: plot what the files hold, and say so
        loaded, missing = None, str(exc) or "; ".join(map(str, getattr(exc, "problems", [])))
    with tempfile.TemporaryDirectory(prefix="safehaven-report-") as tmp:
        out_dir = Path(png_dir) if png_dir is not None else Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        images: dict[str, Path] = {}
        limits = {}
        if loaded is not None:
            lim = loaded.station.limits
            limits = {"reserve_floor": lim.reserve_floor, "ppO2_min": lim.ppO2_min, "ppCO2_max": lim.ppCO2_max}
        elif "reserve_floor_Pa" in record.summary.get("station", {}):
            limits = {"reserve_floor": record.summary["station"]["reserve_floor_Pa"]}
        crew_start = hatches = valves = None
        if loaded is not None:
            crew_start = {m.id: m.at for m in loaded.scenario.crew}
            hatches, valves = initial_hatch_states(loaded)
        if len(record.series.t):
            images["The run on one time axis: events (which hatch, leak, alarm), total pressure, the pressure "
                   "change since the start, ppO2, ppCO2, Treserve, where each crew member was and each "
                   "hatch that was closed"] = \
                plot_series(record.series, out_dir / "series.png", record.events, limits, record.summary.get("scenario"),
                            crew_start=crew_start, hatches=hatches, valves=valves)
        if loaded is not None and len(record.series.t):
            t = _report_time(record) if at is None else float(at)
            state = state_at(record.events, t, loaded, record.series)
            drawing = station_drawing(state, interpolate_series(record.series, t).p)
            images[station_caption(state)] = draw_station(loaded.station, out_dir / "station.png", state=drawing)
        gantt = plot_crew_activity(record.events, out_dir / "crew.png")
        if gantt is not None:
            images["Crew activity: who did what when"] = gantt
        text = render_html(record, images, at, missing=missing, sections=sections)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(html_path, text)  # a kill leaves the previous report or the new one, never a part
    return html_path
