"""Executors, chunking, faults, resume and rerun all give the same table as a plain serial sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.errors import InputError, UsageError
from sim.sweep import load, parse_vary, rerun, resume_sweep, run_sweep
from sim.sweep.metrics import metrics_row
from sim.sweep.runner import PART_SECONDS_ENV
from sim.sweep.worker import DIE_ONCE_ENV

LEAK = Path(__file__).resolve().parents[1] / "data" / "sweep" / "leak.yaml"
RATE = "leaks.crack.rate"

N = 12


def _sweep(out, specs, **kw):
    kw.setdefault("design", "lhs")
    kw.setdefault("n", N // 2)
    kw.setdefault("replicates", 2)
    kw.setdefault("seed", 11)
    return run_sweep(LEAK, specs, out, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted serial sweep every other variant is compared with."""
    specs = [parse_vary(f"{RATE}=loguniform(0.1, 1000) lb/day"),
             parse_vary("station.compartments.tunnel.volume=[2, 5] m^3")]
    out = tmp_path_factory.mktemp("ref") / "sweep"
    report = _sweep(out, specs, executor="serial", chunk_size=5)
    assert report.ran == N and report.failed == 0
    return specs, out, load(out)


def test_table_has_one_row_per_run(reference):
    _, out, df = reference
    assert list(df["run_id"]) == list(range(N))
    assert (df["status"] == "ok").all()
    assert pq.read_table(out / "design.parquet").num_rows == N
    assert not list(Path(out).rglob(".*tmp*"))


@pytest.mark.parametrize("kw", [
    {"executor": "serial", "chunk_size": 1},
    {"executor": "process", "workers": 2, "chunk_size": 3},
    {"executor": "process", "workers": 2},
    {"dask": "local", "workers": 2, "chunk_size": 4},
], ids=["serial-1", "process-3", "process-auto", "dask-local-4"])
def test_executors_and_chunk_sizes_give_identical_tables(reference, tmp_path, kw):
    if "dask" in kw:
        pytest.importorskip("distributed")
    specs, _, expected = reference
    _sweep(tmp_path / "s", specs, **kw)
    pd.testing.assert_frame_equal(load(tmp_path / "s"), expected)


def test_a_worker_that_dies_mid_chunk_costs_a_retry(reference, tmp_path, monkeypatch):
    specs, _, expected = reference
    monkeypatch.setenv(DIE_ONCE_ENV, f"4:{tmp_path / 'died'}")
    report = _sweep(tmp_path / "s", specs, executor="process", workers=2, chunk_size=3)
    assert (tmp_path / "died").exists(), "the hook did not fire"
    assert report.retried >= 1
    pd.testing.assert_frame_equal(load(tmp_path / "s"), expected)


def test_kill_9_then_resume_gives_the_uninterrupted_table(tmp_path):
    args = [sys.executable, "-m", "sim.cli_sweep", str(LEAK), "--vary", f"{RATE}=log(0.1, 1000, 30) lb/day",
            "--out", str(tmp_path / "s"), "--chunk-size", "1", "--workers", "1", "--quiet"]
    env = os.environ | {PART_SECONDS_ENV: "0"}  # a part per chunk, so there is something to kill between
    proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    parts = tmp_path / "s" / "parts"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(parts.glob("part-*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.stderr.read().decode()}"
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and the workers it started
    proc.wait()
    done_before = len(list(parts.glob("part-*.parquet")))
    assert 2 <= done_before < 30
    report = resume_sweep(tmp_path / "s", executor="serial")
    assert report.skipped >= done_before and report.ran == 30 - report.skipped
    run_sweep(LEAK, [parse_vary(f"{RATE}=log(0.1, 1000, 30) lb/day")], tmp_path / "u", executor="serial")
    resumed, uninterrupted = load(tmp_path / "s"), load(tmp_path / "u")
    assert resumed["run_id"].is_unique and len(resumed) == 30
    pd.testing.assert_frame_equal(resumed, uninterrupted)


def test_rerun_reproduces_a_row_exactly(reference, tmp_path):
    _, out, df = reference
    result = rerun(out, 7, tmp_path / "run7")
    row = metrics_row(result.summary)
    got = df.loc[df["run_id"] == 7].iloc[0]
    for key, value in row.items():
        assert got[key] == value or (pd.isna(got[key]) and pd.isna(value)), key
    assert (tmp_path / "run7" / "summary.json").is_file()
    assert result.summary["spawn_key"] == [7]


def test_resume_refuses_a_changed_design(reference, tmp_path):
    import shutil

    import pyarrow as pa

    _, out, _ = reference
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    table = pq.read_table(copy / "design.parquet")
    col = table.column(RATE).to_pylist()
    col[3] *= 2
    changed = table.set_column(table.schema.get_field_index(RATE), RATE, pa.array(col))
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), copy / "design.parquet")
    with pytest.raises(UsageError, match=r"differs from design\.parquet"):
        resume_sweep(copy, executor="serial")


def test_a_different_sweep_into_the_same_directory_is_refused(reference):
    specs, out, _ = reference
    with pytest.raises(UsageError, match=r"holds a different sweep.*replicates"):
        _sweep(out, specs, executor="serial", replicates=3)


def test_resume_refuses_edited_inputs(reference, tmp_path):
    import shutil

    _, out, _ = reference
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    scenario = copy / "inputs" / "leak.yaml"
    scenario.write_text(scenario.read_text().replace("duration: 2 h", "duration: 3 h"))
    with pytest.raises(UsageError, match="stored inputs were changed"):
        resume_sweep(copy, executor="serial")


def test_a_mistyped_path_stops_the_sweep_before_it_starts(tmp_path):
    with pytest.raises(InputError, match="do not load"):
        run_sweep(LEAK, [parse_vary("leaks.crak.rate=[1, 2] lb/day")], tmp_path / "s", executor="serial")
    assert not (tmp_path / "s" / "design.parquet").exists()


def test_a_design_value_that_does_not_load_stops_the_sweep_before_it_starts(tmp_path):
    specs = [parse_vary("leaks.crack.rate=[2 lb/day, 5 kg, 3 lb/day]")]
    with pytest.raises(InputError, match="expected a mass flow"):
        run_sweep(LEAK, specs, tmp_path / "s", executor="serial")
    assert not (tmp_path / "s").exists()


def test_a_run_that_fails_to_load_is_a_row_not_lost():
    # the design check makes this rare (a value that loads alone but not with the others)
    from sim.scenario.yamlio import load_yaml
    from sim.sweep.worker import run_one

    row = run_one(load_yaml(LEAK), 7, 3, ["leaks.crack.rate=5 kg"])
    assert (row["run_id"], row["status"], row["error_kind"]) == (3, "failed", "input")
    assert "expected a mass flow" in row["error"]
    assert pd.isna(row["p_min_Pa"]) and row["outcome"] is None
