"""``safehaven sweep analyze``: Sobol' and Morris indices of a scenario whose metric is a known function.

The scenario (tests/data/sweep/two-leaks.yaml) loses ``(rate a + rate b) x 1 h`` of gas to a few
parts per million. With a ~ U(1, 2) and b ~ U(1, 3) lb/day the variances are 1/12 and 4/12, so
S1 = ST = 0.2 and 0.8, S2 = 0, and a third field (a closed store's volume) has no effect at all.
Morris: moving a across its range changes the loss by 1 lb/day x 1 h = 18.9 g, b by twice that.
"""

from __future__ import annotations

import json
import shutil

import pytest

from .test_regressions import DATA, load, safehaven

TWO = DATA / "two-leaks.yaml"
VARY = ["--vary", "leaks.a.rate=uniform(1, 2) lb/day", "--vary", "leaks.b.rate=uniform(1, 3) lb/day",
        "--vary", "station.compartments.store.volume=uniform(5, 15) m^3"]
TRUE_S = {"leaks.a.rate": 0.2, "leaks.b.rate": 0.8, "station.compartments.store.volume": 0.0}
KG_PER_LB_DAY_HOUR = 0.45359237 / 24


@pytest.fixture(scope="module")
def saltelli(tmp_path_factory):
    out = tmp_path_factory.mktemp("sens") / "s"
    p = safehaven("sweep", TWO, *VARY, "--design", "saltelli", "--n", "32", "--seed", "1", "--out", out,
                  "--executor", "serial", "--quiet", timeout=600)
    assert p.returncode == 0, p.stderr
    return out


def analyze(*args):
    p = safehaven("sweep", "analyze", *args, "--json")
    return p, (json.loads(p.stdout) if p.returncode == 0 else None)


@pytest.mark.slow
def test_sobol_indices_of_a_linear_response_hold_the_true_values(saltelli, tmp_path):
    assert len(load(saltelli)) == 32 * (2 * 3 + 2)
    p, result = analyze(saltelli, "--metric", "leaked_kg", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert result["method"] == "sobol" and result["points_used"] == 256 and result["runs_failed"] == 0
    seen = set()
    for row in result["indices"]:
        truth = 0.0 if row["index"] == "S2" else TRUE_S[row["parameter"]]
        assert row["low"] - 1e-9 <= truth <= row["high"] + 1e-9, row
        seen.add(row["index"])
    assert seen == {"S1", "ST", "S2"}
    dummy = [r for r in result["indices"] if r["parameter"] == "station.compartments.store.volume"
             and r["index"] in ("S1", "ST")]
    assert all(abs(r["value"]) < 1e-6 for r in dummy)
    for suffix in (".csv", ".json", ".png"):
        assert (tmp_path / f"sobol_leaked_kg{suffix}").stat().st_size > 0


@pytest.mark.slow
def test_morris_effects_of_a_linear_response(tmp_path):
    out = tmp_path / "m"
    p = safehaven("sweep", TWO, *VARY, "--design", "morris", "--n", "6", "--seed", "2", "--out", out,
                  "--executor", "serial", "--quiet", timeout=600)
    assert p.returncode == 0, p.stderr
    p, result = analyze(out, "--metric", "leaked_kg")
    assert p.returncode == 0, p.stderr
    rows = {(r["index"], r["parameter"]): r for r in result["indices"]}
    a = rows[("mu_star", "leaks.a.rate")]["value"]
    assert a == pytest.approx(KG_PER_LB_DAY_HOUR, rel=1e-3)
    assert rows[("mu_star", "leaks.b.rate")]["value"] == pytest.approx(2 * a, rel=1e-3)
    assert rows[("mu_star", "station.compartments.store.volume")]["value"] == 0
    assert all(rows[("sigma", n)]["value"] < 1e-3 * a for n in TRUE_S)  # linear: no interaction
    assert (out / "analysis" / "morris_leaked_kg.png").is_file()


@pytest.mark.slow
def test_a_pass_fail_metric_is_analysed(saltelli, tmp_path):
    p, result = analyze(saltelli, "--metric", "checks_passed", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    rows = {(r["index"], r["parameter"]): r for r in result["indices"]}
    # passing needs a + b < 4 lb/day: b matters more than a, the store not at all
    assert rows[("ST", "leaks.b.rate")]["value"] > rows[("ST", "leaks.a.rate")]["value"] > 0
    assert rows[("ST", "station.compartments.store.volume")]["value"] == 0


@pytest.mark.slow
def test_failed_runs_are_counted_and_the_policy_is_explicit(saltelli, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "s"
    shutil.copytree(saltelli, copy)
    part = sorted((copy / "parts").glob("part-*.parquet"))[0]
    table = pq.read_table(part)
    ids = table.column("run_id").to_pylist()
    bad = ids[:2]
    status = ["failed" if r in bad else s for r, s in zip(ids, table.column("status").to_pylist(), strict=True)]
    pq.write_table(table.set_column(table.schema.get_field_index("status"), "status", pa.array(status)), part)
    p, _ = analyze(copy, "--metric", "leaked_kg")
    assert p.returncode == 2
    assert "2 runs failed" in p.stderr and "--failed conditional" in p.stderr and "--retry-failed" in p.stderr
    p, result = analyze(copy, "--metric", "leaked_kg", "--failed", "conditional", "--out", tmp_path / "a")
    assert p.returncode == 0, p.stderr
    assert result["runs_failed"] == 2 and result["points_missing"] == 2
    blocks_hit = len({r // 8 for r in bad})  # a Saltelli block is 2 D + 2 = 8 points
    assert (result["blocks"], result["blocks_used"]) == (32, 32 - blocks_hit)
    assert result["points_used"] == 8 * (32 - blocks_hit)
    assert "conditional on success" in result["notes"][0]


def test_analyze_refuses_what_it_cannot_analyse(saltelli, tmp_path):
    p = safehaven("sweep", "analyze", saltelli, "--metric", "outcome")
    assert p.returncode == 2 and "outcome=" in p.stderr
    p = safehaven("sweep", "analyze", saltelli, "--metric", "outcome=completed")
    assert p.returncode == 2 and "does not vary" in p.stderr
    p = safehaven("sweep", "analyze", saltelli, "--metric", "no_such_column")
    assert p.returncode == 2 and "no column" in p.stderr
    grid = tmp_path / "g"
    assert safehaven("sweep", TWO, "--vary", "leaks.a.rate=[1, 2] lb/day", "--out", grid, "--executor",
                     "serial", "--quiet").returncode == 0
    p = safehaven("sweep", "analyze", grid, "--metric", "leaked_kg")
    assert p.returncode == 2 and "saltelli or morris" in p.stderr
