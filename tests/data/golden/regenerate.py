"""Regenerate the golden output of ``safehaven compare`` on purpose.

    python tests/data/golden/regenerate.py

Runs tests/data/replay/iss-prk-leak.yaml twice (as is, and with the what-if of
tests/conftest.py: VARIANT), compares them and writes compare-iss.json (the comparison,
checked with tolerances) and compare-iss.txt (the rendered tables, checked exactly). Review the
diff before committing: a change here is a change in what planners see.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/conftest.py holds the shared runs


def render_text(cmp: dict) -> str:
    """The comparison rendered as the terminal shows it, at a fixed width, without colour."""
    from rich.console import Console

    from sim.compare import render_comparison

    console = Console(width=130, record=True, color_system=None, force_terminal=False, file=open("/dev/null", "w"))
    render_comparison(console, cmp)
    return console.export_text()


def main() -> None:
    from conftest import ISS, VARIANT, make_run

    from sim.compare import compare_runs
    from sim.results.reader import read_run

    with tempfile.TemporaryDirectory() as tmp:
        a = read_run(make_run(Path(tmp), "a", ISS))
        b = read_run(make_run(Path(tmp), "b", ISS, VARIANT))
        cmp = compare_runs(a, b, labels=("base", "what-if"))
    (HERE / "compare-iss.json").write_text(json.dumps(cmp, indent=2) + "\n", encoding="utf-8")
    (HERE / "compare-iss.txt").write_text(render_text(cmp), encoding="utf-8")
    print(f"wrote {HERE / 'compare-iss.json'} and {HERE / 'compare-iss.txt'}")


if __name__ == "__main__":
    main()
