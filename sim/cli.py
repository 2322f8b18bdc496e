"""The ``safehaven`` command: parse the command line, call the API, render with rich, exit.

Exit codes: 0 done (and every check passed), 1 done but a check failed or the run could not
continue numerically (its summary says status "failed"), 2 bad input or usage, 3 an internal error
(:mod:`sim.cli_common`). Errors never print a traceback unless ``SAFEHAVEN_DEBUG=1``.

This module assembles the parser from the sub-command modules and holds the commands of its own
(``run``, ``validate``, ``graph``, ``schema``). Their handlers import the engine, the scenario
loader and the renderers when they run, not at the top: every command builds the whole parser,
and ``safehaven validate`` must not pay for the engine (start-up cost, docs/architecture.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.cli_assess import add_assess_parser
from sim.cli_boundary import add_boundary_parser
from sim.cli_common import EXIT_FAILED, EXIT_INPUT, EXIT_OK, console, run_command, top_parser
from sim.cli_drill import add_drill_parser
from sim.cli_leakhunt import add_leakhunt_parsers
from sim.cli_report import add_report_parsers
from sim.cli_sweep import add_sweep_parser
from sim.cli_values import seed
from sim.errors import InputError, UsageError
from sim.paths import atomic_output, check_output
from sim.version import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p, sub = top_parser()
    p.add_argument("--version", action="version", version=f"safehaven {__version__}")

    r = sub.add_parser("run", help="run a scenario and write a run directory")
    r.add_argument("scenario", type=Path, help="the scenario file (YAML)")
    r.add_argument("--out", type=Path, help="run directory to write (default: none, summary only)")
    r.add_argument("--seed", type=seed, help="replace the scenario's seed (0 to 2**63-1)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="change one field for this run, e.g. leaks.prk-crack.rate='4 lb/day'")
    r.add_argument("--format", choices=["csv", "parquet", "both"], help="series format")
    r.add_argument("--force", action="store_true", help="replace an existing run directory")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")

    v = sub.add_parser("validate", help="check station, scenario, procedure and drill files")
    v.add_argument("files", type=Path, nargs="+", help="station, scenario, procedure, drill, record or hunt files "
                   "(the kind is told from the keys)")
    v.add_argument("--json", action="store_true", help="print each file's kind and problems as JSON")

    g = sub.add_parser("graph", help="show a station's graph (a station or scenario file)")
    g.add_argument("file", type=Path, help="a station file, or a scenario file (its station, "
                   "with the scenario's initial states)")
    g.add_argument("--png", type=Path, help="also draw it to a PNG file")
    g.add_argument("--json", action="store_true", help="print the graph as networkx node-link JSON")

    s = sub.add_parser("schema", help="print the JSON Schema of a file kind")
    s.add_argument("kind", choices=["station", "scenario", "procedure", "drill", "record", "hunt"],
                   help="the kind of file described")
    for parser, handler in ((r, _cmd_run), (v, _cmd_validate), (g, _cmd_graph), (s, _cmd_schema)):
        parser.set_defaults(handler=handler)
    add_sweep_parser(sub)
    add_report_parsers(sub)
    add_drill_parser(sub)
    add_leakhunt_parsers(sub)
    add_boundary_parser(sub)
    add_assess_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``safehaven`` console script; returns the exit code."""
    return run_command(_parser, sys.argv[1:] if argv is None else argv)


def _cmd_run(args) -> int:
    from sim.api import load
    from sim.engine import simulate
    from sim.results.writers import write_run

    if args.out is not None:
        check_output(args.out)
        if args.out.exists() and not args.force:
            raise UsageError(f"{args.out} exists; choose another --out or pass --force to replace it")
    loaded = load(args.scenario, args.overrides)
    if args.out is not None:  # --force must never destroy what the run reads
        check_output(args.out, inputs=loaded.files.values(), force=args.force)
    result = simulate(loaded, args.seed)
    if args.out is not None:
        write_run(result, args.out, force=args.force, fmt=args.format)
    if args.json:
        print(json.dumps(result.summary, indent=2))
    elif not args.quiet:
        from sim.report.terminal import render_run

        render_run(console(), result, args.out)
    if result.status != "ok":
        # a run that could not continue numerically is a result (status "failed"), not a crash
        print(f"safehaven: the run did not complete: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if result.summary["checks_passed"] else EXIT_FAILED


def _cmd_validate(args) -> int:
    from sim.scenario.kinds import validate_file

    problems, report = [], []
    for path in args.files:
        try:
            kind = validate_file(path)
            report.append({"file": str(path), "kind": kind, "ok": True})
        except InputError as exc:
            problems.extend(exc.problems)
            report.append({"file": str(path), "ok": False, "problems": [str(p) for p in exc.problems]})
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for item in report:
            if item["ok"]:
                print(f"{item['file']}: ok ({item['kind']})")
    for problem in problems:
        print(problem, file=sys.stderr)
    return EXIT_INPUT if problems else EXIT_OK


def _cmd_schema(args) -> int:
    from sim.scenario.schema import json_schema

    print(json.dumps(json_schema(args.kind), indent=2))
    return EXIT_OK


def _cmd_graph(args) -> int:
    from sim.report.terminal import render_graph
    from sim.scenario.kinds import detect_kind
    from sim.scenario.load import load_station, scenario_from_document
    from sim.scenario.yamlio import load_yaml

    if args.png is not None:
        check_output(args.png, option="--png", inputs=[args.file], directory=False)
        if args.png.suffix.lower() != ".png":
            raise UsageError(f"--png {args.png}: expected a file name ending in .png")
    doc = load_yaml(args.file)
    if isinstance(doc.data, dict) and detect_kind(doc) == "scenario":
        loaded = scenario_from_document(doc)
        station, initial = loaded.station, loaded.scenario.initial
    else:
        station, initial = load_station(args.file), None
    if args.json:
        import networkx as nx

        from sim.station import build_graph

        print(json.dumps(nx.node_link_data(build_graph(station), edges="edges"), indent=2, default=str))
    else:
        render_graph(console(), station, initial)
    if args.png:
        from sim.report.plots import draw_station

        with atomic_output(args.png) as tmp:
            draw_station(station, tmp, initial=initial)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
