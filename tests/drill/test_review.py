"""report and compare of drill runs show the score, the expectations, the injects and the commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAFEHAVEN = str(Path(sys.executable).with_name("safehaven"))
DRILL = REPO / "scenarios" / "drills" / "prk-hatch-jams.yaml"


def _run(*args, cwd):
    env = dict(os.environ, COLUMNS="250")  # a wide terminal: table cells unwrapped
    return subprocess.run([SAFEHAVEN, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def drill_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("drill-runs")
    assert _run("drill", DRILL, "--out", "a", cwd=base).returncode == 1
    assert _run("drill", DRILL, "--out", "b", "--seed", "7", cwd=base).returncode == 1
    return base


def test_report_of_a_drill_run(drill_runs):
    r = _run("report", "a", "--html", "a.html", cwd=drill_runs)
    assert r.returncode == 0, r.stderr
    assert "score 75 / 100" in r.stdout and "shelter crew cut off from the PrK leak" in r.stdout
    assert "pma2-dragon jammed at 00:31:00" in r.stdout and "the hatch will not close" in r.stdout
    page = (drill_runs / "a.html").read_text()
    assert "<h2>Drill: PrK repair - the Dragon hatch jams during the shelter</h2>" in page
    assert "fe4&#x27;s attempt on pma2-dragon at 00:35:35 failed: jammed" in page
    assert "<h3>Injects</h3>" in page and "dragon-hatch-jams" in page and "<h3>Commands</h3>" in page


def test_compare_of_drill_runs(drill_runs):
    r = _run("compare", "a", "b", "--json", cwd=drill_runs)
    assert r.returncode == 0, r.stderr
    drills = json.loads(r.stdout)["drills"]
    assert drills["runs"] == ["a", "b"] and drills["score"] == [75.0, 75.0]
    separated = next(x for x in drills["expectations"] if x["name"].startswith("shelter crew cut off"))
    assert [c["result"] for c in separated["results"]] == ["FAIL", "FAIL"]
    assert drills["injects_fired"] == [["dragon-hatch-jams"], ["dragon-hatch-jams"]]
    table = _run("compare", "a", "b", "--html", "ab.html", cwd=drill_runs)
    assert "drill: expectations side by side" in table.stdout
    assert "a — drill:" in (drill_runs / "ab.html").read_text()


def test_a_tampered_scorecard_is_a_located_error(drill_runs, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(drill_runs / "a", bad)
    card = json.loads((bad / "scorecard.json").read_text())
    card["expectations"] = "all passed"
    (bad / "scorecard.json").write_text(json.dumps(card))
    r = _run("report", bad, cwd=tmp_path)
    assert r.returncode == 2 and "scorecard.json" in r.stderr and "expectations" in r.stderr
    assert "Traceback" not in r.stderr
