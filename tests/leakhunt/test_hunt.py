"""``safehaven hunt``: windows against the closed form, the written plan runs and finds the leak when claimed."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from sim.leakhunt.plan import _part_responses, plan_hunt
from sim.scenario.hunt_load import load_hunt

REPO = Path(__file__).resolve().parents[2]
HUNTS = REPO / "scenarios" / "hunts"
LB_DAY = 0.45359237 / 86400


def _safehaven(*args, cwd):
    return subprocess.run([shutil.which("safehaven"), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def test_a_part_without_life_support_drops_as_the_closed_form():
    lh = load_hunt(HUNTS / "iss-russian-segment.yaml")
    rate = 2 * LB_DAY
    import numpy as np

    t = np.linspace(0.0, 3600.0, 13)
    base, leak = _part_responses(lh.station, ["zvezda-prk"], "prk", rate, t)
    base, leak = base - base[0], leak - leak[0]
    # the PrK and the Progress behind it (12.6 m^3), no change without the leak; with it the isothermal
    # blowdown p0 exp(-t/tau), tau = p0 / (mdot0 R T / V)
    from sim.atmosphere import R_SPECIES
    from sim.station import initial_masses

    m0 = initial_masses(lh.station).sum(0)
    R = float(m0 @ R_SPECIES / m0.sum())
    p0 = 101_300.0
    tau = p0 / (rate * R * 295.0 / 12.6)
    assert abs(base).max() < 1e-9
    assert np.allclose(leak, p0 * np.expm1(-t / tau), rtol=1e-6, atol=1e-6)


def test_bisect_needs_fewer_steps_than_module_by_module():
    lh = load_hunt(HUNTS / "iss-2-lb-day.yaml")
    h = lh.hunt
    plans = {s: plan_hunt(lh.station, lh.prior, h.leak.rate, h.gauge.resolution, h.gauge.noise, h.confidence,
                          h.crew.at, s, h.min_treserve) for s in ("split", "bisect", "all")}
    steps = {s: sum(p.prior[c] * p.steps[c] for c in p.prior if p.prior[c] > 0) for s, p in plans.items()}
    assert steps["all"] == pytest.approx(1.0) and steps["bisect"] < steps["split"]
    assert math.log2(len([c for c in plans["bisect"].prior if plans["bisect"].prior[c] > 0])) <= steps["bisect"] + 1
    assert plans["all"].excluded == ["beam"]  # behind a hatch closed already


def test_written_plan_validates_runs_and_finds_the_leak_when_claimed(tmp_path):
    out = tmp_path / "hunt"
    r = _safehaven("hunt", str(HUNTS / "iss-russian-segment.yaml"), "--out", str(out), "--verify", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    plan = json.loads((out / "plan.json").read_text())
    assert plan == json.loads(r.stdout)
    v = _safehaven("validate", str(out / "procedure.yaml"), str(out / "scenario.yaml"), cwd=tmp_path)
    assert v.returncode == 0, v.stderr
    at1 = [x for x in plan["verify"]["runs"] if x["rate_factor"] == 1.0]
    assert len(at1) == 6 and all(x["correct"] for x in at1)
    for x in at1:  # the engine's time to the found_ phase against the planner's claim
        assert x["time_s"] == pytest.approx(x["claimed_s"], rel=0.01, abs=30)
    assert all(x["correct"] for x in plan["verify"]["runs"] if x["rate_factor"] == 2.0)
    run = _safehaven("run", str(out / "scenario.yaml"), "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
def test_the_iss_plan_locates_a_leak_in_every_compartment_when_claimed(tmp_path):
    out = tmp_path / "hunt"
    r = _safehaven("hunt", str(HUNTS / "iss-2-lb-day.yaml"), "--out", str(out), "--verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    plan = json.loads((out / "plan.json").read_text())
    at1 = [x for x in plan["verify"]["runs"] if x["rate_factor"] == 1.0]
    assert len(at1) == 23
    wrong = [x["site"] for x in at1 if not x["correct"]]
    assert not wrong
    for x in at1:
        assert x["time_s"] == pytest.approx(x["claimed_s"], rel=0.01, abs=30)


@pytest.mark.parametrize(("edit", "message"), [
    ("at: zvezda,", r"h.yaml:\d+: crew.at: unknown compartment 'zvezdaa'"),
    ("candidates: [zvezda,", r"h.yaml:\d+: leak.candidates\[0\]: unknown compartment 'zvezdaa'"),
])
def test_bad_hunt_files_are_located(tmp_path, edit, message):
    import re

    text = (HUNTS / "iss-russian-segment.yaml").read_text().replace("../stations/", str(REPO / "scenarios" / "stations") + "/")
    text = text.replace(edit, edit.replace("zvezda", "zvezdaa"))
    (tmp_path / "h.yaml").write_text(text)
    r = _safehaven("hunt", "h.yaml", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and re.search(message, r.stderr), r.stderr
    assert not (tmp_path / "o").exists()
