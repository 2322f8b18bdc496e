"""Sweep results at scale: few parts of bounded row groups, and column reads that read only those columns."""

from __future__ import annotations

import builtins

import pyarrow.parquet as pq
import pytest

from sim.results import artefacts
from sim.sweep import load, parse_vary, run_sweep
from sim.sweep import store as store_module
from sim.sweep.runner import PART_SECONDS_ENV
from sim.sweep.store import SweepStore

from .conftest import LEAK, RATE


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale") / "s"
    run_sweep(LEAK, [parse_vary(f"{RATE}=log(0.1, 1000, 40) lb/day")], out, executor="serial", chunk_size=1)
    return out


N = 20_000


@pytest.fixture(scope="module")
def big(tmp_path_factory, swept):
    """A sweep directory of N finished runs (the design of a real sweep, stretched; made-up metrics)."""
    import numpy as np

    real = SweepStore(swept)
    meta = real.meta() | {"n_runs": N}
    design = {"run_id": list(range(N)), "point": list(range(N)), "replicate": [0] * N,
              "seed": [7] * N, "spawn_key": list(range(N)), RATE: np.geomspace(0.1, 1000, N).tolist()}
    out = tmp_path_factory.mktemp("big") / "s"
    store = SweepStore(out)
    store.create(meta, design, real.input_files())
    rng = np.random.default_rng(1)
    rows = [{"run_id": i, "status": "ok", "error_kind": None, "error": None,
             **{f"m{k}": float(v) for k, v in enumerate(rng.random(30))}} for i in range(N)]
    store.write_part(rows)
    return out


def test_chunks_are_gathered_into_one_part_not_a_file_each(swept):
    parts = SweepStore(swept).part_files()
    assert len(parts) == 1  # 40 chunks of one run, finished within PART_SECONDS
    assert pq.ParquetFile(parts[0]).metadata.num_rows == 40


def test_row_groups_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "ROW_GROUP_ROWS", 7)
    out = tmp_path / "s"
    run_sweep(LEAK, [parse_vary(f"{RATE}=log(0.1, 1000, 20) lb/day")], out, executor="serial")
    meta = pq.ParquetFile(SweepStore(out).part_files()[0]).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [7, 7, 6]


def test_part_seconds_zero_writes_a_part_per_chunk(tmp_path, monkeypatch):
    monkeypatch.setenv(PART_SECONDS_ENV, "0")
    out = tmp_path / "s"
    run_sweep(LEAK, [parse_vary(f"{RATE}=log(0.1, 1000, 6) lb/day")], out, executor="serial", chunk_size=2)
    assert len(SweepStore(out).part_files()) == 3


def test_a_bad_part_seconds_is_a_usage_error(tmp_path, monkeypatch):
    from sim.errors import UsageError

    monkeypatch.setenv(PART_SECONDS_ENV, "soon")
    with pytest.raises(UsageError, match="SAFEHAVEN_SWEEP_PART_SECONDS='soon': expected a number of seconds"):
        run_sweep(LEAK, [parse_vary(f"{RATE}=[1, 2] lb/day")], tmp_path / "s", executor="serial")


class _Counting:
    """``open`` that counts the bytes read from the files it opens."""

    def __init__(self):
        self.read = 0

    def __call__(self, *args, **kwargs):
        fh = builtins.open(*args, **kwargs)
        counter = self

        class Counted:
            def __getattr__(self, name):
                return getattr(fh, name)

            def read(self, *a):
                data = fh.read(*a)
                counter.read += len(data)
                return data

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()

        return Counted()


def test_load_columns_reads_only_those_columns(big, monkeypatch):
    everything = load(big)
    counting = _Counting()
    monkeypatch.setattr(artefacts, "open", counting, raising=False)
    few = load(big, columns=["m3", RATE])
    assert list(few.columns) == ["run_id", "m3", RATE]
    assert few["m3"].tolist() == everything["m3"].tolist() and len(few) == N
    size = SweepStore(big).part_files()[0].stat().st_size + (big / "design.parquet").stat().st_size
    assert 0 < counting.read < 0.2 * size, (counting.read, size)


def test_listing_finished_runs_reads_only_run_ids(big, monkeypatch):
    counting = _Counting()
    monkeypatch.setattr(artefacts, "open", counting, raising=False)
    assert SweepStore(big).done_ids() == set(range(N))
    assert 0 < counting.read < 0.2 * SweepStore(big).part_files()[0].stat().st_size


def test_a_big_part_has_bounded_row_groups(big):
    meta = pq.ParquetFile(SweepStore(big).part_files()[0]).metadata
    assert meta.num_row_groups == 2 and meta.row_group(0).num_rows == store_module.ROW_GROUP_ROWS
