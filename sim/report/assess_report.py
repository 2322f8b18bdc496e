"""The pictures and the page of ``safehaven assess``: a compartment x hole heat map of verdicts, and
a self-contained one-page HTML report (the map embedded, a table of every case), weakest first."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

__all__ = ["heatmap", "html_page", "short_time"]

COLOURS = {"safe": "#4c9a56", "undetected": "#5b7fa6", "marginal": "#e0a526", "lost": "#c0392b"}


def short_time(seconds: float | None) -> str:
    """A duration [s] in the largest fitting unit (``1.6 h``, ``6.1 min``), ``never`` for None."""
    if seconds is None:
        return "never"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def heatmap(assessment, path: str | Path) -> Path:
    """Verdict per compartment (rows, weakest at the top) and hole (columns); each cell shows the
    Treserve at the hole's opening and the time the leak was isolated."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from sim.text import literal_figure

    comps, holes = assessment.compartments, assessment.holes
    order = ["lost", "marginal", "undetected", "safe"]
    grid = np.array([[order.index(assessment.case(c, h).verdict) for h in holes] for c in comps], dtype=float)
    fig = Figure(figsize=(1.9 + 1.55 * len(holes), 1.3 + 0.42 * len(comps)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(grid, cmap=ListedColormap([COLOURS[v] for v in order]), vmin=-0.5, vmax=3.5, aspect="auto")
    for i, c in enumerate(comps):
        for j, h in enumerate(holes):
            case = assessment.case(c, h)
            ax.text(j, i, f"T {short_time(case.treserve_s)}\niso {short_time(case.isolated_s)}", ha="center", va="center",
                    fontsize=7, color="white" if case.verdict != "marginal" else "black")
    ax.set_xticks(range(len(holes)), holes)
    ax.set_yticks(range(len(comps)), comps)
    ax.set_xlabel("hole diameter")
    ax.set_ylabel("compartment holed (weakest first)")
    ax.legend(handles=[Patch(color=COLOURS[v], label=v) for v in ("safe", "undetected", "marginal", "lost")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.set_title(f"{Path(assessment.station).stem}: response {assessment.response}\n"
                 f"T = Treserve at the hole, iso = time to isolate", fontsize="medium")
    literal_figure(fig)
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def html_page(assessment, png: str | Path) -> str:
    """One self-contained page: what was assessed, the heat map, the weakest compartments, every case."""
    e = html.escape
    image = base64.b64encode(Path(png).read_bytes()).decode()
    worst = [c for c in assessment.compartments
             if any(assessment.case(c, h).verdict in ("lost", "marginal") for h in assessment.holes)]
    rows = []
    for comp in assessment.compartments:
        for hole in assessment.holes:
            c = assessment.case(comp, hole)
            closed = ", ".join(f"{h['hatch']} ({short_time(h['closed_s'])})" for h in c.hatches) or "-"
            rows.append(
                f"<tr class='{c.verdict}'><td>{e(comp)}</td><td>{e(hole)}</td><td>{e(c.verdict)}</td>"
                f"<td>{short_time(c.treserve_s)}</td><td>{short_time(c.isolated_s)}</td>"
                f"<td>{'n/a' if c.sheltered is None else ('yes' if c.sheltered else 'NO')}</td>"
                f"<td>{short_time(c.floor_s) if c.floor_s is not None else 'no'}</td>"
                f"<td>{c.air_lost_kg:.1f} kg</td>"
                f"<td>{e(closed)}</td></tr>")
    crew = f"{assessment.crew} crew" if assessment.crew else "no crew (atmosphere only)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Safe-haven assessment: {e(Path(assessment.station).stem)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; max-width: 70em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: left; }}
tr.safe td:nth-child(3) {{ background: {COLOURS['safe']}; color: white; }}
tr.marginal td:nth-child(3) {{ background: {COLOURS['marginal']}; }}
tr.undetected td:nth-child(3) {{ background: {COLOURS['undetected']}; color: white; }}
tr.lost td:nth-child(3) {{ background: {COLOURS['lost']}; color: white; }}
</style></head><body>
<h1>Safe-haven assessment: {e(Path(assessment.station).stem)}</h1>
<p>{len(assessment.compartments)} compartments &times; {len(assessment.holes)} hole sizes ({e(', '.join(assessment.holes))}),
{crew}, every hatch open, the hole opening after a minute; response: <b>{e(assessment.response)}</b>;
reserve floor {assessment.floor_Pa / 133.322:.0f} mmHg; each case runs {short_time(assessment.duration_s)}.</p>
<p><b>Weakest compartments</b> (a case lost or marginal): {e(', '.join(worst)) or 'none'}.</p>
<img src="data:image/png;base64,{image}" alt="verdict per compartment and hole size">
<h2>Every case</h2>
<p>Treserve: the reserve time at the hole's opening (closed form of the connected volume). Isolated: time from
the hole until the leak was cut off from the crew. Floor: time until a compartment outside the isolated zone fell
below the reserve floor. Hatches: those whose closing isolated the leak, with their times.</p>
<table><tr><th>compartment</th><th>hole</th><th>verdict</th><th>Treserve</th><th>isolated after</th>
<th>crew sheltered</th><th>rest below floor</th><th>air lost</th><th>hatches that mattered</th></tr>
{''.join(rows)}
</table></body></html>
"""
