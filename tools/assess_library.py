"""Assess every station of the library and print the comparison table of docs/assess.md.

    python tools/assess_library.py [--holes 2mm,1cm,1in,5cm,10cm]

Runs ``sim.assess.assess`` on each file of scenarios/assess/ (every compartment x hole, the
isolation response) and prints one Markdown row per station.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.assess import DEFAULT_HOLES, assess, parse_holes
from sim.report.assess_report import short_time

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ["iss", "mir-1997", "tiangong", "haven-1", "gateway"]


def row(name: str, holes) -> str:
    a = assess(REPO / "scenarios" / "assess" / f"{name}.yaml", holes)
    count = {v: sum(c.verdict == v for c in a.cases) for v in ("safe", "undetected", "marginal", "lost")}
    inch = [c for c in a.cases if c.hole == "1in"]
    t_inch = short_time(min(c.treserve_s for c in inch)) if inch else "-"
    iso = [c.isolated_s for c in a.cases if c.isolated_s is not None]
    weak = [c for c in a.compartments if any(a.case(c, h).verdict in ("lost", "marginal") for h in a.holes)]
    return (f"| {name} | {len(a.compartments)} | {a.crew} | {len(a.cases)} | {count['safe']} | {count['undetected']} "
            f"| {count['marginal']} | {count['lost']} | {t_inch} | "
            f"{short_time(min(iso)) if iso else '-'}–{short_time(max(iso)) if iso else '-'} | "
            f"{', '.join(weak[:4]) + (' …' if len(weak) > 4 else '') or 'none'} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--holes", default=DEFAULT_HOLES)
    holes = parse_holes(p.parse_args().holes)
    print("| station | compartments | crew | cases | safe | undetected | marginal | lost | Treserve, 1-inch hole "
          "| time to isolate | weakest (a case lost or marginal) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in LIBRARY:
        print(row(name, holes), flush=True)


if __name__ == "__main__":
    main()
