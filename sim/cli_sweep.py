"""``safehaven sweep``: many runs over a design, resumable, local or on a Dask cluster.

Forms::

    safehaven sweep SCENARIO --vary PATH=SPEC ... --out DIR [--design grid|random|lhs|sobol] [--n N]
                    [--replicates R] [--seed S] [--chunk-size K] [--workers W]
                    [--executor serial|process] [--dask local|ADDRESS] [--file SWEEP.yaml]
    safehaven sweep resume DIR [--workers W] [--executor ...] [--dask ...]
    safehaven sweep rerun DIR RUN_ID --out RUNDIR [--force]
    safehaven sweep plot DIR [--out FOLDER] [--metric COLUMN]
    safehaven sweep analyze DIR --metric COLUMN [--failed refuse|conditional] [--out FOLDER]

A sweep file (``--file``) holds the same settings as YAML: ``scenario`` (relative to the file),
``vary`` (a mapping PATH: SPEC), ``design``, ``n``, ``replicates``, ``seed``, ``out``,
``chunk_size``, ``workers``, ``executor``, ``dask``; options on the command line win, and a
``--vary`` of the same PATH replaces the file's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.cli_common import command_alone, console
from sim.cli_values import MAX_WORKERS, check_setting, count, seed
from sim.errors import InputError, Problem, UsageError

# The handlers import their machinery when they run (start-up cost: `safehaven` imports this module to
# build its parser for every command).

__all__ = ["add_sweep_parser", "main", "run_sweep_command"]

_SUB = ("resume", "rerun", "plot", "analyze")
_N = count(1, None, "--n")  # the size of the whole design is bounded by sim.sweep.design.MAX_RUNS
_REPLICATES = count(1, None, "--replicates")
_CHUNK = count(1, 1_000_000, "--chunk-size")
_WORKERS = count(1, MAX_WORKERS, "--workers")
# the sweep file's settings, checked as their options are (a file is read before anything is written)
_FILE_TYPES = {"n": _N, "replicates": _REPLICATES, "seed": seed, "chunk_size": _CHUNK, "workers": _WORKERS}
_ENGINES = ("auto", "batch", "single")  # sim.sweep.runner.ENGINES (not imported: start-up cost)
_FILE_CHOICES = {"design": ("grid", "random", "lhs", "sobol", "saltelli", "morris"),
                 "executor": ("serial", "process"), "engine": _ENGINES}
_FILE_KEYS = {"scenario", "vary", "design", "n", "replicates", "seed", "crn", "out", "chunk_size", "workers",
              "executor", "dask", "engine"}


def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to *subparsers* (of ``safehaven``'s parser); returns its parser."""
    p = subparsers.add_parser(
        "sweep", help="many runs over a design of parameter values; batch mode for atmosphere-only "
                      "leak-size sweeps (--engine); resume, rerun, plot, analyze",
        description="safehaven sweep SCENARIO --vary PATH=SPEC ... --out DIR | sweep resume DIR | "
                    "sweep rerun DIR RUN_ID --out RUNDIR | sweep plot DIR | sweep analyze DIR --metric COLUMN")
    p.add_argument("words", nargs="*", metavar="SCENARIO | resume DIR | rerun DIR RUN_ID | plot DIR | analyze DIR",
                   help="a scenario file to sweep, or a sub-command and its sweep directory")
    p.add_argument("--vary", action="append", default=[], metavar="PATH=SPEC",
                   help="a varied field: [a, b] UNIT, lin(lo, hi, count) UNIT, log(lo, hi, count) UNIT, "
                        "uniform/loguniform(lo, hi) UNIT, normal/lognormal(a, b) UNIT, triangular(lo, mode, hi) UNIT")
    p.add_argument("--out", type=Path, help="the sweep directory (rerun: the run directory; plot: a folder)")
    p.add_argument("--design", choices=["grid", "random", "lhs", "sobol", "saltelli", "morris"],
                   help="default grid; saltelli and morris are for `sweep analyze`")
    p.add_argument("--n", type=_N, help="points of a random, lhs or sobol design (a larger N grows a "
                   "stored sweep); base samples of saltelli, trajectories of morris")
    p.add_argument("--replicates", type=_REPLICATES, help="runs per point, each with its own seed (default 1)")
    p.add_argument("--seed", type=seed, help="root seed (default: the scenario's seed)")
    p.add_argument("--crn", action="store_true", help="common random numbers: replicate i of every point "
                   "uses the same seed")
    p.add_argument("--retry-failed", action="store_true", help="resume: run the failed runs again too")
    # 8,192 is sim.sweep.runner.BATCH_CHUNK, not imported here for start-up cost (tests/test_cli_basic.py checks it)
    p.add_argument("--chunk-size", type=_CHUNK, help="runs per task (default: sized to last ~5 s; in batch mode "
                   "two chunks per worker, at most 8,192 runs each; batch mode also runs each chunk's first "
                   "run alone to check it)")
    p.add_argument("--workers", type=_WORKERS, help="local worker processes (default: one per core)")
    p.add_argument("--executor", choices=["serial", "process"], help="default process")
    p.add_argument("--engine", choices=_ENGINES, help="auto (default): batch mode, the runs integrated together "
                   "in arrays, where it reproduces the ordinary runs (atmosphere-only scenarios varying "
                   "leak sizes); single: every run alone; batch: batch mode or an error saying why not")
    p.add_argument("--dask", metavar="local|ADDRESS", help="run on Dask: 'local' (a LocalCluster), "
                   "tcp://host:8786, or a scheduler file")
    p.add_argument("--file", type=Path, help="a sweep file (YAML) with the same settings")
    p.add_argument("--force", action="store_true", help="replace a different sweep (or run directory)")
    p.add_argument("--metric", help="plot: the column of the heat map (default checks_passed); analyze: the "
                   "column analysed (a number, a pass/fail, or COLUMN=VALUE for text such as outcome=evacuated)")
    p.add_argument("--failed", choices=["refuse", "conditional"], default=None,
                   help="analyze: with failed or missing runs, refuse (default) or analyse the metric "
                        "conditional on success (whole Saltelli blocks / Morris trajectories only)")
    p.add_argument("--resamples", type=int, help="analyze: bootstrap resamples of the intervals (default 1000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    p.add_argument("--json", action="store_true", help="print a JSON report instead of tables")
    p.set_defaults(handler=run_sweep_command)
    return p


def _read_file(path: Path) -> dict:
    from sim.scenario.yamlio import load_yaml

    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError(Problem(doc.file, 1, "", "expected a mapping of sweep settings"))
    problems = [doc.problem((k,), f"unknown key '{k}'; expected one of {', '.join(sorted(_FILE_KEYS))}")
                for k in doc.data if k not in _FILE_KEYS]
    if "vary" in doc.data and not isinstance(doc.data["vary"], dict):
        problems.append(doc.problem(("vary",), "expected a mapping PATH: SPEC"))
    for key, parse in _FILE_TYPES.items():
        if doc.data.get(key) is not None:
            try:
                doc.data[key] = check_setting(parse, doc.data[key], key)
            except ValueError as exc:
                problems.append(doc.problem((key,), str(exc).split(": ", 1)[1]))
    for key, choices in _FILE_CHOICES.items():
        if doc.data.get(key) is not None and doc.data[key] not in choices:
            problems.append(doc.problem((key,), f"expected one of {', '.join(choices)}, got {str(doc.data[key])[:40]!r}"))
    for key in ("scenario", "out", "dask"):
        if doc.data.get(key) is not None and not isinstance(doc.data[key], str):
            problems.append(doc.problem((key,), "expected a path or address (text)"))
    if problems:
        raise InputError(problems)
    settings = dict(doc.data)
    base = path.parent
    if "scenario" in settings:
        settings["scenario"] = base / str(settings["scenario"])
    if "out" in settings:
        settings["out"] = base / str(settings["out"])
    try:
        from sim.sweep.design import spec_from_value

        settings["vary"] = [spec_from_value(str(k), v) for k, v in (settings.get("vary") or {}).items()]
    except UsageError as exc:
        raise InputError(doc.problem(("vary",), str(exc))) from None
    return settings


def run_sweep_command(args: argparse.Namespace) -> int:
    """Carry out ``safehaven sweep ...``; returns the exit code (0 done, 1 some runs failed)."""
    words = list(args.words)
    try:
        if words and words[0] in _SUB:
            return {"resume": _resume, "rerun": _rerun, "plot": _plot, "analyze": _analyze}[words[0]](args, words[1:])
        return _start(args, words)
    except KeyboardInterrupt:
        where = words[1] if words[:1] == ["resume"] and len(words) > 1 else (
            args.out if not (words and words[0] in _SUB) else None)
        if where is not None:
            _interrupted(where)
        else:
            print("safehaven: interrupted", file=sys.stderr)
        return 130


def _executor_options(args, settings: dict | None = None) -> dict:
    s = settings or {}
    dask = args.dask if args.dask is not None else s.get("dask")
    executor = args.executor or s.get("executor") or "process"
    if dask is not None and args.executor is not None:
        raise UsageError("give --executor or --dask, not both")
    return {"executor": executor, "workers": args.workers if args.workers is not None else s.get("workers"),
            "engine": args.engine or s.get("engine") or "auto",
            "dask": dask, "chunk_size": args.chunk_size if args.chunk_size is not None else s.get("chunk_size"),
            "progress": not args.quiet and not args.json}


def _start(args, words: list[str]) -> int:
    from sim.sweep.design import parse_vary
    from sim.sweep.runner import run_sweep

    settings = _read_file(args.file) if args.file else {}
    if len(words) > 1:
        raise UsageError(f"sweep takes one scenario, got {len(words)}: {' '.join(words)}")
    scenario = Path(words[0]) if words else settings.get("scenario")
    if scenario is None:
        raise UsageError("sweep needs a SCENARIO (or a --file naming one)")
    specs = {s.path: s for s in settings.get("vary", [])}
    for text in args.vary:
        spec = parse_vary(text)
        specs[spec.path] = spec
    out = args.out or settings.get("out")
    if out is None:
        raise UsageError("sweep needs --out DIR")
    design = args.design or settings.get("design") or "grid"
    n = args.n if args.n is not None else settings.get("n")
    if design == "sobol" and n is not None and n & (n - 1):
        print(f"note: a Sobol design is balanced when --n is a power of two; {n} is not", file=sys.stderr)
    report = run_sweep(
        scenario, list(specs.values()), out, design=design, n=n,
        replicates=args.replicates if args.replicates is not None else settings.get("replicates", 1),
        seed=args.seed if args.seed is not None else settings.get("seed"),
        crn=bool(args.crn or settings.get("crn", False)),
        force=args.force, **_executor_options(args, settings))
    return _finish(args, report)


def _resume(args, words: list[str]) -> int:
    from sim.sweep.runner import resume_sweep

    if len(words) != 1:
        raise UsageError("usage: safehaven sweep resume DIR")
    if (args.vary or args.design or args.n is not None or args.replicates is not None or args.seed is not None
            or args.file or args.crn):
        raise UsageError("resume takes the design stored in DIR; --vary, --design, --n, --replicates, "
                         "--seed, --crn and --file are not accepted (to grow a sampled sweep, run the "
                         "sweep command again with a larger --n)")
    return _finish(args, resume_sweep(words[0], retry_failed=args.retry_failed, **_executor_options(args)))


def _interrupted(directory) -> None:
    from sim.sweep.store import SweepStore

    store = SweepStore(directory)
    if store.exists():
        done, total = len(store.done_ids()), store.meta()["n_runs"]
        print(f"safehaven: interrupted: {done} of {total} runs saved in {directory}; "
              f"finish with: safehaven sweep resume {directory}", file=sys.stderr)


def _finish(args, report) -> int:
    """Print the report and the outcome table; exit 1 when any run of the sweep failed, now or before."""
    from sim.sweep.runner import params_of
    from sim.sweep.store import SweepStore, load
    from sim.sweep.tables import outcome_table

    meta = SweepStore(report.directory).meta()
    failed_total = int((load(report.directory, columns=["status"])["status"] != "ok").sum())
    failed_before = failed_total - report.failed
    if args.json:
        print(json.dumps({"directory": str(report.directory), "runs": report.n_runs, "ran": report.ran,
                          "failed": report.failed, "failed_before": failed_before, "skipped": report.skipped,
                          "seconds": report.seconds,
                          "runs_per_s": None if report.ran == 0 else report.runs_per_second,
                          "executor": report.executor, "workers": report.workers, "retried": report.retried,
                          "engine": meta.get("engine"), "in_batch": report.in_batch},
                         indent=2))
    elif not args.quiet:
        from rich.markup import escape
        from rich.table import Table

        screen = console()
        for note in report.notes:
            screen.print(f"note: {note}")
        rate = f", {report.runs_per_second:.1f} runs/s on {report.workers} {report.executor} worker(s)" if report.ran else ""
        screen.print(f"{report.ran} runs done now ({report.failed} failed), {report.skipped} before, "
                      f"of {report.n_runs}{rate}; results in {report.directory}")
        if failed_before > 0:
            screen.print(f"note: {failed_before} runs failed in an earlier invocation; run them again with "
                          f"`safehaven sweep resume {report.directory} --retry-failed`")
        params = params_of(meta)
        # only the columns the table reads: a million-run sweep's whole table is gigabytes
        df = load(report.directory, columns=["status", "outcome", "checks_passed", *params])
        if len(df):
            # one table per varied field, titled by its whole name (a column would cut it short)
            t = outcome_table(df, params)
            for parameter, rows in t.groupby("parameter", sort=False):
                # the heading is a line of its own, escaped: "[m^3]" is a unit, not rich markup
                screen.print(f"Outcome fractions per bin of {escape(parameter)}", soft_wrap=True)
                table = Table()
                for c in rows.columns[1:]:
                    table.add_column(str(c), justify="left" if c == "bin" else "right", overflow="fold")
                for row in rows.iloc[:, 1:].itertuples(index=False):
                    table.add_row(*[f"{v:.2f}" if isinstance(v, float) else escape(str(v)) for v in row])
                screen.print(table)
    return 0 if failed_total == 0 else 1


def _rerun(args, words: list[str]) -> int:
    from sim.sweep.runner import rerun

    if len(words) != 2:
        raise UsageError("usage: safehaven sweep rerun DIR RUN_ID --out RUNDIR")
    try:
        run_id = int(words[1])
    except ValueError:
        raise UsageError(f"RUN_ID must be a whole number, got {words[1]!r}") from None
    if args.out is None:
        raise UsageError("sweep rerun needs --out RUNDIR")
    result = rerun(words[0], run_id, args.out, force=args.force)
    if args.json:
        print(json.dumps(result.summary, indent=2))
    elif not args.quiet:
        from sim.report.terminal import render_run

        render_run(console(), result, args.out)
    if result.status != "ok":  # the run failed numerically, as its row says: a result, exit 1
        print(f"safehaven: the run did not complete: {result.message}", file=sys.stderr)
        return 1
    return 0 if result.summary.get("checks_passed", True) else 1


def _plot(args, words: list[str]) -> int:
    from sim.sweep.plot import plot_sweep

    if len(words) != 1:
        raise UsageError("usage: safehaven sweep plot DIR [--out FOLDER] [--metric COLUMN]")
    paths = plot_sweep(words[0], args.out, metric=args.metric)
    if args.json:
        print(json.dumps([str(p) for p in paths]))
    elif not args.quiet:
        for p in paths:
            print(p)
    return 0


def _analyze(args, words: list[str]) -> int:
    from sim.sweep.sensitivity import RESAMPLES, analyze, plot_analysis
    from sim.sweep.store import SweepStore

    if len(words) != 1 or not args.metric:
        raise UsageError("usage: safehaven sweep analyze DIR --metric COLUMN [--failed refuse|conditional] "
                         "[--out FOLDER]")
    result = analyze(words[0], args.metric, args.failed or "refuse",
                     resamples=args.resamples if args.resamples is not None else RESAMPLES)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in args.metric)
    folder = Path(args.out) if args.out is not None else SweepStore(words[0]).root / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{result.method}_{name}"
    csv = stem.with_suffix(".csv")
    result.table.to_csv(csv, index=False)
    js = stem.with_suffix(".json")
    js.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    png = plot_analysis(result, stem.with_suffix(".png"))
    if args.json:
        print(json.dumps(result.to_dict() | {"files": [str(csv), str(js), str(png)]}, indent=2))
        return 0
    if not args.quiet:
        from rich.markup import escape
        from rich.table import Table

        screen = console()
        for note in result.notes:
            screen.print(f"note: {escape(note)}")
        screen.print(f"{'Sobol' if result.method == 'sobol' else 'Morris'} indices of {escape(args.metric)}: "
                      f"{result.points_used} of {result.points} points ({result.runs} runs, {result.runs_failed} "
                      f"failed), intervals {result.conf_level:.0%} bootstrap", soft_wrap=True)
        table = Table()
        for c in ("index", "parameter", "parameter2", "value", "low", "high"):
            table.add_column(c, justify="right" if c in ("value", "low", "high") else "left", overflow="fold")
        for row in result.table.itertuples(index=False):
            table.add_row(row.index, escape(row.parameter), escape(row.parameter2), f"{row.value:.4g}",
                          "" if row.low != row.low else f"{row.low:.4g}", "" if row.high != row.high else f"{row.high:.4g}")
        screen.print(table)
        for f in (csv, js, png):
            screen.print(str(f), soft_wrap=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.cli_sweep ARGS`` behaves as ``safehaven sweep ARGS``; returns the exit code."""
    return command_alone(add_sweep_parser, ["sweep"], argv)


if __name__ == "__main__":
    sys.exit(main())
