"""With Dask, the chunks in flight follow the cluster as workers join during a sweep."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from sim.sweep import load, parse_vary, run_sweep
from sim.sweep.runner import PART_SECONDS_ENV

from .conftest import LEAK, RATE

distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_workers_joining_mid_sweep_get_work(tmp_path, monkeypatch):
    monkeypatch.setenv(PART_SECONDS_ENV, "0")  # a part per chunk: the test sees the sweep under way
    # enough runs that the sweep is still under way when the new workers are up: a run of this
    # scenario costs ~20 ms, and starting two worker processes takes seconds on a loaded machine
    specs = [parse_vary(f"{RATE}=log(0.1, 1000, 240) lb/day")]
    out = tmp_path / "s"
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    try:
        def grow():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not list((out / "parts").glob("part-*.parquet")):
                time.sleep(0.05)
            cluster.scale(3)

        grower = threading.Thread(target=grow, daemon=True)
        grower.start()
        report = run_sweep(LEAK, specs, out, dask=cluster.scheduler_address, chunk_size=1)
        grower.join(timeout=60)
    finally:
        cluster.close()
    assert report.ran == 240 and report.failed == 0
    assert report.workers == 3, "the sweep never saw the workers that joined"
    assert report.peak_in_flight > 2, "chunks in flight stayed at the two per worker of the start"
    run_sweep(LEAK, specs, tmp_path / "serial", executor="serial")
    pd.testing.assert_frame_equal(load(out), load(tmp_path / "serial"))
