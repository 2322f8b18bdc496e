"""Plots of runs with matplotlib: the story of a run, runs overlaid, the station graph, crew activity.

Every function draws into a new figure with the Agg backend (chosen inside the function, so
importing this module changes nothing) and writes a PNG. Time axes read HH:MM since the start
(the tables' HH:MM:SS), pressures kPa or Pa; every axis carries its unit. Colours come from
:mod:`sim.report.palette` (one colour per meaning in every report), and every name from a user's
file is drawn literally (:func:`sim.text.literal_figure`: a ``$`` is not mathtext). What the lanes
and markers draw is computed by :func:`crew_locations`, :func:`hatch_intervals` and :func:`event_marks` from the
events alone, so tests can hold it against the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.report.palette import (
    COMPARTMENT_COLOURS,
    CREW_COLOURS,
    MEANING,
    MUTED_COLOURS,
    RUN_STYLES,
    activity_colour,
    colours_for,
)
from sim.text import literal_figure

__all__ = ["crew_intervals", "crew_locations", "draw_station", "event_marks", "hatch_intervals", "hhmm_axis",
           "plot_crew_activity", "plot_overlay", "plot_series", "station_layout"]

_MAX_LINES = 8
"""Compartments drawn as their own lines; the rest appear as one grey envelope."""

_TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 172800, 604800)
"""Candidate spacings of the time ticks [s]: the smallest giving at most 10 ticks is used."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _hhmm(seconds: float) -> str:
    total = round(seconds / 60.0)
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 60:02d}:{total % 60:02d}"


def hhmm_axis(ax, t_end: float, label: bool = True) -> None:
    """Label *ax*'s x axis (data in [s] since the run start) as HH:MM, ticks at round intervals."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    span = max(float(t_end), 60.0)
    step = next((s for s in _TICK_STEPS if span / s <= 10), _TICK_STEPS[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _hhmm(x)))
    if label:
        ax.set_xlabel("time since the start [HH:MM]")


def _groups(series) -> list[list[int]]:
    """Compartments whose three series agree within 0.05 % (they share a zone), grouped."""
    groups: list[list[int]] = []
    for i in range(len(series.names)):
        for g in groups:
            j = g[0]
            if (np.allclose(series.p[:, i], series.p[:, j], rtol=5e-4, atol=1.0)
                    and np.allclose(series.pp[:, i, 1:], series.pp[:, j, 1:], rtol=5e-4, atol=1.0)):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _group_label(series, group: list[int], limit: int = 3) -> str:
    names = [series.names[i] for i in group]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} (+{len(names) - limit} more)"


def _swing(series, i: int) -> float:
    """How much compartment *i* moved, relative to the station's own scales (dimensionless)."""
    return float(np.ptp(series.p[:, i]) / 100.0 + np.ptp(series.pp[:, i, 1]) / 100.0 + np.ptp(series.pp[:, i, 2]) / 10.0)


def _pick(series, limit: int = _MAX_LINES) -> tuple[list[list[int]], list[int]]:
    """Groups of compartments drawn as lines (those that changed most) and the rest."""
    groups = _groups(series)
    if len(groups) <= limit or not len(series.t):
        return groups, []
    swing = [_swing(series, g[0]) for g in groups]
    order = sorted(range(len(groups)), key=lambda k: -swing[k])
    keep = sorted(order[:limit])
    rest = [i for k in order[limit:] for i in groups[k]]
    return [groups[k] for k in keep], sorted(rest)


# -- what the events say, as intervals and marks (the data the lanes and markers draw) ----------
def crew_locations(events: list[dict], start: Mapping[str, str], end: float) -> dict[str, list[tuple[float, float, str]]]:
    """Where each crew member was, from the ``move`` events: {crew id: [(t0 [s], t1 [s], place)]}.

    A ``move`` event is the arrival in ``to`` (through ``via``); *start* gives where each member
    was at t = 0; the last interval runs to *end* [s]. Consecutive intervals in one place merge.
    """
    where = dict(start)
    since = {c: 0.0 for c in where}
    out: dict[str, list[tuple[float, float, str]]] = {c: [] for c in where}
    for e in events:
        if e.get("kind") != "move" or not isinstance(e.get("crew"), str) or e.get("to") is None:
            continue
        c, t = e["crew"], float(e["t"])
        if c in where and where[c] != e["to"]:
            if t > since[c]:
                out[c].append((since[c], t, where[c]))
            since[c] = t
        elif c not in where:
            out[c], since[c] = [], t
        where[c] = e["to"]
    for c, place in where.items():
        if place is not None and end > since[c]:
            out[c].append((since[c], float(end), place))
    return out


def hatch_intervals(events: list[dict], hatches: Mapping[str, bool], valves: Mapping[str, bool],
                    end: float) -> dict[str, list[tuple[float, float, bool, bool]]]:
    """Each hatch's state over time: {hatch: [(t0 [s], t1 [s], hatch open, valve open)]}.

    Only hatches that changed during the run, or were closed at some point, are listed (an
    always-open hatch is the normal state and would only crowd the lanes).
    """
    state = {h: [bool(hatches.get(h, True)), bool(valves.get(h, False))] for h in dict.fromkeys([*hatches, *valves])}
    since = {h: 0.0 for h in state}
    out: dict[str, list[tuple[float, float, bool, bool]]] = {h: [] for h in state}
    for e in events:
        if e.get("kind") not in ("hatch", "valve") or e.get("hatch") is None:
            continue
        h, t = e["hatch"], float(e["t"])
        if h not in state:
            state[h], since[h], out[h] = [True, False], 0.0, []
        new = list(state[h])
        new[0 if e["kind"] == "hatch" else 1] = e.get("state") == "open"
        if new != state[h]:
            if t > since[h]:
                out[h].append((since[h], t, state[h][0], state[h][1]))
            state[h], since[h] = new, t
    for h, (hopen, vopen) in state.items():
        if end > since[h]:
            out[h].append((since[h], float(end), hopen, vopen))
    return {h: v for h, v in out.items() if len(v) > 1 or any(not hopen for _, _, hopen, _ in v)}


_MARKED = ("hatch", "valve", "leak_start", "leak_change", "repair_start", "repair_done", "sheltered", "alarm",
           "measure", "reserve_floor", "hazard", "inject", "procedure_start", "trapped", "hatch_jammed",
           "hatch_blocked", "valve_stuck")


def event_marks(events: list[dict]) -> list[tuple[float, str, str]]:
    """The events a plot marks, each as (t [s], label, meaning) — the label says which hatch, leak, alarm."""
    marks = []
    for e in events:
        kind = e.get("kind")
        if kind not in _MARKED:
            continue
        t = float(e["t"])
        if kind == "hatch":
            meaning = "hatch_closed" if e.get("state") == "closed" else "procedure"
            marks.append((t, f"{e.get('hatch')} {e.get('state')}", meaning))
        elif kind == "valve":
            marks.append((t, f"{e.get('hatch')} valve {e.get('state')}", "valve_open"))
        elif kind == "leak_start":
            marks.append((t, f"leak {e.get('leak')} in {e.get('at')}", "leak"))
        elif kind == "leak_change":
            marks.append((t, f"leak {e.get('leak')} {e.get('cause') or 'changes'}", "leak"))
        elif kind == "repair_start":
            marks.append((t, f"repair of {e.get('leak')} starts", "repair"))
        elif kind == "repair_done":
            verdict = "done" if e.get("success") else "failed"
            marks.append((t, f"repair of {e.get('leak')} {verdict}", "repair"))
        elif kind == "sheltered":
            if e.get("hatch") == "closed":
                marks.append((t, f"sealed in {e.get('vehicle')}", "shelter"))
            else:  # in the vehicle but not sealed in: say so, it is the story
                marks.append((t, f"in {e.get('vehicle')}, hatch {e.get('hatch') or 'not closed'}", "alarm"))
        elif kind in ("hatch_jammed", "hatch_blocked", "valve_stuck"):
            marks.append((t, f"{e.get('hatch')} {kind.split('_', 1)[1]}", "alarm"))
        elif kind == "alarm":
            marks.append((t, f"alarm {e.get('alarm')}", "alarm"))
        elif kind == "measure":
            marks.append((t, f"{e.get('by') or 'crew'} measures {e.get('of')}", "measure"))
        elif kind == "reserve_floor":
            marks.append((t, f"{e.get('at') or e.get('compartment') or ''} below reserve floor".strip(), "limit"))
        elif kind == "procedure_start":
            marks.append((t, f"procedure {e.get('name') or e.get('procedure')}", "procedure"))
        else:
            who = e.get("crew")
            who = ", ".join(who) if isinstance(who, list) else who
            marks.append((t, f"{kind} {who or ''}".strip(), "alarm"))
    return marks


def _label_rows(marks: list[tuple[float, str, str]], t_end: float, width_chars: int = 150) -> list[int]:
    """A row for each mark's label so that labels in one row do not overlap (greedy, left to right)."""
    per_char = max(t_end, 1.0) / width_chars
    row_end: list[float] = []
    rows = []
    for t, label, _ in marks:
        for r, end in enumerate(row_end):
            if t >= end:
                row_end[r] = t + (len(label) + 2) * per_char
                rows.append(r)
                break
        else:
            row_end.append(t + (len(label) + 2) * per_char)
            rows.append(len(row_end) - 1)
    return rows


_MAX_LABEL_ROWS = 12
"""Rows of event labels at most; marks whose label would need another row get the line only (the
full list is the report's event timeline)."""


def _draw_marks(axes, strip, marks, t_end: float) -> None:
    """Vertical lines through *axes* and labels, in rows, on the *strip* axis above them."""
    rows = _label_rows(marks, t_end)
    n_rows = min(max(rows, default=0) + 1, _MAX_LABEL_ROWS)
    hidden = 0
    for (t, label, meaning), row in zip(marks, rows, strict=True):
        colour = MEANING.get(meaning, MEANING["other"])
        for ax in axes:
            ax.axvline(t, color=colour, ls=":", lw=1.1, alpha=0.9, zorder=1)
        if row >= _MAX_LABEL_ROWS:
            hidden += 1
            continue
        strip.plot([t, t], [0, n_rows - row - 0.25], color=colour, lw=0.8, ls=":")
        strip.text(t, n_rows - row - 0.5, " " + label, color=colour, fontsize=7.5, va="center",
                   ha="left", clip_on=False)
    if hidden:
        strip.text(1.0, 1.0, f"{hidden} more events marked without a label", transform=strip.transAxes,
                   ha="right", va="bottom", fontsize=7.5, color=MEANING["other"])
    strip.set_ylim(0, n_rows)
    strip.set_yticks([])
    for side in ("top", "right", "left"):
        strip.spines[side].set_visible(False)
    strip.set_ylabel("events", rotation=0, ha="right", va="center", fontsize=8)


def _limit_line(ax, value: float | None, label: str, data_lo: float, data_hi: float) -> str | None:
    """Draw a limit [kPa] when it lies near the data; otherwise return a note saying where it is."""
    if value is None:
        return None
    span = max(data_hi - data_lo, 1e-9)
    if data_lo - 0.5 * span <= value <= data_hi + 0.5 * span:
        ax.axhline(value, color=MEANING["limit"], ls="--", lw=1.0, label=label)
        return None
    where = "below" if value < data_lo else "above"
    return f"{label}: {value:.2f} kPa, {where} this axis"


def _lanes(ax, rows: list[tuple[str, list[tuple[float, float, str, str]]]], t_end: float) -> None:
    """Horizontal lanes: each row a list of (t0, t1, colour, text) segments."""
    for k, (_name, segments) in enumerate(rows):
        for t0, t1, colour, text in segments:
            ax.barh(k, t1 - t0, left=t0, height=0.7, color=colour, edgecolor="white", lw=0.5)
            if text and (t1 - t0) > t_end * 0.012 * max(len(text), 3):
                ax.text((t0 + t1) / 2, k, text, ha="center", va="center", fontsize=7, color="white",
                        fontweight="bold", clip_on=True)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)


def plot_series(series, png_path: str | Path, events: list[dict] | None = None,
                limits: Mapping[str, float] | None = None, title: str | None = None,
                crew_start: Mapping[str, str] | None = None, hatches: Mapping[str, bool] | None = None,
                valves: Mapping[str, bool] | None = None) -> Path:
    """The story of a run in one figure, every panel on one HH:MM time axis.

    From the top: the events (labelled: which hatch, leak, alarm); total pressure [kPa]; the
    pressure change since the start [Pa] (what a 0.1 kPa event looks like); ppO2 and ppCO2 [kPa];
    the model's Treserve [h] when the series has it; lanes for where each crew member was and for
    each hatch that was closed at some time (closed dark red, equalization valve open blue).
    Colours come from :mod:`sim.report.palette`: a compartment or crew member has the same colour
    in every report.

    Parameters
    ----------
    series : sim.results.series.Series
        The recorded series [s], [Pa].
    png_path : path
        PNG file to write.
    events : list of dict, optional
        The run's events (marks, lanes).
    limits : mapping, optional
        ``reserve_floor``, ``ppO2_min``, ``ppCO2_max`` [Pa], drawn as dashed lines when near the
        data (otherwise named in the legend with their value).
    title : str, optional
    crew_start : mapping, optional
        Crew id -> compartment at t = 0 (for the crew lanes).
    hatches, valves : mapping, optional
        Hatch id -> open at t = 0 (for the hatch lanes).

    Returns
    -------
    Path
        *png_path*.
    """
    plt = _pyplot()
    events = list(events or [])
    limits = dict(limits or {})
    t = series.t
    t_end = float(t[-1]) if len(t) else 0.0
    shown, others = _pick(series)
    locations = crew_locations(events, crew_start or {}, t_end) if crew_start is not None else {}
    locations = {c: v for c, v in locations.items() if v}
    # the lines get distinct colours; a place in the crew lanes takes its zone's line colour, and
    # a place drawn as no line a muted tone (its name is written on the lane)
    colour = colours_for([series.names[g[0]] for g in shown], COMPARTMENT_COLOURS)
    zone_of = {series.names[i]: series.names[g[0]] for g in shown for i in g}
    others_places = [p for v in locations.values() for _, _, p in v if p not in zone_of]
    place_colour = {p: colour[zone_of[p]] for p in zone_of} | colours_for(others_places, MUTED_COLOURS)
    lanes_h = hatch_intervals(events, hatches or {}, valves or {}, t_end) if hatches is not None else {}
    treserve = getattr(series, "treserve", None)
    station_treserve = getattr(series, "station_treserve", None)
    marks = event_marks(events)
    n_rows = min(max(_label_rows(marks, t_end), default=0) + 1, _MAX_LABEL_ROWS) if marks else 1
    panels = ["p", "dp", "o2", "co2"] + (["treserve"] if station_treserve is not None else [])
    heights = [0.28 * n_rows + 0.3] + [2.2] * len(panels)
    if locations:
        panels.append("crew")
        heights.append(0.32 * len(locations) + 0.4)
    if lanes_h:
        panels.append("hatches")
        heights.append(0.32 * len(lanes_h) + 0.4)
    fig, axes = plt.subplots(len(heights), 1, figsize=(12.5, sum(heights) + 1.4), sharex=True,
                             gridspec_kw={"height_ratios": heights}, constrained_layout=True)
    strip, axes = axes[0], list(axes[1:])
    ax_of = dict(zip(panels, axes, strict=True))
    p0 = series.p[0] if len(t) else np.zeros(len(series.names))

    def lines(ax, data, scale):
        if others:
            ax.fill_between(t, data[:, others].min(axis=1) / scale, data[:, others].max(axis=1) / scale,
                            color="0.85", label=f"{len(others)} other compartments (range)")
        for group in shown:
            ax.plot(t, data[:, group[0]] / scale, color=colour[series.names[group[0]]], lw=1.7,
                    label=_group_label(series, group))

    notes = []
    ax = ax_of["p"]
    lines(ax, series.p, 1000.0)
    if len(t):
        note = _limit_line(ax, None if limits.get("reserve_floor") is None else limits["reserve_floor"] / 1000,
                           "reserve floor", float(series.p.min()) / 1000, float(series.p.max()) / 1000)
        notes.append(note)
    ax.set_ylabel("total pressure\n[kPa]")
    ax = ax_of["dp"]
    dp = series.p - p0
    big = len(t) and float(np.abs(dp).max()) > 5000.0  # beyond 5 kPa, kPa reads better than Pa
    lines(ax, dp, 1000.0 if big else 1.0)
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_ylabel(f"change since\nthe start [{'kPa' if big else 'Pa'}]")
    for key, index, label, limit_key in (("o2", 1, "ppO$_2$", "ppO2_min"), ("co2", 2, "ppCO$_2$", "ppCO2_max")):
        ax = ax_of[key]
        lines(ax, series.pp[:, :, index], 1000.0)
        if len(t) and limits.get(limit_key) is not None:
            data = series.pp[:, :, index] / 1000
            notes.append(_limit_line(ax, limits[limit_key] / 1000,
                                     f"{label} {'minimum' if key == 'o2' else 'maximum'}",
                                     float(data.min()), float(data.max())))
        ax.set_ylabel(f"{label}\n[kPa]")
    if "treserve" in ax_of:
        ax = ax_of["treserve"]
        hours = np.where(np.isfinite(station_treserve), station_treserve, np.nan) / 3600.0
        ax.plot(t, hours, color="k", lw=1.8, label="station (model truth)")
        if treserve is not None:
            for group in shown:
                i = group[0]
                col = treserve[:, i] / 3600.0
                if np.isfinite(col).any() and not np.allclose(col, hours, equal_nan=True):
                    ax.plot(t, col, color=colour[series.names[i]], lw=1.0, alpha=0.8,
                            label=_group_label(series, group))
        if np.isfinite(hours).any():
            ax.set_yscale("log")
        ax.plot([], [], color="none", label="no line: no loss to a leak (unbounded)")
        ax.set_ylabel("Treserve\n[h]")
    for ax in axes[: len(panels) - (1 if locations else 0) - (1 if lanes_h else 0)]:
        ax.grid(alpha=0.3)
    if locations:
        rows = [(c, [(a, b, place_colour.get(place, MEANING["other"]), place) for a, b, place in v])
                for c, v in sorted(locations.items())]
        _lanes(ax_of["crew"], rows, t_end)
        crew_colour = colours_for(locations, CREW_COLOURS)
        for tick, (cid, _) in zip(ax_of["crew"].get_yticklabels(), rows, strict=True):
            tick.set_color(crew_colour[cid])
            tick.set_fontweight("bold")
        ax_of["crew"].set_ylabel("crew\nwhere", rotation=0, ha="right", va="center", fontsize=8)
    if lanes_h:
        rows = []
        for h, v in lanes_h.items():
            segs = []
            for a, b, hopen, vopen in v:
                if hopen:
                    segs.append((a, b, MEANING["hatch_open"], "open"))
                else:
                    segs.append((a, b, MEANING["valve_open"] if vopen else MEANING["hatch_closed"],
                                 "closed, valve open" if vopen else "closed"))
            rows.append((h, segs))
        _lanes(ax_of["hatches"], rows, t_end)
        ax_of["hatches"].set_ylabel("hatches", rotation=0, ha="right", va="center", fontsize=8)
    _draw_marks(axes, strip, marks, t_end)
    for ax in [*axes, strip]:
        ax.set_xlim(0, max(t_end, 1.0))
    hhmm_axis(axes[-1], t_end)
    handles, labels = ax_of["p"].get_legend_handles_labels()
    extra = [n for n in notes if n]
    if extra:
        from matplotlib.lines import Line2D

        handles += [Line2D([], [], color="none") for _ in extra]
        labels += extra
    ax_of["p"].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7.5, frameon=False)
    for key in ("o2", "co2"):
        h, lab = ax_of[key].get_legend_handles_labels()
        keep = [(a, b) for a, b in zip(h, lab, strict=True) if "minimum" in b or "maximum" in b]
        if keep:
            ax_of[key].legend(*zip(*keep, strict=True), loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7.5,
                              frameon=False)
    if "treserve" in ax_of:
        ax_of["treserve"].legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7.5, frameon=False)
    if lanes_h:
        from matplotlib.patches import Patch

        ax_of["hatches"].legend(handles=[Patch(color=MEANING["hatch_open"], label="hatch open"),
                                         Patch(color=MEANING["hatch_closed"], label="hatch closed"),
                                         Patch(color=MEANING["valve_open"], label="closed, valve open")],
                                loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7.5, frameon=False)
    if title:
        fig.suptitle(title)
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


def plot_overlay(records, labels: list[str], png_path: str | Path, shelters: list[dict | None] | None = None) -> Path:
    """Several runs on one HH:MM axis: colour per compartment, line style per run.

    Panels: the pressure change since the start [Pa] of the compartments that moved most in
    any run; ppO2 and ppCO2 [kPa] in each run's shelter (or its most-changed compartment); the
    station's model Treserve [h] when the series have it. Each run's shelter sealing and opening
    are marked on the time axis in the run's line style.
    """
    plt = _pyplot()
    t_end = max(float(r.series.t[-1]) for r in records if len(r.series.t))
    names = list(dict.fromkeys(n for r in records for n in r.series.names))
    swing: dict[str, float] = {}
    for r in records:
        for i, n in enumerate(r.series.names):
            swing[n] = max(swing.get(n, 0.0), _swing(r.series, i))
    # compartments that move together in every run (one zone) are one line, named after all
    together: dict[str, list[str]] = {}
    first = records[0].series
    for group in _groups(first):
        members = [first.names[i] for i in group]
        for r in records[1:]:
            idx = [r.series.names.index(m) for m in members if m in r.series.names]
            if len(idx) != len(members) or not all(
                    np.allclose(r.series.p[:, idx[0]], r.series.p[:, j], rtol=5e-4, atol=1.0) for j in idx):
                members = members[:1]
                break
        together[members[0]] = members
    for n in names:
        if not any(n in v for v in together.values()):
            together[n] = [n]
    top = sorted(together, key=lambda n: -swing.get(n, 0.0))[:5]
    shelter_places = [sh.get("compartment") for sh in (shelters or []) if sh and sh.get("compartment")]
    colour = colours_for([*top, *shelter_places, *names[:1]], COMPARTMENT_COLOURS)

    def name_of(lead: str) -> str:
        members = together[lead]
        text = ", ".join(members[:3]) + (f" (+{len(members) - 3} more)" if len(members) > 3 else "")
        return text

    has_tr = all(getattr(r.series, "station_treserve", None) is not None for r in records)
    n = 3 + (1 if has_tr else 0)
    fig, axes = plt.subplots(n, 1, figsize=(12.5, 2.6 * n + 1.0), sharex=True, constrained_layout=True)
    shelters = shelters or [None] * len(records)
    marked: dict[tuple[int, str], list[str]] = {}
    for k, (r, label) in enumerate(zip(records, labels, strict=True)):
        style = RUN_STYLES[k % len(RUN_STYLES)]
        s = r.series
        for name in top:
            if name in s.names:
                i = s.names.index(name)
                axes[0].plot(s.t, s.p[:, i] - s.p[0, i], color=colour[name], ls=style, lw=1.5,
                             label=f"{name_of(name)} ({label})")
        sh = shelters[k]
        where = sh.get("compartment") if sh else None
        if where not in s.names:
            where = top[0] if top[0] in s.names else s.names[0]
        i = s.names.index(where)
        axes[1].plot(s.t, s.pp[:, i, 1] / 1000, color=colour.get(where, MEANING["other"]), ls=style, lw=1.5,
                     label=f"{where} ({label})")
        axes[2].plot(s.t, s.pp[:, i, 2] / 1000, color=colour.get(where, MEANING["other"]), ls=style, lw=1.5,
                     label=f"{where} ({label})")
        if has_tr:
            axes[3].plot(s.t, s.station_treserve / 3600.0, color="k", ls=style, lw=1.5,
                         label=f"station ({label})")
        if sh:
            for key, text in (("sealed_s", "sealed"), ("opened_s", "opened")):
                if sh.get(key) is not None:
                    for ax in axes:
                        ax.axvline(sh[key], color=MEANING["shelter"], ls=style, lw=1.0, alpha=0.8)
                    marked.setdefault((round(float(sh[key])), text), []).append(label)
    for (t_mark, text), who in marked.items():
        axes[0].annotate(f"{text} ({', '.join(who)})", (t_mark, 1.0),
                         xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=7,
                         color=MEANING["shelter"])
    axes[0].set_ylabel("pressure change\nsince the start [Pa]")
    axes[1].set_ylabel("ppO$_2$ in the\nshelter [kPa]")
    axes[2].set_ylabel("ppCO$_2$ in the\nshelter [kPa]")
    if has_tr:
        axes[3].set_ylabel("Treserve [h]")
        axes[3].set_yscale("log")
        axes[3].plot([], [], color="none", label="no line: no loss to a leak (unbounded)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7.5, frameon=False)
        ax.set_xlim(0, t_end)
    hhmm_axis(axes[-1], t_end)
    fig.suptitle("Runs overlaid: colour is the compartment, line style the run")
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


# -- the station graph -----------------------------------------------------------------
def station_layout(G) -> dict[str, tuple[float, float]]:
    """A deterministic, label-friendly layout of a station graph.

    Each connected part is laid out as a tree spreading left and right from its centre: the
    depth from the centre is the x coordinate (one unit per hatch), leaves take consecutive
    rows, and a compartment sits at the mean row of its children. Compartments at the same depth
    therefore never share a row, so labels placed beside them do not collide. Hatches that close
    a cycle are drawn over this tree layout.

    Parameters
    ----------
    G : networkx graph
        The station graph (:func:`sim.station.build_graph`).

    Returns
    -------
    dict
        Node -> (x, y) in layout units (rows are 1 apart, y grows downwards when drawn).
    """
    import networkx as nx

    H = nx.Graph(G)
    pos: dict[str, tuple[float, float]] = {}
    y_offset = 0.0
    for comp in sorted(nx.connected_components(H), key=lambda c: (-len(c), sorted(c)[0])):
        sub = H.subgraph(comp)
        order = {n: i for i, n in enumerate(G.nodes)}
        centre = sorted(nx.center(sub), key=order.get)
        paired = len(centre) >= 2 and sub.has_edge(centre[0], centre[1])
        if len(centre) >= 2 and sub.has_edge(centre[0], centre[1]):
            roots = [(centre[0], -1, {centre[1]}), (centre[1], +1, {centre[0]})]
        else:
            root = centre[0]
            kids = sorted(sub.neighbors(root), key=order.get)
            sizes = {k: len(nx.node_connected_component(sub.subgraph(set(comp) - {root}), k)) for k in kids}
            left, right, nl, nr = [], [], 0, 0
            for k in sorted(kids, key=lambda k: (-sizes[k], order[k])):
                if nl <= nr:
                    left.append(k)
                    nl += sizes[k]
                else:
                    right.append(k)
                    nr += sizes[k]
            roots = [(k, -1, {root}) for k in left] + [(k, +1, {root}) for k in right]
        rows_by_side: dict[int, list] = {-1: [], 1: []}
        for r, side, block in roots:
            rows_by_side[side].append((r, block))
        placed: dict[str, tuple[float, float]] = {}
        heights = {}
        for side, items in rows_by_side.items():
            next_row = [0.0]
            local: dict[str, tuple[float, float]] = {}
            for r, block in items:
                start = 0.5 if paired else 1.0
                _tidy(sub, r, block, side, start, local, next_row, order)
            heights[side] = next_row[0]
            placed.update({n: (x, y) for n, (x, y) in local.items()})
        total = max(heights.values()) if heights else 1.0
        for n, (x, y) in placed.items():
            side = -1 if x < 0 else 1
            shift = (total - heights[side]) / 2.0
            pos[n] = (x, y + shift + y_offset)
        if not paired:
            root = centre[0]
            kid_rows = [pos[k][1] for k in sub.neighbors(root) if k in pos]
            pos[root] = (0.0, float(np.mean(kid_rows)) if kid_rows else y_offset)
        y_offset += total + 1.0
    return pos


def _tidy(G, node, block, side, depth, out, next_row, order) -> float:
    """Lay out the subtree of *node* (not crossing *block*); returns its row.

    Depth first with an explicit stack, not recursion: a chain of thousands of compartments would
    exceed Python's recursion limit.
    """
    def enter(n, blk, d):
        kids = [k for k in sorted(G.neighbors(n), key=order.get) if k not in blk and k not in out]
        out[n] = (side * d, -1.0)  # mark as placed before descending (cycles)
        return [n, d, kids, 0, []]

    stack = [enter(node, block, depth)]
    result = None
    while stack:
        frame = stack[-1]
        n, d, kids, _, rows = frame
        if result is not None:  # a child just finished
            rows.append(result)
            result = None
        while frame[3] < len(kids) and kids[frame[3]] in out:
            frame[3] += 1
        if frame[3] < len(kids):
            frame[3] += 1
            stack.append(enter(kids[frame[3] - 1], {n}, d + 1))
            continue
        stack.pop()
        if rows:
            row = float(np.mean([rows[0], rows[-1]]))
        else:
            row = next_row[0]
            next_row[0] += 1.0
        out[n] = (side * d, row)
        result = row
    return result


def draw_station(station, png_path: str | Path, initial=None, state: Mapping[str, Any] | None = None,
                 title: str | None = None, p_range: tuple[float, float] | None = None) -> Path:
    """Draw the station graph: compartments coloured by pressure, hatch states, crew positions.

    Parameters
    ----------
    station : sim.scenario.station_model.Station
        The validated station.
    png_path : path
        PNG file to write.
    initial : Initial, optional
        The scenario's initial hatch and valve states (used when *state* gives none).
    state : mapping, optional
        The state at one instant (:func:`sim.report.html.station_drawing` makes it from the state
        derived from the events): ``t`` [s],
        ``compartments`` {id: {p_Pa}}, ``hatches`` and ``valves`` {id: "open"/"closed"},
        ``crew`` {id: {location}}, ``leaks`` {id: {at}}, ``jammed`` [hatch ids].
    title : str, optional
    p_range : (float, float), optional
        Pressure range of the colour scale [Pa]; default from the station's reserve floor to
        its nominal cabin pressure.

    Returns
    -------
    Path
        *png_path*.
    """
    fig = station_figure(station, initial, state, title, p_range)
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=100)
    _pyplot().close(fig)
    return png_path


def station_figure(station, initial=None, state: Mapping[str, Any] | None = None, title: str | None = None,
                   p_range: tuple[float, float] | None = None):
    """The figure :func:`draw_station` saves (a matplotlib Figure; the caller closes it)."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    from sim.station import build_graph
    from sim.units import format_duration

    G = build_graph(station)
    pos = station_layout(G)
    state = dict(state or {})
    hatch_open = {h: bool(x.open) for h, x in station.hatches.items()}
    valve_open = {h: bool(x.valve_open) for h, x in station.hatches.items()}
    if initial is not None:
        hatch_open |= {h: s == "open" for h, s in initial.hatches.items()}
        valve_open |= {h: s == "open" for h, s in initial.valves.items()}
    hatch_open |= {h: s == "open" for h, s in state.get("hatches", {}).items()}
    valve_open |= {h: s == "open" for h, s in state.get("valves", {}).items()}
    pressures = {n: c["p_Pa"] for n, c in state.get("compartments", {}).items()}
    nominal = station.atmosphere.N2 + station.atmosphere.O2 + station.atmosphere.CO2
    lo, hi = p_range or (min(station.limits.reserve_floor, *pressures.values()) if pressures else station.limits.reserve_floor,
                         max(nominal, *pressures.values()) if pressures else nominal)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    width = max(8.0, 1.45 * (max(xs) - min(xs) + 2))
    height = max(4.5, 0.95 * (max(ys) - min(ys) + 2) + 1.5)
    fig, ax = plt.subplots(figsize=(width, height), constrained_layout=True)
    cmap = plt.get_cmap("RdYlGn")
    import matplotlib.colors as mcolors

    norm = mcolors.Normalize(vmin=lo / 1000, vmax=hi / 1000)
    for u, v, hid in G.edges(keys=True):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        if hatch_open.get(hid, True):
            ax.plot([x0, x1], [y0, y1], color="0.35", lw=3.0, zorder=1, solid_capstyle="round")
        else:
            valve = valve_open.get(hid, False) and station.hatches[hid].valve
            col = MEANING["valve_open"] if valve else MEANING["hatch_closed"]
            ax.plot([x0, x1], [y0, y1], color=col, lw=2.2, ls=(0, (3, 2)), zorder=1)
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            ax.plot([xm], [ym], marker="|", ms=18, mew=3.5, color=col, zorder=2)
    jammed = [h for h in state.get("jammed", ()) if h in station.hatches]
    for hid in jammed:  # a jammed hatch, open or closed, is marked where it is
        (x0, y0), (x1, y1) = (pos[x] for x in station.hatches[hid].between)
        ax.plot([(x0 + x1) / 2], [(y0 + y1) / 2], marker="X", ms=13, mew=1.0, color=MEANING["hatch_closed"],
                mec="white", zorder=4)
    crew_at: dict[str, list[str]] = {}
    for cid, m in state.get("crew", {}).items():
        if m.get("location"):
            crew_at.setdefault(m["location"], []).append(cid)
    leak_at = {lk.get("at") for lk in state.get("leaks", {}).values()}
    for n, (x, y) in pos.items():
        is_vehicle = n in station.vehicles
        p = pressures.get(n)
        face = cmap(norm(p / 1000)) if p is not None else "white"
        ax.scatter([x], [y], s=520 if not is_vehicle else 460, marker="s" if is_vehicle else "o", c=[face],
                   edgecolors=MEANING["leak"] if n in leak_at else "k", linewidths=3.0 if n in leak_at else 1.2,
                   zorder=3)
        label = n if p is None else f"{n}\n{p / 1000:.2f} kPa"
        ax.annotate(label, (x, y), xytext=(0, -17), textcoords="offset points", ha="center", va="top",
                    fontsize=8.5, zorder=5, gid="label",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
        if n in crew_at:
            ax.annotate(", ".join(sorted(crew_at[n])), (x, y), xytext=(0, 15), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8.5, color=MEANING["crew_label"], fontweight="bold",
                        zorder=5, gid="label",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "lavender", "ec": MEANING["crew_label"], "lw": 0.8})
    ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
    ax.set_ylim(max(ys) + 0.9, min(ys) - 0.9)  # first row on top
    ax.axis("off")
    handles = [
        Line2D([], [], color="0.35", lw=3, label="hatch open"),
        Line2D([], [], color=MEANING["hatch_closed"], lw=2.2, ls=(0, (3, 2)), label="hatch closed"),
        Line2D([], [], color=MEANING["valve_open"], lw=2.2, ls=(0, (3, 2)), label="hatch closed, valve open"),
        Line2D([], [], marker="o", ls="", mfc="white", mec="k", ms=10, label="module"),
        Line2D([], [], marker="s", ls="", mfc="white", mec="k", ms=10, label="docked vehicle"),
    ]
    if jammed:
        handles.append(Line2D([], [], marker="X", ls="", color=MEANING["hatch_closed"], mec="white", ms=11,
                              label="hatch jammed"))
    if leak_at:
        handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec=MEANING["leak"], mew=3, ms=10, label="leak"))
    if crew_at:
        handles.append(Line2D([], [], marker="s", ls="", mfc="lavender", mec=MEANING["crew_label"], ms=10,
                              label="crew"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=len(handles), fontsize=8.5, frameon=False)
    if pressures:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.01, label="total pressure [kPa]")
    heading = title or station.name
    if "t" in state:
        heading += f" at {format_duration(state['t'])}"
    ax.set_title(heading)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    return fig


# -- crew activity ---------------------------------------------------------------------
def crew_intervals(events: list[dict]) -> dict[str, list[tuple[float, float, str]]]:
    """Who did what when, from the events: {crew id: [(start [s], end [s], activity)]}.

    A task runs from ``task_start`` to its ``task_end``, ``task_interrupted`` or ``task_failed``;
    a response delay is the ``delay_s`` before a ``respond`` event (and ``delayed`` likewise);
    a task still open at the end of the run is drawn to the end.
    """
    end = max((e["t"] for e in events), default=0.0)
    open_: dict[str, tuple[float, str]] = {}
    out: dict[str, list[tuple[float, float, str]]] = {}
    for e in events:
        kind, who = e["kind"], e.get("crew")
        if not isinstance(who, str):
            continue
        if kind == "task_start":
            open_[who] = (e["t"], str(e.get("task", "task")))
        elif kind in ("task_end", "task_interrupted", "task_failed") and who in open_:
            t0, what = open_.pop(who)
            out.setdefault(who, []).append((t0, e["t"], what))
        elif kind in ("respond", "delayed") and e.get("delay_s", 0) > 0:
            label = "responding" if kind == "respond" else "delayed"
            out.setdefault(who, []).append((e["t"] - e["delay_s"], e["t"], label))
    for who, (t0, what) in open_.items():
        out.setdefault(who, []).append((t0, end, what))
    return {k: sorted(v) for k, v in out.items() if v}


def plot_crew_activity(events: list[dict], png_path: str | Path, title: str | None = None) -> Path | None:
    """A Gantt chart of crew activity (who did what when); None when the run has no crew events.

    Activities are coloured by their first word with :data:`sim.report.palette.ACTIVITY` (the same
    in every report); each crew member's name is in their own colour.
    """
    intervals = crew_intervals(events)
    if not intervals:
        return None
    plt = _pyplot()
    end = max(e["t"] for e in events)
    kinds = sorted({_activity_class(w) for v in intervals.values() for _, _, w in v})
    crew = sorted(intervals)
    crew_colour = colours_for(crew, CREW_COLOURS)
    fig, ax = plt.subplots(figsize=(12.5, 1.4 + 0.55 * len(crew)), constrained_layout=True)
    for row, cid in enumerate(crew):
        for t0, t1, what in intervals[cid]:
            ax.barh(row, max(t1 - t0, end * 0.002), left=t0, height=0.6,
                    color=activity_colour(what), edgecolor="k", lw=0.4)
    ax.set_yticks(range(len(crew)), [c for c in crew])
    for tick, cid in zip(ax.get_yticklabels(), crew, strict=True):
        tick.set_color(crew_colour[cid])
        tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, end)
    hhmm_axis(ax, end)
    ax.set_ylabel("crew member")
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=activity_colour(k), label=k) for k in kinds], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title(title or "Crew activity")
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


def _activity_class(what: str) -> str:
    return what.split(" ", 1)[0]
