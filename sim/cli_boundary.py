"""``safehaven boundary``: where an outcome or a check flips, in a fraction of a grid's runs.

Form::

    safehaven boundary SCENARIO --vary PATH=RANGE [--vary PATH=RANGE] --metric OUTCOME_OR_CHECK
                       [--replicates R] [--tol REL] [--seed S] [--set PATH=VALUE]... [--max-runs N]
                       [--out DIR] [--json]

See :mod:`sim.boundary` for the method.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.errors import UsageError

# The handlers import their machinery when they run (start-up cost: `safehaven` imports this module to
# build its parser for every command).

__all__ = ["add_boundary_parser"]


def add_boundary_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``boundary`` to *subparsers* (of ``safehaven``'s parser)."""
    p = subparsers.add_parser("boundary", help="find where an outcome or check flips (bisection, contour, "
                              "fitted probability)")
    p.add_argument("scenario", type=Path, help="the scenario file (YAML)")
    p.add_argument("--vary", action="append", default=[], metavar="PATH=RANGE",
                   help="the field searched: log(lo, hi, n) UNIT, lin(...), uniform(lo, hi) UNIT or "
                        "loguniform(...); a second --vary gives the lines of a 2-D contour")
    p.add_argument("--metric", required=True, metavar="OUTCOME_OR_CHECK",
                   help="the event located: checks_passed, a check's name, checks.NAME.passed (its failure), "
                        "or outcome=VALUE")
    p.add_argument("--replicates", type=int, default=1, help="runs per probe (more than 1 for a random outcome)")
    p.add_argument("--tol", type=float, default=0.005, help="relative half-width aimed at (default 0.005)")
    p.add_argument("--seed", type=int, help="root seed (default the scenario's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="change one field in every run (as run --set does)")
    p.add_argument("--max-runs", type=int, default=2000, help="budget of runs (default 2000)")
    p.add_argument("--out", type=Path, help="write boundary.json, probes.csv and boundary.png here")
    p.add_argument("--force", action="store_true", help="replace the files in --out")
    p.add_argument("--json", action="store_true", help="print the result (boundary, probes, files) as JSON")
    p.set_defaults(handler=_run)
    return p


def _run(args) -> int:
    from sim.boundary import find_boundary, parse_event, plot_boundary
    from sim.sweep.design import parse_vary

    if not args.vary:
        raise UsageError("boundary needs --vary PATH=RANGE")
    if args.out is not None and (args.out / "boundary.json").exists() and not args.force:
        raise UsageError(f"{args.out} holds a boundary already; choose another --out or pass --force")
    specs = [parse_vary(v) for v in args.vary]
    result = find_boundary(args.scenario, specs, parse_event(args.metric), replicates=args.replicates,
                           tol=args.tol, seed=args.seed, overrides=args.overrides, max_runs=args.max_runs)
    files = []
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "boundary.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        rows = ["x0,x1,runs,events,p,line"] + [
            f"{p.x[0]!r},{p.x[1] if len(p.x) > 1 else ''},{p.runs},{p.events},{p.p!r},{p.line}" for p in result.probes]
        (args.out / "probes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        files = [args.out / "boundary.json", args.out / "probes.csv", plot_boundary(result, args.out / "boundary.png")]
    if args.json:
        print(json.dumps(result.to_dict() | {"files": [str(f) for f in files]}, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    unit = f" {result.units[0]}" if result.units[0] else ""
    for note in result.notes:
        console.print(f"note: {escape(note)}")
    for b in result.boundary:
        where = f" at {result.fields[1]} = {b['y'][0]:.4g} {result.units[1]}".rstrip() if b["y"] else ""
        if b["value"] is None:
            console.print(f"{escape(result.fields[0])}{where}: no boundary in the range "
                          f"({'the event everywhere' if b.get('side') == 'event' else 'no event anywhere'})")
            continue
        how = "bracket" if b["kind"] == "bracket" else "95 % interval of the fitted P = 0.5"
        lohi = (f"[{b['low']:.5g}, {b['high']:.5g}]{unit} ({how})" if b["low"] is not None
                else "(interval undefined: too few runs on both sides)")
        side = "above" if b.get("event_above") else "below"
        console.print(f"{escape(result.event.label)} = 0.5 at {escape(result.fields[0])} = {b['value']:.5g}{unit}"
                      f"{where}, {lohi}; the event {side} it")
    if result.grid_runs:
        ratio = result.runs / result.grid_runs
        how = ("a uniform grid over the range needs, for the same information about the boundary,"
               if result.replicates > 1 else
               f"a grid locating it as closely (spacing {2 * result.tol:.3g} relative) needs")
        console.print(f"{result.runs} runs; {how} {result.grid_runs}: {ratio:.3g} of the grid's runs")
    for f in files:
        console.print(str(f))
    return 0
