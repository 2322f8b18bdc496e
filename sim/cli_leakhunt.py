"""The ``estimate`` and ``hunt`` commands of ``safehaven``: the leak hunt (docs/leak-hunt.md).

:func:`add_leakhunt_parsers` adds them to the main parser's subparsers; each handler takes the
parsed arguments and returns the exit code (0 done, 2 bad input).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from sim.cli_common import EXIT_OK, console
from sim.errors import InputError, Problem, UsageError
from sim.paths import check_output, replace_directory, temporary_directory

# The handlers import their machinery when they run (start-up cost: `safehaven` imports this module to
# build its parser for every command).

__all__ = ["add_leakhunt_parsers", "run_estimate", "run_hunt"]



def add_leakhunt_parsers(subparsers) -> None:
    """Add ``estimate`` (and ``hunt``) to *subparsers*."""
    e = subparsers.add_parser("estimate", help="estimate a leak (size, place, reserve time) from a pressure record")
    e.add_argument("record", type=Path, help="a record file (safehaven schema record)")
    e.add_argument("--out", type=Path, help="output directory (default: estimates/RECORD-NAME)")
    e.add_argument("--force", action="store_true", help="replace an existing output directory")
    e.add_argument("--json", action="store_true", help="print estimate.json instead of the summary")
    e.set_defaults(handler=run_estimate)

    h = subparsers.add_parser("hunt", help="plan a hatch-closure search for a leak and compare strategies")
    h.add_argument("hunt", type=Path, help="a hunt file (safehaven schema hunt)")
    h.add_argument("--out", type=Path, help="output directory (default: hunts/HUNT-NAME)")
    h.add_argument("--force", action="store_true", help="replace an existing output directory")
    h.add_argument("--verify", action="store_true",
                   help="run the written plan with the engine for a leak in every candidate (at 1x, 0.5x and 2x the rate)")
    h.add_argument("--json", action="store_true", help="print plan.json instead of the summary")
    h.set_defaults(handler=run_hunt)


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
        render_estimate(console(), report, out)
    return EXIT_OK


def _dur(seconds) -> str:
    if seconds is None:
        return "unbounded"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
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
    where = rep["numbers_for"]
    place = where[0] if len(where) == 1 else f"{where[0]} or the {len(where) - 1} compartments sharing its zone"
    s = Table(title=escape(f"the leak, if in {place}"), show_edge=False)
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


def run_hunt(args) -> int:
    """``safehaven hunt HUNT [--out DIR] [--verify] [--json]``."""
    import os

    from sim.leakhunt.plan import (
        STRATEGIES,
        Unsplittable,
        air_lost,
        crew_hours,
        farthest_candidate,
        plan_hunt,
        windows_table,
    )
    from sim.leakhunt.procedure_writer import plan_procedure, plan_scenario
    from sim.scenario.hunt_load import load_hunt

    out = args.out if args.out is not None else Path("hunts") / args.hunt.stem
    check_output(out, inputs=[args.hunt])
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; choose another --out or pass --force to replace it")
    lh = load_hunt(args.hunt)
    h = lh.hunt
    plans, rows = {}, []
    for strategy in STRATEGIES:
        try:
            plan = plan_hunt(lh.station, lh.prior, h.leak.rate, h.gauge.resolution, h.gauge.noise, h.confidence,
                             h.crew.at, strategy, h.min_treserve, h.crew.count)
        except Unsplittable as exc:
            raise InputError(Problem(str(args.hunt), 0, "", str(exc))) from None
        plans[strategy] = plan
        ch, ah = crew_hours(plan, h.crew.count), air_lost(plan, h.leak.rate)
        rows.append({"strategy": strategy, "expected_s": plan.expected_time(), "worst_s": plan.worst_time(),
                     "expected_steps": sum(plan.prior[s] * plan.steps[s] for s in plan.prior if plan.prior[s] > 0),
                     "worst_steps": max(plan.steps[s] for s in plan.prior if plan.prior[s] > 0),
                     "crew_hours_expected": ch[0], "crew_hours_worst": ch[1],
                     "air_lost_kg_expected": ah[0], "air_lost_kg_worst": ah[1],
                     "feasible": plan.feasible, "violations": plan.violations})
    if h.strategy == "auto":
        ok = [r for r in rows if r["feasible"]] or rows
        chosen = min(ok, key=lambda r: (r["expected_s"], r["worst_s"]))["strategy"]
    else:
        chosen = h.strategy
    plan = plans[chosen]
    site0 = farthest_candidate(lh.station, plan, h.crew.at)
    report = {
        "hunt": h.name, "station": lh.station.name, "rate_kg_per_day": h.leak.rate * 86400,
        "rate_lb_per_day": h.leak.rate * 86400 / 0.45359237, "confidence": h.confidence,
        "gauge": {"resolution_Pa": h.gauge.resolution, "noise_Pa": h.gauge.noise},
        "detect_drop_Pa": plan.threshold_pa, "crew_at": h.crew.at, "prior": lh.prior,
        "strategies": rows, "chosen": chosen, "not_searched": plan.excluded,
        "prior_searched": plan.prior, "claimed_time_s": plan.times, "claimed_steps": plan.steps, "steps": windows_table(plan),
        "files": {"procedure": "procedure.yaml", "scenario": "scenario.yaml"},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_directory(out)
    try:
        (tmp / "procedure.yaml").write_text(plan_procedure(plan, h.gauge.resolution, h.gauge.noise,
                                                           f"Leak hunt: {h.name}"), encoding="utf-8")
        station_ref = os.path.relpath(lh.station_path.resolve(), out.resolve())
        (tmp / "scenario.yaml").write_text(plan_scenario(station_ref, plan, h.leak.rate, h.crew.at, h.crew.count,
                                                         site0), encoding="utf-8")
        if args.verify:
            from sim.leakhunt.verify import verify_plan

            # the scenario names its station relative to the output directory: run it from a copy there
            staged = out.parent / f".{out.name}.verify.yaml"
            text = (tmp / "scenario.yaml").read_text(encoding="utf-8")
            staged.write_text(text.replace(f"station: {station_ref}", f"station: {os.path.relpath(lh.station_path.resolve(), out.parent.resolve())}")
                              .replace("procedure: procedure.yaml", f"procedure: {tmp.name}/procedure.yaml"),
                              encoding="utf-8")
            try:
                runs = verify_plan(staged, [c for c in plan.prior if plan.prior[c] > 0], h.leak.rate, (1.0, 0.5, 2.0))
            finally:
                staged.unlink(missing_ok=True)
            for r in runs:
                r["claimed_s"] = plan.times[r["site"]] if r["rate_factor"] == 1.0 else None
            report["verify"] = _verify_summary(runs, plan)
        (tmp / "plan.json").write_text(json.dumps(_clean(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                       encoding="utf-8")
        replace_directory(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if args.json:
        print(json.dumps(_clean(report), indent=2, ensure_ascii=False))
    else:
        render_hunt(console(), report, out)
    return EXIT_OK


def _verify_summary(runs: list[dict], plan) -> dict:
    at1 = [r for r in runs if r["rate_factor"] == 1.0]
    diffs = [abs(r["time_s"] - r["claimed_s"]) for r in at1 if r["correct"] and r["time_s"] is not None]
    by_factor = {}
    for f in sorted({r["rate_factor"] for r in runs}):
        sel = [r for r in runs if r["rate_factor"] == f]
        ok = [r for r in sel if r["correct"]]
        by_factor[f"{f:g}"] = {"runs": len(sel), "correct": len(ok),
                                "expected_s": (sum(plan.prior[r["site"]] * r["time_s"] for r in ok)
                                               / sum(plan.prior[r["site"]] for r in ok)) if ok else None,
                                "worst_s": max((r["time_s"] for r in ok), default=None)}
    return {"runs": runs, "by_rate_factor": by_factor,
            "max_abs_difference_s": max(diffs, default=None),
            "max_relative_difference": max((abs(r["time_s"] - r["claimed_s"]) / r["claimed_s"] for r in at1
                                            if r["correct"] and r["claimed_s"]), default=None)}


def render_hunt(console, rep: dict, out: Path | None) -> None:
    """The terminal summary of a hunt plan."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(rep['hunt'])}[/bold]  ({escape(rep['station'])}; a leak of "
                  f"{rep['rate_lb_per_day']:.3g} lb/day, a drop of {rep['detect_drop_Pa'] / 133.322:.3g} mmHg to see it, "
                  f"crew in {escape(rep['crew_at'])})")
    t = Table(title="strategies on the same prior", show_edge=False)
    for col in ("strategy", "expected time", "worst time", "steps (exp./worst)", "crew hours (exp./worst)",
                "air lost kg (exp./worst)", "constraints"):
        t.add_column(col, justify="left" if col in ("strategy", "constraints") else "right")
    for r in rep["strategies"]:
        mark = " (chosen)" if r["strategy"] == rep["chosen"] else ""
        t.add_row(r["strategy"] + mark, _dur(r["expected_s"]), _dur(r["worst_s"]),
                  f"{r['expected_steps']:.2f} / {r['worst_steps']}",
                  f"{r['crew_hours_expected']:.1f} / {r['crew_hours_worst']:.1f}",
                  f"{r['air_lost_kg_expected']:.3g} / {r['air_lost_kg_worst']:.3g}",
                  "met" if r["feasible"] else escape("; ".join(r["violations"])[:120]))
    console.print(t)
    s = Table(title=f"the {rep['chosen']} plan", show_edge=False)
    s.add_column("step")
    s.add_column("close")
    s.add_column("measure (window)")
    s.add_column("step time", justify="right")
    for st in rep["steps"][:12]:
        s.add_row(st["step"], escape(", ".join(st["close"]) if len(st["close"]) <= 3 else f"{len(st['close'])} hatches"),
                  escape(", ".join(f"{m['of']} ({_dur(m['window_s'])})" for m in st["measure"][:3])
                         + (" ..." if len(st["measure"]) > 3 else "")),
                  _dur(st["duration_s"]))
    if len(rep["steps"]) > 12:
        s.add_row("…", f"{len(rep['steps']) - 12} more steps", "", "")
    console.print(s)
    if "verify" in rep:
        v = rep["verify"]
        for f, row in v["by_rate_factor"].items():
            console.print(f"verified at {f}x the rate: {row['correct']} of {row['runs']} leaks located in the right "
                          f"compartment; expected {_dur(row['expected_s'])}, worst {_dur(row['worst_s'])}")
        if v["max_abs_difference_s"] is not None:
            console.print(f"measured against claimed time at 1x: at most {v['max_abs_difference_s']:.0f} s apart "
                          f"({100 * v['max_relative_difference']:.2f} %)")
    if rep["not_searched"]:
        console.print(escape(f"not searched (behind hatches closed already; read their gauges directly): "
                             f"{', '.join(rep['not_searched'])}"))
    if out is not None:
        console.print(escape(f"written: {out}/plan.json, procedure.yaml, scenario.yaml"))
