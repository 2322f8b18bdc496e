"""Plots of a run with matplotlib: series against time, the station graph, a crew-activity chart.

Every function draws into a new figure with the Agg backend (chosen inside the function, so
importing this module changes nothing) and writes a PNG. Times are shown in hours or minutes,
pressures in kPa; axes carry their units.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.text import literal_figure

__all__ = ["draw_station", "plot_crew_activity", "plot_series", "station_layout"]

_EVENT_STYLE = {
    "leak_start": ("tab:red", "leak starts or changes"),
    "leak_change": ("tab:red", "leak starts or changes"),
    "repair_done": ("tab:green", "repair done"),
    "hatch": ("tab:blue", "hatch opened/closed"),
    "valve": ("tab:cyan", "valve opened/closed"),
    "alarm": ("goldenrod", "alarm"),
    "sheltered": ("tab:purple", "crew sheltered"),
}
_MAX_LINES = 8
"""Compartments drawn as their own lines; the rest appear as one grey envelope."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _time_axis(t: np.ndarray) -> tuple[np.ndarray, str]:
    span = float(t[-1] - t[0]) if len(t) else 0.0
    if span > 3 * 3600:
        return t / 3600.0, "time [h]"
    return t / 60.0, "time [min]"


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


def _pick(series, limit: int = _MAX_LINES) -> tuple[list[list[int]], list[int]]:
    """Groups of compartments drawn as lines (those that changed most) and the rest."""
    groups = _groups(series)
    if len(groups) <= limit or not len(series.t):
        return groups, []
    swing = [float(np.ptp(series.p[:, g[0]]) + np.ptp(series.pp[:, g[0], 1]) + 10 * np.ptp(series.pp[:, g[0], 2]))
             for g in groups]
    order = sorted(range(len(groups)), key=lambda k: -swing[k])
    keep = sorted(order[:limit])
    rest = [i for k in order[limit:] for i in groups[k]]
    return [groups[k] for k in keep], sorted(rest)


def plot_series(series, png_path: str | Path, events: list[dict] | None = None,
                limits: Mapping[str, float] | None = None, title: str | None = None) -> Path:
    """Total pressure, ppO2 and ppCO2 against time per compartment, with events and limits.

    Parameters
    ----------
    series : sim.results.series.Series
        The recorded series [s], [Pa].
    png_path : path
        PNG file to write.
    events : list of dict, optional
        Events to mark as vertical lines (leaks, hatches, valves, alarms, repairs, shelter).
    limits : mapping, optional
        ``reserve_floor``, ``ppO2_min``, ``ppCO2_max`` [Pa], drawn as dashed horizontal lines.
    title : str, optional

    Returns
    -------
    Path
        *png_path*.
    """
    plt = _pyplot()
    limits = dict(limits or {})
    x, xlabel = _time_axis(series.t)
    shown, others = _pick(series)
    fig, axes = plt.subplots(3, 1, figsize=(11, 9.5), sharex=True, constrained_layout=True)
    panels = (
        (series.p, "total pressure [kPa]", "reserve_floor", "reserve floor"),
        (series.pp[:, :, 1], "ppO$_2$ [kPa]", "ppO2_min", "ppO$_2$ minimum"),
        (series.pp[:, :, 2], "ppCO$_2$ [kPa]", "ppCO2_max", "ppCO$_2$ maximum"),
    )
    colors = plt.get_cmap("Dark2")
    for ax, (data, ylabel, limit_key, limit_label) in zip(axes, panels, strict=True):
        if others:
            ax.fill_between(x, data[:, others].min(axis=1) / 1000, data[:, others].max(axis=1) / 1000,
                            color="0.8", label=f"{len(others)} other compartments (range)")
        for k, group in enumerate(shown):
            ax.plot(x, data[:, group[0]] / 1000, color=colors(k % 8), lw=1.8, label=_group_label(series, group))
        if limit_key in limits and limits[limit_key] is not None:
            ax.axhline(limits[limit_key] / 1000, color="k", ls="--", lw=1.0, label=limit_label)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    seen = set()
    for e in events or []:
        style = _EVENT_STYLE.get(e.get("kind"))
        if style is None:
            continue
        xe = x_of(e["t"], series.t)
        for ax in axes:
            ax.axvline(xe, color=style[0], ls=":", lw=1.2, alpha=0.9,
                       label=style[1] if (ax is axes[0] and style[1] not in seen) else None)
        seen.add(style[1])
    axes[-1].set_xlabel(xlabel)
    axes[0].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    handles, labels = axes[1].get_legend_handles_labels()
    extra = [(h, lab) for h, lab in zip(handles, labels, strict=True) if "minimum" in lab]
    if extra:
        axes[1].legend(*zip(*extra, strict=True), loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    handles, labels = axes[2].get_legend_handles_labels()
    extra = [(h, lab) for h, lab in zip(handles, labels, strict=True) if "maximum" in lab]
    if extra:
        axes[2].legend(*zip(*extra, strict=True), loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def x_of(t: float, times: np.ndarray) -> float:
    """An event time [s] in the units of :func:`_time_axis` for *times*."""
    span = float(times[-1] - times[0]) if len(times) else 0.0
    return t / 3600.0 if span > 3 * 3600 else t / 60.0


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
    """Lay out the subtree of *node* (not crossing *block*); returns its row."""
    kids = [k for k in sorted(G.neighbors(node), key=order.get) if k not in block and k not in out]
    out[node] = (side * depth, -1.0)  # mark as placed before recursing (cycles)
    rows = [_tidy(G, k, {node}, side, depth + 1, out, next_row, order) for k in kids if k not in out]
    if rows:
        row = float(np.mean([rows[0], rows[-1]]))
    else:
        row = next_row[0]
        next_row[0] += 1.0
    out[node] = (side * depth, row)
    return row


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
        The state at one instant, as :func:`sim.replay.states_at` returns it: ``t`` [s],
        ``compartments`` {id: {p_Pa}}, ``hatches`` and ``valves`` {id: "open"/"closed"},
        ``crew`` {id: {location}}, ``leaks`` {id: {at}}.
    title : str, optional
    p_range : (float, float), optional
        Pressure range of the colour scale [Pa]; default from the station's reserve floor to
        its nominal cabin pressure.

    Returns
    -------
    Path
        *png_path*.
    """
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
    height = max(4.5, 0.72 * (max(ys) - min(ys) + 2) + 1.5)
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
            ax.plot([x0, x1], [y0, y1], color="tab:orange" if valve else "tab:red", lw=2.2, ls=(0, (3, 2)), zorder=1)
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            ax.plot([xm], [ym], marker="|", ms=18, mew=3.5, color="tab:orange" if valve else "tab:red", zorder=2)
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
                   edgecolors="tab:red" if n in leak_at else "k", linewidths=3.0 if n in leak_at else 1.2, zorder=3)
        label = n if p is None else f"{n}\n{p / 1000:.1f} kPa"
        ax.annotate(label, (x, y), xytext=(0, -17), textcoords="offset points", ha="center", va="top",
                    fontsize=8.5, zorder=5, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
        if n in crew_at:
            ax.annotate(", ".join(sorted(crew_at[n])), (x, y), xytext=(0, 15), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8.5, color="navy", fontweight="bold", zorder=5,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "lavender", "ec": "navy", "lw": 0.8})
    ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
    ax.set_ylim(max(ys) + 0.9, min(ys) - 0.9)  # first row on top
    ax.axis("off")
    handles = [
        Line2D([], [], color="0.35", lw=3, label="hatch open"),
        Line2D([], [], color="tab:red", lw=2.2, ls=(0, (3, 2)), label="hatch closed"),
        Line2D([], [], color="tab:orange", lw=2.2, ls=(0, (3, 2)), label="hatch closed, valve open"),
        Line2D([], [], marker="o", ls="", mfc="white", mec="k", ms=10, label="module"),
        Line2D([], [], marker="s", ls="", mfc="white", mec="k", ms=10, label="docked vehicle"),
    ]
    if leak_at:
        handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec="tab:red", mew=3, ms=10, label="leak"))
    if crew_at:
        handles.append(Line2D([], [], marker="s", ls="", mfc="lavender", mec="navy", ms=10, label="crew"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=len(handles), fontsize=8.5, frameon=False)
    if pressures:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.01, label="total pressure [kPa]")
    heading = title or station.name
    if "t" in state:
        heading += f" at {format_duration(state['t'])}"
    ax.set_title(heading)
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


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
    """A Gantt chart of crew activity (who did what when); None when the run has no crew events."""
    intervals = crew_intervals(events)
    if not intervals:
        return None
    plt = _pyplot()
    end = max(e["t"] for e in events)
    scale, unit = (3600.0, "h") if end > 3 * 3600 else (60.0, "min")
    kinds = sorted({_activity_class(w) for v in intervals.values() for _, _, w in v})
    cmap = plt.get_cmap("tab10")
    color = {k: cmap(i % 10) for i, k in enumerate(kinds)}
    crew = sorted(intervals)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.7 * len(crew)), constrained_layout=True)
    for row, cid in enumerate(crew):
        for t0, t1, what in intervals[cid]:
            ax.barh(row, max(t1 - t0, end * 0.002) / scale, left=t0 / scale, height=0.6,
                    color=color[_activity_class(what)], edgecolor="k", lw=0.4)
    ax.set_yticks(range(len(crew)), crew)
    ax.invert_yaxis()
    ax.set_xlim(0, end / scale)
    ax.set_xlabel(f"time [{unit}]")
    ax.set_ylabel("crew member")
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=color[k], label=k) for k in kinds], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title(title or "Crew activity")
    png_path = Path(png_path)
    literal_figure(fig)  # names from files are drawn as written, never parsed as mathtext
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def _activity_class(what: str) -> str:
    return what.split(" ", 1)[0]
