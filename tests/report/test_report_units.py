"""The run report and the run table speak in units (issue 10 case 9: margins read '934.941')."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sim.results.reader import read_run

SAFEHAVEN = Path(sys.executable).with_name("safehaven")


def test_report_has_the_milestones_and_margins_with_units(prk_run, tmp_path):
    page = tmp_path / "r.html"
    proc = subprocess.run([str(SAFEHAVEN), "report", str(prk_run), "--html", str(page)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"<[^>]+>", "|", page.read_text(encoding="utf-8"))
    sealed = next(e["t"] for e in read_run(prk_run).events if e["kind"] == "sheltered")
    hh, rest = divmod(round(sealed), 3600)
    assert f"shelter sealed (hatch closed)||{hh:02d}:{rest // 60:02d}:{rest % 60:02d}|" in text
    checks = text[text.index("|Checks|"):text.index("|Compartments|")]
    margins = re.findall(r"\|(?:pass|FAIL)\|\|\|([^|]*)\|", checks)
    assert margins and all(m == "-" or re.fullmatch(r"[+-]\d\d:\d\d:\d\d|[+-]\d+\.\d\d kPa", m) for m in margins)


def test_run_table_margins_have_units(tmp_path):
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "iss-prk-2026.yaml"
    proc = subprocess.run([str(SAFEHAVEN), "run", str(scenario)], capture_output=True, text=True, timeout=300,
                          env={"COLUMNS": "200", "PATH": str(SAFEHAVEN.parent)})
    assert proc.returncode == 0, proc.stderr
    checks = proc.stdout[proc.stdout.index("Checks"):]
    margins = re.findall(r"│ (?:pass|FAIL) +│ +([^│]+?) +│", checks)
    assert len(margins) >= 5  # the scenario's checks and the default hazard checks
    assert all(m == "-" or re.fullmatch(r"[+-]\d\d:\d\d:\d\d|[+-]\d+\.\d\d kPa", m) for m in margins), margins
