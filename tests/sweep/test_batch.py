"""Batch mode: members integrated together equal their single runs, through the installed
``safehaven sweep`` command and the Python API; eligibility says why it does not apply."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
import sim.sweep
from sim.scenario.load import load_scenario
from sim.sweep import batch
from sim.sweep.design import parse_vary
from sim.sweep.metrics import metrics_row
from sim.sweep.runner import resume_sweep, run_sweep

REPO = Path(__file__).resolve().parents[2]
CLOSED = REPO / "scenarios" / "iss-prk-closed.yaml"
FLAGSHIP = REPO / "scenarios" / "iss-prk-2026.yaml"
RATE = "leaks.prk-crack.rate"
# the ends of a three-decade range, the flip of the reserve-floor check (~14.6 lb/day), and beyond:
# 0.1 trips nothing, 30 sounds ppO2_low and crosses the floor, 2000 sounds rapid_depress at once
RATES = [0.1, 2.0, 14.5, 14.7, 30.0, 100.0, 2000.0]


def safehaven(*args, cwd=REPO):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_same_rows(a, b, rtol=1e-9):
    """Every column of two loaded sweeps agrees: numbers within rtol, everything else exactly."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    worst = 0.0
    for col in a.columns:
        x, y = a[col].tolist(), b[col].tolist()
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                if math.isnan(u) or math.isnan(v):
                    assert math.isnan(u) and math.isnan(v), (col, u, v)
                elif u != v:
                    assert math.isfinite(u) and math.isfinite(v), (col, u, v)
                    worst = max(worst, abs(u - v) / max(abs(u), abs(v)))
            else:
                assert u == v and type(u) is type(v), (col, u, v)
    assert worst <= rtol, worst
    return worst


def rate_list(rates=RATES):
    return f"{RATE}=[{', '.join(map(str, rates))}] lb/day"


def test_cli_batch_rows_equal_single_runs(tmp_path):
    spec = rate_list()
    auto = safehaven("sweep", str(CLOSED), "--vary", spec, "--out", str(tmp_path / "auto"), "--workers", "2")
    assert auto.returncode == 0, auto.stderr
    assert "engine: batch mode" in auto.stdout and "--engine single" in auto.stdout
    single = safehaven("sweep", str(CLOSED), "--vary", spec, "--out", str(tmp_path / "single"),
                       "--engine", "single", "--json")
    assert single.returncode == 0, single.stderr
    assert json.loads(single.stdout)["engine"]["mode"] == "single"
    assert "--engine single" in json.loads(single.stdout)["engine"]["reason"]
    assert json.loads((tmp_path / "auto" / "sweep.json").read_text())["engine"]["mode"] == "batch"
    assert json.loads((tmp_path / "single" / "sweep.json").read_text())["engine"]["mode"] == "single"
    a, b = sim.sweep.load(tmp_path / "auto"), sim.sweep.load(tmp_path / "single")
    assert_same_rows(a, b)
    # the members take different courses: one trips nothing, others sound alarms and cross the floor
    assert a["n_alarms"].iloc[0] == 0 and a["n_alarms"].iloc[-1] >= 1
    assert math.isnan(a["reserve_floor_t_s"].iloc[0]) and a["reserve_floor_t_s"].iloc[-1] > 0
    assert a["leaks.prk-crack.detected_by"].iloc[-1] == "alarm"
    assert list(a["checks_passed"]) == [True, True, True, False, False, False, False]


def test_the_engine_record_names_the_engines_that_produced_the_rows(tmp_path):
    """A resume with nothing to run leaves the record alone; an invocation that runs rows is added with
    its counts (batch mode computes all but each chunk's checked first run)."""
    out = tmp_path / "s"
    spec = f"{RATE}=loguniform(0.1, 100) lb/day"

    def sweep(n, *more):
        done = safehaven("sweep", str(CLOSED), "--vary", spec, "--design", "random", "--n", str(n), "--seed", "3",
                         "--out", str(out), *more)
        assert done.returncode == 0, done.stderr + done.stdout
        return done

    first = sweep(6, "--json", "--chunk-size", "6")
    assert json.loads(first.stdout)["in_batch"] == 5  # one chunk: its first run ran alone, checked
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["engine"]["mode"] == "batch"
    assert [(e["mode"], e["runs"], e["in_batch"], e["alone"]) for e in meta["engines"]] == [("batch", 6, 5, 1)]
    again = safehaven("sweep", "resume", str(out), "--engine", "single")
    assert again.returncode == 0, again.stderr
    assert "nothing to run: all 6 runs are done" in again.stdout
    assert "engine: single" not in again.stdout + again.stderr
    assert json.loads((out / "sweep.json").read_text()) == meta  # every row is still batch mode's
    sweep(8, "--engine", "single")  # the sweep grows by two runs, run one by one: recorded beside
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["engine"]["mode"] == "single"
    assert [(e["mode"], e["runs"], e["in_batch"], e["alone"]) for e in meta["engines"]] == [
        ("batch", 6, 5, 1), ("single", 2, 0, 2)]


def test_api_batch_equals_each_single_run_summary(tmp_path):
    """Every member's row is the row of sim.run's summary for its value, alarm and floor times included."""
    report = run_sweep(CLOSED, [parse_vary(rate_list())], tmp_path / "s", executor="serial")
    assert report.engine == "batch" and report.failed == 0
    df = sim.sweep.load(tmp_path / "s")
    for i, rate in enumerate(RATES):
        result = sim.run(str(CLOSED), overrides=[f"{RATE}={rate!r} lb/day"])
        want = metrics_row(result.summary)
        got = {k: _plain(df[k].iloc[i]) for k in want}
        # the store keeps a number column's missing values as NaN
        want = {k: math.nan if v is None and isinstance(got[k], float) else v for k, v in want.items()}
        assert batch.rows_equal(got, want) is None
        floor = [e for e in list(result.events.of_kind("reserve_floor")) if e["at"] == "prk"]
        stored = df["compartments.prk.reserve_floor_t_s"].iloc[i]
        assert (stored == batch._r(floor[0]["crossed_s"])) if floor else math.isnan(stored)
        alarms = list(result.events.of_kind("alarm"))
        assert df["n_alarms"].iloc[i] == len(alarms)
        rapid = [e["t"] for e in alarms if e["alarm"] == "rapid_depress"]
        detected = df["leaks.prk-crack.detected_s"].iloc[i]
        assert (detected == batch._r(rapid[0])) if rapid else math.isnan(detected)


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def test_integrate_matches_single_runs_bit_for_bit():
    """The integrator itself, on many members across four decades: rows identical to the last bit."""
    loaded = load_scenario(CLOSED)
    rates = np.exp(np.linspace(np.log(0.05), np.log(5000.0), 40))
    spec = parse_vary(rate_list([1.0]))
    cda = batch._leak_cda(loaded, batch.leak_values(loaded, [spec], {RATE: rates.tolist()}), len(rates))
    result = batch.integrate(loaded, cda, block=16)  # several blocks
    assert not result.diverged.any()
    from sim.scenario.yamlio import load_yaml
    from sim.sweep.worker import run_one

    doc = load_yaml(CLOSED)
    singles = [run_one(doc, 1, i, (f"{RATE}={float(r)!r} lb/day",)) for i, r in enumerate(rates)]
    block = batch.batch_columns(loaded, result, singles[0], list(range(len(rates))))
    rows = [batch._row(block, i) for i in range(len(rates))]
    for got, want in zip(rows, singles, strict=True):
        assert batch.rows_equal(got, want, rtol=0.0) is None
    assert len({r["n_alarms"] for r in rows}) >= 3


def test_flagship_is_not_batched_and_says_why(tmp_path):
    out = safehaven("sweep", str(FLAGSHIP), "--vary", "leaks.prk-crack.rate=[1, 2] lb/day",
                    "--out", str(tmp_path / "f"), "--workers", "1")
    assert out.returncode in (0, 1), out.stderr
    line = next(x for x in out.stdout.splitlines() if "engine:" in x)
    assert "single runs" in line and "crew" in line
    assert json.loads((tmp_path / "f" / "sweep.json").read_text())["engine"]["mode"] == "single"
    forced = safehaven("sweep", str(FLAGSHIP), "--vary", "leaks.prk-crack.rate=[1, 2] lb/day",
                       "--out", str(tmp_path / "g"), "--engine", "batch")
    assert forced.returncode == 2
    assert "cannot run in batch mode: the scenario has crew" in forced.stderr
    assert "Traceback" not in forced.stderr and not (tmp_path / "g").exists()


def variant(tmp_path, extra: str) -> Path:
    """iss-prk-closed with *extra* YAML appended (the station path made absolute)."""
    text = CLOSED.read_text().replace("station: stations/", f"station: {CLOSED.parent}/stations/")
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace("initial:\n  hatches: {zvezda-prk: closed}\n", "") + extra)
    return path


@pytest.mark.parametrize("extra, reason", [
    ("initial: {hatches: {zvezda-prk: closed}}\nevents:\n  - {at: 1 h, hatch: zvezda-prk, state: open}\n",
     "scripted events"),
    ("initial: {hatches: {zvezda-prk: closed}, valves: {zvezda-prk: open}}\n", "gas flows between zones"),
    ("initial: {hatches: {zvezda-prk: closed}}\nsolver: {thermo: adiabatic}\n", "the solver is adiabatic"),
])
def test_ineligible_scenarios(tmp_path, extra, reason):
    loaded = load_scenario(variant(tmp_path, extra))
    assert reason in batch.ineligible(loaded, [RATE])


def test_ineligible_fields_and_starts():
    loaded = load_scenario(CLOSED)
    assert batch.ineligible(loaded, [RATE]) is None
    assert "varies station.compartments.prk.volume" in batch.ineligible(loaded, ["station.compartments.prk.volume"])
    late = load_scenario(CLOSED, ["leaks.prk-crack.start=1 h"])
    assert "starts after 0 s" in batch.ineligible(late, [RATE])
    assert "has crew" in batch.ineligible(load_scenario(FLAGSHIP), [RATE])


def test_sweep_file_engine_is_checked(tmp_path):
    f = tmp_path / "sweep.yaml"
    f.write_text(f"scenario: {CLOSED}\nvary:\n  {RATE}: '[1, 2] lb/day'\nengine: turbo\n")
    out = safehaven("sweep", "--file", str(f), "--out", str(tmp_path / "s"))
    assert out.returncode == 2
    assert "sweep.yaml:4: engine: expected one of auto, batch, single" in out.stderr
    assert not (tmp_path / "s").exists()


def test_resume_and_rerun_of_a_batch_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEHAVEN_SWEEP_PART_SECONDS", "0")  # a part per chunk
    rates = [0.1, 1.0, 5.0, 14.0, 15.0, 40.0, 300.0, 2000.0]
    run_sweep(CLOSED, [parse_vary(rate_list(rates))], tmp_path / "s", executor="serial", chunk_size=3)
    parts = sorted((tmp_path / "s" / "parts").glob("part-*.parquet"))
    assert len(parts) == 3
    parts[1].unlink()  # as if killed before that chunk was saved
    report = resume_sweep(tmp_path / "s", executor="serial")
    assert report.ran == 3 and report.engine == "batch"
    run_sweep(CLOSED, [parse_vary(rate_list(rates))], tmp_path / "one", executor="serial", engine="single")
    assert_same_rows(sim.sweep.load(tmp_path / "s"), sim.sweep.load(tmp_path / "one"))
    again = sim.sweep.runner.rerun(tmp_path / "s", 6)
    stored = sim.sweep.load(tmp_path / "s").iloc[6].to_dict()
    want = metrics_row(again.summary)
    got = {k: _plain(stored[k]) for k in want}
    want = {k: math.nan if v is None and isinstance(got[k], float) else v for k, v in want.items()}
    assert batch.rows_equal(got, want) is None


def test_a_member_leaving_the_closed_form_runs_alone(tmp_path, monkeypatch):
    """The frozen gas constant's error control rejecting a member's step sends it to the ordinary engine."""
    from sim.atmosphere.ensemble import EnsembleAtmosphere

    real = EnsembleAtmosphere.drift_error

    def rejecting(self, idx, m, h):
        err = real(self, idx, m, h)
        big = np.asarray(self.a_z[idx, 1]) > np.quantile(self.a_z[:, 1], 0.5)  # the larger leaks
        return np.where(big, 2.0, err)

    monkeypatch.setattr(EnsembleAtmosphere, "drift_error", rejecting)
    loaded = load_scenario(CLOSED)
    spec = parse_vary(rate_list([1.0]))
    cda = batch._leak_cda(loaded, batch.leak_values(loaded, [spec], {RATE: RATES}), len(RATES))
    assert batch.integrate(loaded, cda).diverged.sum() >= 3
    run_sweep(CLOSED, [parse_vary(rate_list())], tmp_path / "s", executor="serial")
    monkeypatch.setattr(EnsembleAtmosphere, "drift_error", real)
    run_sweep(CLOSED, [parse_vary(rate_list())], tmp_path / "one", executor="serial", engine="single")
    assert_same_rows(sim.sweep.load(tmp_path / "s"), sim.sweep.load(tmp_path / "one"))


def test_a_chunk_that_disagrees_runs_member_by_member(tmp_path, monkeypatch, capsys):
    real = batch.batch_columns

    def wrong(*args, **kwargs):
        columns = real(*args, **kwargs)
        columns["p_min_Pa"][0] += 1.0
        return columns

    monkeypatch.setattr(batch, "batch_columns", wrong)
    run_sweep(CLOSED, [parse_vary(rate_list())], tmp_path / "s", executor="serial")
    assert "batch mode disagreed with the ordinary run of run 0 (p_min_Pa" in capsys.readouterr().err
    monkeypatch.setattr(batch, "batch_columns", real)
    run_sweep(CLOSED, [parse_vary(rate_list())], tmp_path / "one", executor="serial", engine="single")
    assert_same_rows(sim.sweep.load(tmp_path / "s"), sim.sweep.load(tmp_path / "one"))


def test_unit_conversion_on_arrays_is_the_loaders():
    from sim.units import KINDS, to_si, unit_registry

    values = np.exp(np.random.default_rng(3).uniform(-5, 5, 500))
    for unit, kind in [("lb/day", "mass flow"), ("mm^2", "area"), ("in", "length")]:
        vec = unit_registry().Quantity(values, unit).to(KINDS[kind].si_unit).magnitude
        assert np.array_equal(vec, [to_si(f"{float(v)!r} {unit}", kind) for v in values])
