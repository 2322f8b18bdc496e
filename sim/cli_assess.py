"""``safehaven assess``: every compartment x hole size of a station design, the emergency response,
a heat map and a one-page HTML report, the weakest compartments first. See :mod:`sim.assess`.

Form::

    safehaven assess FILE [--holes 2mm,1cm,1in,5cm,10cm] [--procedure FILE|none] [--only C,C]
                     [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.errors import UsageError

# The handlers import their machinery when they run (start-up cost: `safehaven` imports this module to
# build its parser for every command).

__all__ = ["add_assess_parser"]


def add_assess_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``assess`` to *subparsers* (of ``safehaven``'s parser)."""
    from sim.assess import DEFAULT_HOLES

    p = subparsers.add_parser("assess", help="safe-haven assessment: every compartment x hole size")
    p.add_argument("file", type=Path, metavar="STATION",
                   help="an assessment file: a scenario naming the station and its crew (their vehicles)")
    p.add_argument("--holes", default=DEFAULT_HOLES, help=f"hole diameters (default {DEFAULT_HOLES})")
    p.add_argument("--procedure", help="the response: a procedure file run on the depress alarm, or 'none' "
                   "(default: isolate the leaking compartment, crew to their vehicles)")
    p.add_argument("--only", help="compartments to assess, comma-separated (default every one)")
    p.add_argument("--seed", type=int, help="replace the file's seed")
    p.add_argument("--out", type=Path, help="write assessment.json, heatmap.png and assessment.html here")
    p.add_argument("--force", action="store_true", help="replace the files in --out")
    p.add_argument("--json", action="store_true", help="print the assessment (every case, files) as JSON")
    p.set_defaults(handler=_run)
    return p


def _run(args) -> int:
    from sim.assess import assess, parse_holes
    from sim.report.assess_report import heatmap, html_page

    if args.out is not None and (args.out / "assessment.json").exists() and not args.force:
        raise UsageError(f"{args.out} holds an assessment already; choose another --out or pass --force")
    holes = parse_holes(args.holes)
    procedure = args.procedure
    if procedure not in (None, "none") and not Path(procedure).is_file():
        raise UsageError(f"--procedure {procedure}: no such file (or 'none' for no response)")
    only = [c.strip() for c in args.only.split(",") if c.strip()] if args.only else None
    result = assess(args.file, holes, procedure, only, args.seed)
    files = []
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "assessment.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        png = heatmap(result, args.out / "heatmap.png")
        page = args.out / "assessment.html"
        page.write_text(html_page(result, png), encoding="utf-8")
        files = [args.out / "assessment.json", png, page]
    if args.json:
        print(json.dumps(result.to_dict() | {"files": [str(f) for f in files]}, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from sim.report.assess_report import short_time

    console = Console(highlight=False)
    console.print(f"Safe-haven assessment of {escape(str(args.file))}: {len(result.compartments)} compartments x "
                  f"{len(result.holes)} holes, response: {escape(result.response)}; weakest first", soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {escape(note)}")
    table = Table()
    for c in ("compartment", "hole", "verdict", "Treserve", "isolated", "sheltered", "air lost", "hatches closed"):
        table.add_column(c, overflow="fold", no_wrap=c in ("hole", "verdict", "Treserve", "isolated", "air lost"))
    for comp in result.compartments:
        for hole in result.holes:
            c = result.case(comp, hole)
            table.add_row(comp, hole, c.verdict, short_time(c.treserve_s), short_time(c.isolated_s),
                          "n/a" if c.sheltered is None else ("yes" if c.sheltered else "NO"),
                          f"{c.air_lost_kg:.0f} kg", ", ".join(h["hatch"] for h in c.hatches) or "-")
    console.print(table)
    for f in files:
        console.print(str(f), soft_wrap=True)
    return 0
