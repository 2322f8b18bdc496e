"""The debrief of a drill session: scorecard, a pressure plot with the drill's story on it, the timeline.

:func:`pressure_plot_png` draws every compartment's pressure [mmHg] against the drill's clock, with
the reserve floor, each expectation's deadline (green when met, red when not), each inject as it
fired, and the trainees' commands along the bottom. :func:`debrief_html` is the page: the verdict,
each expectation with why it failed and the commands about it, the injects with their notes, and
every event in order. Both are built from the run's own result and scorecard only.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.drill.clock import clock
from sim.drill.commands import TRAINER
from sim.drill.feedback import MMHG

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun
    from sim.engine import RunResult

__all__ = ["debrief_html", "pressure_plot_png"]


def pressure_plot_png(run: DrillRun, result: RunResult) -> bytes:
    """The debrief's plot as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    card = result.extra["scorecard"]
    cols = result.series.columns()
    t = np.asarray(cols["t_s"])
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=100)
    for name in run.sim.names:
        ax.plot(t, np.asarray(cols[f"{name}.p_Pa"]) / MMHG, lw=1, label=name)
    floor = run.sim.station.limits.reserve_floor / MMHG
    ax.axhline(floor, color="k", ls=":", lw=1)
    ax.annotate(f"reserve floor {floor:.0f} mmHg", (t[0], floor), fontsize=8, va="bottom")
    top = ax.get_ylim()[1]
    for x in card["expectations"]:
        if x.get("deadline_s") is None or x["passed"] is None:
            continue
        color = "tab:green" if x["passed"] else "tab:red"
        ax.axvline(x["deadline_s"], color=color, ls="--", lw=1)
        ax.annotate(f"deadline: {x['name']}", (x["deadline_s"], top), rotation=90, fontsize=7, color=color,
                    va="top", ha="right")
    for i in card["injects"]:
        if i["fired_s"] is not None:
            ax.axvline(i["fired_s"], color="tab:purple", lw=1.2)
            ax.annotate(f"inject {i['name']}", (i["fired_s"], top), rotation=90, fontsize=7, color="tab:purple",
                        va="top", ha="left")
    commands = [c for c in card["commands"] if "error" not in c and c["command"].split()[:1]
                and c["command"].split()[0] not in TRAINER]
    if commands:
        low = ax.get_ylim()[0]
        ax.plot([c["t_s"] for c in commands], [low] * len(commands), "^", color="tab:blue", ms=7, clip_on=False,
                label="trainee command")
        for c in commands:
            ax.annotate(c["command"], (c["t_s"], low), rotation=90, fontsize=6, color="tab:blue", va="bottom")
    span = max(float(t[-1]) if len(t) else 0.0, 60.0)
    step = next((s for s in (60, 300, 600, 900, 1800, 3600, 7200, 14400) if span / s <= 10), 28800)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: clock(v)[:5]))
    ax.set_xlabel("drill time [HH:MM]")
    ax.set_ylabel("pressure [mmHg]")
    score = "no score" if card["score"] is None else f"score {card['score']:g}"
    ax.set_title(f"{card['drill']} — {score}")
    ax.legend(fontsize=7, ncol=4, loc="lower left", bbox_to_anchor=(0, 1.08))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _e(x: Any) -> str:
    return html.escape(str(x))


def debrief_html(run: DrillRun, result: RunResult, directory: Path | None = None) -> str:
    """The debrief page (self-contained but for the plot, at ``/debrief/pressures.png``)."""
    card = result.extra["scorecard"]
    rows = []
    for x in card["expectations"]:
        verdict = "n/a" if x["passed"] is None else "PASS" if x["passed"] else "FAIL"
        why = "".join(f"<li>{_e(w)}</li>" for w in x.get("why", []))
        cmds = "".join(f"<li>{_e(c['at'])} {_e(c['command'])}</li>" for c in x.get("commands", []))
        rows.append(f"<tr class='{verdict.lower().replace('/', '')}'><td>{_e(x['name'])}</td><td>{x['weight']:g}</td>"
                    f"<td>{verdict}</td><td>{_e(x['detail'])}{'<ul>' + why + '</ul>' if why else ''}</td>"
                    f"<td>{'<ul>' + cmds + '</ul>' if cmds else ''}</td></tr>")
    injects = "".join(f"<tr><td>{_e(i['name'])}</td><td>{_e(i['fault'])}</td><td>{_e(i['trigger'])}</td>"
                      f"<td>{_e(i['fired_at'] or 'never')}</td><td>{_e(i.get('note') or '')}</td></tr>"
                      for i in card["injects"])
    commands = "".join(f"<tr><td>{_e(c['at'])}</td><td>{_e(c['command'])}</td>"
                       f"<td>{_e(c.get('page', ''))}</td><td>{_e(c.get('error', c.get('reason', '')))}</td></tr>"
                       for c in card["commands"])
    events = []
    for e in result.events.events:
        details = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "kind"))
        cls = " class='cmd'" if e["kind"] == "command" else " class='inj'" if e["kind"] == "inject" else ""
        events.append(f"<tr{cls}><td>{clock(e['t'])}</td><td>{_e(e['kind'])}</td><td>{_e(details)}</td></tr>")
    score = "NOT SCORED (nothing applicable)" if card["score"] is None else \
        f"score {card['score']:g} / 100 — {'PASSED' if card['passed'] else 'NOT PASSED'} (pass mark {card['pass_mark']:g})"
    early = ""
    if card.get("ended_early"):
        e = card["ended_early"]
        early = (f"<p class='early'>ENDED EARLY at {clock(e['at_s'])} of {clock(e['duration_s'])}: "
                 f"{_e(e['reason'])} — expectations due later were not played out.</p>")
    where = f"<p>run directory: <code>{_e(directory)}</code></p>" if directory else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Debrief — {_e(card['drill'])}</title>
<link rel="stylesheet" href="/static/station.css"></head>
<body class="debrief"><h1>Debrief — {_e(card['drill'])}</h1>
<p class="verdict">{_e(score)}</p>{early}{where}
<img src="/debrief/pressures.png" alt="pressures with deadlines, injects and trainee commands" width="1100">
<h2>Expectations</h2>
<table><tr><th>expectation</th><th>weight</th><th>result</th><th>detail / why</th><th>trainee commands</th></tr>
{''.join(rows)}</table>
<h2>Injects</h2>
<table><tr><th>inject</th><th>fault</th><th>trigger</th><th>fired</th><th>note</th></tr>{injects}</table>
<h2>Commands</h2>
<table><tr><th>time</th><th>command</th><th>page</th><th>refused / reason</th></tr>{commands}</table>
<h2>Timeline</h2>
<table class="timeline"><tr><th>time</th><th>event</th><th>details</th></tr>{''.join(events)}</table>
</body></html>
"""
