"""The ``estimate`` and ``hunt`` commands of ``safehaven``: the leak hunt (docs/leak-hunt.md).

:func:`add_leakhunt_parsers` adds them to the main parser's subparsers; each handler takes the
parsed arguments and returns the exit code (0 done, 2 bad input).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from sim.errors import InputError, Problem, UsageError
from sim.paths import check_output, replace_directory, temporary_directory

__all__ = ["add_leakhunt_parsers", "run_estimate"]

EXIT_OK, EXIT_INPUT = 0, 2


def add_leakhunt_parsers(subparsers) -> None:
    """Add ``estimate`` (and ``hunt``) to *subparsers*."""
    e = subparsers.add_parser("estimate", help="estimate a leak (size, place, reserve time) from a pressure record")
    e.add_argument("record", type=Path, help="a record file (safehaven schema record)")
    e.add_argument("--out", type=Path, help="output directory (default: estimates/RECORD-NAME)")
    e.add_argument("--force", action="store_true", help="replace an existing output directory")
    e.add_argument("--json", action="store_true", help="print estimate.json instead of the summary")
    e.set_defaults(handler=run_estimate)


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _clean(value):
    """estimate.json without infinities (JSON has none): an unbounded reserve is written as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def run_estimate(args) -> int:
    """``safehaven estimate RECORD [--out DIR] [--json]``."""
    from sim.leakhunt.estimate import UnusableRecord, estimate
    from sim.report.leakhunt_plots import plot_fit, plot_posterior
    from sim.scenario.record_load import load_record

    out = args.out if args.out is not None else Path("estimates") / args.record.stem
    check_output(out, inputs=[args.record])
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; choose another --out or pass --force to replace it")
    record = load_record(args.record)
    try:
        result = estimate(record)
    except UnusableRecord as exc:
        raise InputError(Problem(str(args.record), 0, "", str(exc))) from None
    report = _clean(result.report)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_directory(out)
    try:
        (tmp / "estimate.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                           encoding="utf-8")
        plot_fit(result, tmp / "fit.png")
        plot_posterior(result, tmp / "posterior.png")
        replace_directory(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        render_estimate(_console(), report, out)
    return EXIT_OK


def _dur(seconds) -> str:
    if seconds is None:
        return "unbounded"
    if seconds >= 365.25 * 86400:
        return f"{seconds / (365.25 * 86400):.3g} years"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} h"


def render_estimate(console, rep: dict, out: Path | None) -> None:
    """The terminal summary of an estimate."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(rep['record'])}[/bold]  ({escape(rep['station'])}, {rep['duration_s'] / 3600:.2f} h)")
    t = Table(title="where is the leak?", show_edge=False)
    t.add_column("compartment")
    t.add_column("probability", justify="right")
    unseen = {s for g in rep["groups"] if not g["observed"] for s in g["sites"]}
    for name, p in list(rep["site_probability"].items())[:8]:
        t.add_row(escape(name), f"{p:.3f}" + (" (no gauge sees it)" if name in unseen else ""))
    if len(rep["site_probability"]) > 8:
        t.add_row("…", f"{sum(list(rep['site_probability'].values())[8:]):.3f} (the rest)")
    console.print(t)
    c, r, d, tr = rep["cda"], rep["rate_at_end"], rep["hole_diameter_mm"], rep["treserve_s"]
    s = Table(title=f"the leak, if in {rep['most_probable']}", show_edge=False)
    s.add_column("quantity")
    s.add_column("median", justify="right")
    s.add_column(f"95 % interval ({c['interval']})", justify="right")
    s.add_row(escape("Cd·A [mm²]"), f"{c['median_mm2']:.4g}", f"{c['interval_mm2'][0]:.4g} – {c['interval_mm2'][1]:.4g}")
    s.add_row(escape("rate at the end [lb/day]"), f"{r['lb_per_day'][0]:.4g}", f"{r['lb_per_day'][1]:.4g} – {r['lb_per_day'][2]:.4g}")
    s.add_row(escape("rate at the end [kg/day]"), f"{r['kg_per_day'][0]:.4g}", f"{r['kg_per_day'][1]:.4g} – {r['kg_per_day'][2]:.4g}")
    s.add_row(escape(f"equivalent hole diameter [mm] (Cd {d['cd']:g})"), f"{d['median']:.3g}",
              f"{d['interval'][0]:.3g} – {d['interval'][1]:.3g}")
    s.add_row(f"Treserve to {tr['floor_Pa'] / 133.322:.0f} mmHg ({tr['zone_volume_m3']:.4g} m³ zone)",
              _dur(tr["median"]), f"{_dur(tr['interval'][0])} – {_dur(tr['interval'][1])}")
    console.print(s)
    for g in rep["gauges"]:
        what = "ppN2" if g["reads"] == "N2" else "total"
        console.print(escape(f"gauge {g['id']} ({what} in {g['at']}): {g['readings_used']} readings, step "
                      f"{g['resolution_mmHg']:g} mmHg, noise {g['noise_Pa'] / 133.322:.3g} mmHg ({g['noise']}), "
                      f"temperature log: {g['temperature_log'] or 'none'}"))
    for line in rep["statements"]:
        console.print(f"• {escape(line)}")
    for line in rep["notes"]:
        console.print(f"[dim]note: {escape(line)}[/dim]")
    if out is not None:
        console.print(escape(f"written: {out}/estimate.json, fit.png, posterior.png"))
