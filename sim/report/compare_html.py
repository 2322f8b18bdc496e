"""A self-contained HTML comparison of two or more runs: milestones, checks, overlaid plots.

Like the run report (:mod:`sim.report.html`), the page needs nothing beside it: the plot is an
embedded PNG, every piece of text from the runs is HTML-escaped.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

from sim.compare import compartment_groups
from sim.paths import atomic_write
from sim.report.html import CSS, embedded_png, html_table
from sim.report.plots import plot_overlay
from sim.results.milestones import shelter_of
from sim.units import time_text

__all__ = ["render_comparison_html", "write_comparison"]


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _value_headers(labels: list[str]) -> list[str]:
    out = [labels[0]]
    for lab in labels[1:]:
        out += [lab, f"{lab} − {labels[0]}"]
    return out


def _value_cells(row: dict) -> list[str]:
    cells = [row["text"][0]]
    for text, delta in zip(row["text"][1:], row["deltas"][1:], strict=True):
        cells += [text, delta or ""]
    return cells


def render_comparison_html(cmp: dict[str, Any], plot: Path | None) -> str:
    """The comparison page for a :func:`sim.compare.compare_runs` result and its overlay PNG."""
    labels = [r["label"] for r in cmp["runs"]]
    title = "Safehaven comparison: " + ", ".join(labels)
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
             f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1>"]
    rows = [[r["label"], r["scenario"], r["seed"], r["status"], r["outcome"],
             {True: "all pass", False: "FAILED", None: "-"}[r["checks_passed"]], "; ".join(r["overrides"]) or "-"]
            for r in cmp["runs"]]
    parts.append("<h2>Runs</h2>" + html_table(["run", "scenario", "seed", "status", "outcome", "checks", "overrides"],
                                              rows))
    shown = [m for m in cmp["milestones"] if m["core"] or m["differs"]]
    numeric = set(range(1, 2 * len(labels)))
    parts.append(f"<h2>Milestones</h2><p class=\"muted\">Differences against {_e(labels[0])}; "
                 f"* marks a milestone that differs. Times are HH:MM:SS since the start.</p>")
    parts.append(html_table(["milestone", *_value_headers(labels)],
                            [[("* " if m["differs"] else "") + m["label"], *_value_cells(m)] for m in shown], numeric))
    notes = sorted({n for m in shown for n in m["notes"] if n})
    if notes:
        parts.append(f"<p class=\"muted\">{_e('; '.join(notes))}</p>")
    same = [m["label"] for m in cmp["milestones"] if not (m["core"] or m["differs"])]
    if same:
        parts.append(f"<p class=\"muted\">The same in every run: {_e(', '.join(same))}.</p>")
    comp_rows = [[", ".join(names), *_value_cells(c["p_min_Pa"]), *c["reserve_floor_t_s"]["text"]]
                 for names, c in compartment_groups(cmp)]
    if comp_rows:
        parts.append("<h2>Lowest pressure per compartment, where it differs</h2>" + html_table(
            ["compartments", *_value_headers(labels), *[f"{lab}: reserve floor crossed" for lab in labels]],
            comp_rows, set(range(1, 3 * len(labels)))))
    if cmp["checks"]:
        header = ["check"]
        for lab in labels:
            header += [lab, f"{lab} margin"]
        check_rows = []
        for name, c in cmp["checks"].items():
            row = [("* " if c["differs"] else "") + name]
            for passed, margin in zip(c["passed"], c["margin_text"], strict=True):
                row += [{True: "pass", False: "FAIL", None: "-"}[passed], margin]
            check_rows.append(row)
        parts.append("<h2>Checks</h2><p class=\"muted\">margin: time to spare, or pressure above the limit</p>"
                     + html_table(header, check_rows))
    parts.append("<h2>Where the timelines part</h2><ul>")
    for d in cmp["divergence"]:
        if d["same_story"]:
            amounts = f" Only amounts differ: {', '.join(d['amounts_differ'])}." if d["amounts_differ"] else ""
            parts.append(f"<li>{_e(labels[0])} and {_e(d['label'])}: the same events in the same order at the "
                         f"same times.{_e(amounts)}</li>")
        else:
            parts.append(f"<li>{_e(labels[0])} and {_e(d['label'])} part at {_e(time_text(d['t_s']))}: "
                         f"<code>{_e(_event(d['a']))}</code> vs <code>{_e(_event(d['b']))}</code></li>")
    parts.append("</ul>")
    if plot is not None:
        parts.append("<h2>Overlaid</h2>" + embedded_png(plot, "the runs overlaid"))
    parts.append("</body></html>\n")
    return "".join(parts)


def _event(e: dict | None) -> str:
    if e is None:
        return "(no more events)"
    details = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "kind"))
    return f"{time_text(e['t'])} {e['kind']} {details}".rstrip()


def write_comparison(records: list, cmp: dict[str, Any], html_path: str | Path, sections: tuple[str, ...] = ()) -> Path:
    """Draw the overlay of *records* and write the comparison page to *html_path*; returns it.

    *sections*: extra HTML sections put before the end of the page (drill runs' scorecards side by side).
    """
    labels = [r["label"] for r in cmp["runs"]]
    shelters = [shelter_of(r.summary, list(getattr(r.events, "events", r.events))) for r in records]
    with tempfile.TemporaryDirectory(prefix="safehaven-compare-") as tmp:
        plot = None
        if all(len(r.series.t) for r in records):
            plot = plot_overlay(records, labels, Path(tmp) / "overlay.png", shelters)
        text = render_comparison_html(cmp, plot)
    if sections:
        text = text.replace("</body></html>\n", "".join(sections) + "</body></html>\n")
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(html_path, text)
