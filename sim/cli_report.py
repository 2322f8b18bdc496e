"""The ``replay``, ``compare`` and ``report`` commands of ``safehaven``.

:func:`add_report_parsers` adds them to the main parser's subparsers; each sets
``handler`` (one of :func:`run_replay`, :func:`run_compare`, :func:`run_report`), which takes the
parsed arguments and returns the exit code. :func:`main` runs them alone
(``python -m sim.cli_report replay DIR``) with the same exit codes as ``safehaven``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sim.cli_common import EXIT_FAILED, EXIT_OK, command_alone, console
from sim.errors import UsageError
from sim.paths import check_output

# The handlers import the engine, readers and renderers when they run (start-up cost: `safehaven`
# imports this module to build its parser for every command).

__all__ = ["add_report_parsers", "main", "run_compare", "run_replay", "run_report"]


def add_report_parsers(subparsers) -> None:
    """Add ``replay``, ``compare`` and ``report`` to *subparsers* (from ``add_subparsers``)."""
    r = subparsers.add_parser("replay", help="re-run a run directory and prove the same events come out")
    r.add_argument("run", type=Path, help="a run directory written by 'safehaven run --out'")
    r.add_argument("--at", metavar="T", help="also show the state at time T: 00:35:00, '35 min' or 2100 (s)")
    r.add_argument("--json", action="store_true", help="print machine-readable output")
    r.set_defaults(handler=run_replay)

    c = subparsers.add_parser("compare", help="two or more runs side by side: milestones, margins, "
                                              "where the timelines part")
    c.add_argument("runs", type=Path, nargs="+", metavar="DIR",
                   help="run directories; the first is the reference the others are compared with")
    c.add_argument("--html", type=Path, help="also write a self-contained HTML comparison with overlaid plots")
    c.add_argument("--json", action="store_true", help="print machine-readable output")
    c.set_defaults(handler=run_compare)

    p = subparsers.add_parser("report", help="plots and a self-contained HTML report of a run directory")
    p.add_argument("run", type=Path, metavar="DIR", help="a run directory (written by run --out)")
    p.add_argument("--html", type=Path, help="HTML file to write (default: DIR/report.html)")
    p.add_argument("--png-dir", type=Path, help="also keep the PNG plots in this directory")
    p.add_argument("--at", metavar="T", help="time at which to draw the station (default: the lowest pressure)")
    p.set_defaults(handler=run_report)


def run_replay(args) -> int:
    """``safehaven replay DIR [--at T]``: 0 when identical, 1 when the events differ.

    The state at T is derived from the run's events (:func:`sim.results.state.state_at`) and its
    pressures read from the series, so it is the state ``report --at`` draws.
    """
    from sim.replay import parse_time, replay
    from sim.report.state_view import render_state, run_state_at, state_json

    at = parse_time(args.at) if args.at is not None else None
    report = replay(args.run)
    state = series_state = None
    if at is not None:
        state, series_state = run_state_at(_record(args.run), at)
    if args.json:
        out = report.to_json()
        if state is not None:
            out["at"] = state_json(state, series_state)
        print(json.dumps(out, indent=2))
    else:
        screen = console()
        screen.print(f"replay of {args.run}: " + report.describe(), markup=False)
        if state is not None:
            render_state(screen, state, series_state)
    return EXIT_OK if report.identical else EXIT_FAILED


def _record(path):
    from sim.results.reader import read_run

    return read_run(path)


def run_compare(args) -> int:
    """``safehaven compare A B [C …] [--html F]``: 0 (a comparison is information, not a verdict)."""
    from sim.compare import compare_runs, render_comparison

    if len(args.runs) < 2:
        raise UsageError("compare needs at least two run directories")
    if args.html is not None:  # refused before any work, never written half
        check_output(args.html, option="--html", inputs=args.runs, directory=False)
        target = args.html.resolve()
        inside = next((run for run in args.runs if target.is_relative_to(run.resolve())), None)
        if inside is not None:
            raise UsageError(f"--html {args.html} is inside the run directory {inside}, an input of this "
                             f"command; write the comparison elsewhere, e.g. --html compare.html")
    from sim.drill import review

    records = [_record(path) for path in args.runs]
    labels = [str(path.name or path) for path in args.runs]
    if len(set(labels)) < len(labels):
        labels = [chr(ord("A") + k) if k < 26 else f"run{k}" for k in range(len(labels))]
    cmp = compare_runs(*records, labels=labels)
    cards = [review.read_scorecard(path) for path in args.runs]  # drill runs: their scorecards side by side
    drills = review.compare_scorecards(labels, cards) if any(c is not None for c in cards) else None
    if args.html is not None:
        from sim.report.compare_html import write_comparison

        sections = tuple(review.scorecard_html(c).replace("<h2>Drill:", f"<h2>{label} — drill:")
                         for label, c in zip(labels, cards, strict=True) if c is not None)
        write_comparison(records, cmp, args.html, sections=sections)
    if args.json:
        print(json.dumps({**cmp, "drills": drills} if drills else cmp, indent=2))
    else:
        screen = console()
        for label, path in zip(labels, args.runs, strict=True):
            screen.print(f"{label} = {path}", markup=False)
        render_comparison(screen, cmp)
        if drills is not None:
            review.render_comparison(screen, drills)
        if args.html is not None:
            screen.print(f"comparison: {args.html}", markup=False)
    return EXIT_OK


def run_report(args) -> int:
    """``safehaven report DIR [--html F] [--png-dir D]``: writes the HTML report."""
    from sim.drill.review import read_scorecard, render_scorecard, scorecard_html
    from sim.replay import parse_time
    from sim.report.html import write_report

    at = parse_time(args.at) if args.at is not None else None
    html = args.html or (args.run / "report.html")
    check_output(html, option="--html", directory=False)
    if args.png_dir is not None:
        check_output(args.png_dir, option="--png-dir")
    card = read_scorecard(args.run)  # a drill run: its score, expectations, injects and commands too
    out = write_report(args.run, html, png_dir=args.png_dir, at=at,
                       sections=(scorecard_html(card),) if card is not None else ())
    if card is not None:
        render_scorecard(console(), card)
    print(f"report: {out}")
    if args.png_dir:
        print(f"plots: {args.png_dir}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.cli_report replay|compare|report ...``: the same as ``safehaven …``."""
    return command_alone(add_report_parsers, [], argv)


if __name__ == "__main__":
    sys.exit(main())
