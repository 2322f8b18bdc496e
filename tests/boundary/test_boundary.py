"""``safehaven boundary`` against closed forms, through the installed command."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "boundary"
R_GAS = 8.314462618
MOLAR = {"N2": 0.0280134, "O2": 0.0319988, "CO2": 0.0440095}  # [kg/mol]
LB_DAY = 0.45359237 / 86400  # [kg/s]


def safehaven(*args, timeout=600):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    p = subprocess.run([*cmd, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def closed_form_rate(volume_m3: float) -> float:
    """The leak rate [lb/day] at which one rigid volume reaches 490 mmHg after exactly 2 h:
    p0 exp(-rate t / M0) = pf, so rate = M0 ln(p0 / pf) / t."""
    partial = {"N2": 79.6e3, "O2": 21.3e3, "CO2": 0.4e3}
    m0 = sum(p * volume_m3 * MOLAR[s] / (R_GAS * 295.0) for s, p in partial.items())
    pf = 490 * 101325 / 760
    return m0 * math.log(sum(partial.values()) / pf) / 7200 / LB_DAY


def test_bisection_finds_the_closed_form_rate_in_a_tenth_of_the_grid_runs(tmp_path):
    p = safehaven("boundary", DATA / "single-volume.yaml", "--vary", "leaks.hole.rate=log(1, 10000, 50) lb/day",
                  "--metric", "above the reserve floor", "--out", tmp_path, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    (b,) = r["boundary"]
    truth = closed_form_rate(100.0)
    assert b["value"] == pytest.approx(truth, rel=0.01)
    assert b["low"] <= truth <= b["high"]
    # a grid locating the rate within 1 % needs spacing of 2 % over four decades
    grid_1pct = math.ceil(math.log(1e4) / math.log(1.02)) + 1
    assert r["runs"] <= grid_1pct / 10
    assert r["runs"] / r["grid_runs"] == pytest.approx(r["ratio"])
    assert (tmp_path / "boundary.png").stat().st_size > 0
    probes = (tmp_path / "probes.csv").read_text().splitlines()
    assert len(probes) == 1 + r["runs"]


def test_contour_in_two_fields_follows_the_closed_form(tmp_path):
    p = safehaven("boundary", DATA / "single-volume.yaml", "--vary", "leaks.hole.rate=log(1, 10000, 50) lb/day",
                  "--vary", "station.compartments.hall.volume=lin(20, 200, 3) m^3", "--tol", "0.01",
                  "--metric", "checks_passed", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert len(r["boundary"]) >= 3
    for b in r["boundary"]:
        truth = closed_form_rate(b["y"][0])
        assert b["low"] <= truth <= b["high"], (b, truth)
    assert r["runs"] < r["grid_runs"] / 10


@pytest.mark.slow
def test_a_random_outcome_gives_a_fitted_curve_and_an_interval(tmp_path):
    # the repair starts at 10 min and takes uniform(20, 60) min: P(late) = 0.5 at a 50 min deadline
    p = safehaven("boundary", DATA / "random-repair.yaml", "--vary", "checks.0.within=lin(15, 100, 10) min",
                  "--metric", "repaired in time", "--replicates", "10", "--tol", "0.05", "--out", tmp_path,
                  "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    (b,) = r["boundary"]
    assert b["kind"] == "fit" and b["event_above"] is False
    assert b["low"] <= 50 <= b["high"]
    assert (b["high"] - b["low"]) / 2 <= 0.05 * b["value"] * 1.01
    assert -20 < r["fits"][0]["s"] < -3  # event below; a ramp 40 min wide is a logistic of s ~ 6 min
    assert (tmp_path / "boundary.png").is_file()


def test_no_flip_in_the_range_and_bad_input(tmp_path):
    p = safehaven("boundary", DATA / "single-volume.yaml", "--vary", "leaks.hole.rate=log(1, 10, 5) lb/day",
                  "--metric", "above the reserve floor")
    assert p.returncode == 0 and "no boundary in the range (no event anywhere)" in p.stdout
    p = safehaven("boundary", DATA / "single-volume.yaml", "--vary", "leaks.hole.rate=log(1, 10, 5)",
                  "--metric", "above the reserve floor")
    assert p.returncode == 2 and "unit" in p.stderr
    p = safehaven("boundary", DATA / "single-volume.yaml", "--vary", "leaks.hole.rate=[1, 2] lb/day",
                  "--metric", "above the reserve floor")
    assert p.returncode == 2 and "needs a range" in p.stderr
    p = safehaven("boundary", DATA / "single-volume.yaml", "--vary", "leaks.hole.rate=log(1, 10000, 5) lb/day",
                  "--metric", "no such check")
    assert p.returncode == 2 and "above the reserve floor" in p.stderr
