"""Sweep regressions of issue 15, each reproduced through the installed ``safehaven`` command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "sweep"
LEAK = DATA / "leak.yaml"
REPAIR = DATA / "repair.yaml"


def safehaven(*args, cwd=REPO, timeout=180):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    proc = subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def load(directory):
    import sim.sweep

    return sim.sweep.load(directory)


# -- reach: every field of every file a run reads ----------------------------------------------
def test_a_field_inside_a_procedure_file_can_be_varied(tmp_path):
    out = tmp_path / "s"
    p = safehaven("sweep", REPAIR, "--vary", "run.0.procedure.phases.repair.0.success=[0, 1]",
                  "--out", out, "--executor", "serial", "--quiet")
    assert p.returncode == 0, p.stderr
    df = load(out)
    assert list(df["run.0.procedure.phases.repair.0.success"]) == [0, 1]
    assert list(df["checks_passed"]) == [False, True]
    assert df["leaks.crack.repaired_s"].isna().tolist() == [True, False]


def test_every_procedure_file_a_design_names_is_bundled(tmp_path):
    out = tmp_path / "s"
    p = safehaven("sweep", REPAIR, "--vary",
                  "run.0.procedure=[procedures/repair-quick.yaml, procedures/repair-slow.yaml]",
                  "--out", out, "--executor", "serial", "--quiet")
    assert p.returncode == 0, p.stderr
    df = load(out)
    assert (df["status"] == "ok").all(), df["error"].tolist()
    quick, slow = df["leaks.crack.repaired_s"].tolist()
    assert slow - quick == pytest.approx(3600 - 1200)  # the two files' repair durations
    assert (out / "inputs" / "procedures" / "repair-slow.yaml").is_file()


# -- the design ---------------------------------------------------------------------------------
def test_varying_the_seed_is_refused_with_what_to_do(tmp_path):
    p = safehaven("sweep", LEAK, "--vary", "seed=[5, 5, 7]", "--out", tmp_path / "s", "--executor", "serial")
    assert p.returncode == 2
    assert "--replicates" in p.stderr and "--seed" in p.stderr
    assert not (tmp_path / "s").exists()


def test_a_range_without_a_unit_on_a_quantity_is_an_error(tmp_path):
    p = safehaven("sweep", LEAK, "--vary", "leaks.crack.rate=log(0.1, 100, 5)", "--out", tmp_path / "s",
                  "--executor", "serial")
    assert p.returncode == 2
    assert "--vary leaks.crack.rate" in p.stderr and "mass flow" in p.stderr and "unit" in p.stderr
    assert not (tmp_path / "s").exists()
    # a dimensionless field takes bare numbers; a unit given in SI is accepted
    p = safehaven("sweep", LEAK, "--vary", "leaks.crack.rate=[1e-6, 2e-6] kg/s", "--out", tmp_path / "ok",
                  "--executor", "serial", "--quiet")
    assert p.returncode == 0, p.stderr


def test_values_out_of_range_anywhere_in_the_design_stop_it_before_it_starts(tmp_path):
    p = safehaven("sweep", LEAK, "--vary", "station.compartments.tunnel.volume=[5, 2, -1] m^3",
                  "--out", tmp_path / "s", "--executor", "serial")
    assert p.returncode == 2
    assert "-1.0 m^3" in p.stderr and "positive" in p.stderr
    assert not (tmp_path / "s").exists()
    # continuous: the extremes of the draws are checked
    p = safehaven("sweep", LEAK, "--vary", "station.compartments.tunnel.volume=normal(5, 3) m^3",
                  "--design", "random", "--n", "50", "--out", tmp_path / "n", "--executor", "serial")
    assert p.returncode == 2 and "positive" in p.stderr
    assert not (tmp_path / "n").exists()


def test_zero_replicates_is_an_error(tmp_path):
    p = safehaven("sweep", LEAK, "--vary", "leaks.crack.rate=[1, 2] lb/day", "--replicates", "0",
                  "--out", tmp_path / "s", "--executor", "serial")
    assert p.returncode == 2 and "--replicates must be >= 1, got 0" in p.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("option", [["--workers", "0"], ["--dask", "tcp://127.0.0.1:9"],
                                    ["--chunk-size", "0"]])
def test_bad_options_write_nothing(tmp_path, option):
    out = tmp_path / "s"
    p = safehaven("sweep", LEAK, "--vary", "leaks.crack.rate=[1, 2] lb/day", "--out", out, *option, timeout=120)
    assert p.returncode == 2, p.stderr
    assert not out.exists(), sorted(x.name for x in out.iterdir())


def test_force_never_deletes_a_run_directory(tmp_path):
    run = tmp_path / "run"
    assert safehaven("run", LEAK, "--out", run, "--quiet").returncode == 0
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    p = safehaven("sweep", LEAK, "--vary", "leaks.crack.rate=[1, 2] lb/day", "--out", run, "--force",
                  "--executor", "serial")
    assert p.returncode == 2 and "run directory" in p.stderr
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


# -- reading results back -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_by_two(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "s"
    p = safehaven("sweep", LEAK, "--vary", "station.compartments.tunnel.volume=[2, 5] m^3",
                  "--vary", "leaks.crack.rate=log(1, 1000, 3) lb/day", "--out", out, "--executor", "serial",
                  "--quiet")
    assert p.returncode == 0, p.stderr
    return out


def test_plot_of_a_text_metric(two_by_two, tmp_path):
    p = safehaven("sweep", "plot", two_by_two, "--metric", "outcome", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert any("heatmap_outcome" in line for line in p.stdout.splitlines())


def test_heat_map_axes_follow_the_vary_order(two_by_two, tmp_path):
    p = safehaven("sweep", "plot", two_by_two, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    heat = [Path(x).name for x in p.stdout.split() if "heatmap" in x]
    assert heat == ["heatmap_checks_passed_station.compartments.tunnel.volume_leaks.crack.rate.png"]


def test_a_corrupt_part_is_named(two_by_two, tmp_path):
    copy = tmp_path / "s"
    shutil.copytree(two_by_two, copy)
    part = sorted((copy / "parts").glob("part-*.parquet"))[0]
    part.write_bytes(b"not parquet at all")
    for args in (["resume", copy, "--executor", "serial"], ["plot", copy, "--out", tmp_path / "p"]):
        p = safehaven("sweep", *args)
        assert p.returncode == 2, (args, p.stderr)
        assert part.name in p.stderr


def test_outcome_table_keeps_names_and_prints_round_bins(tmp_path):
    out = tmp_path / "s"
    p = safehaven("sweep", LEAK, "--vary", "station.compartments.tunnel.volume=uniform(0.117, 20) m^3",
                  "--design", "random", "--n", "12", "--seed", "3", "--out", out, "--executor", "serial")
    assert p.returncode in (0, 1), p.stderr
    assert "station.compartments.tunnel.volume [m^3]" in p.stdout.replace("\n", "")
    import re

    for lo, hi in re.findall(r"[\[(](-?[0-9.e+-]+), (-?[0-9.e+-]+)\]", p.stdout):
        assert len(lo.replace("-", "").replace(".", "")) <= 5 and len(hi.replace(".", "")) <= 5, (lo, hi)


def test_outcome_bins_name_the_sampled_range_exactly():
    """The first bin starts at the smallest value sampled (pandas' own labels widened it: 0.1 -> 0.099)."""
    import pandas as pd

    from sim.sweep.tables import bin_labels, bin_text, outcome_table

    values = pd.Series(np.exp(np.linspace(np.log(0.1), np.log(100.0), 50)))
    labels = bin_labels(values, log=True)
    assert labels.notna().all() and labels.iloc[0] == labels.cat.categories[0]
    names = [bin_text(v, lowest=i == 0) for i, v in enumerate(labels.cat.categories)]
    assert names == ["[0.1, 0.3981]", "(0.3981, 1.585]", "(1.585, 6.31]", "(6.31, 25.12]", "(25.12, 100]"]
    df = pd.DataFrame({"x": values, "status": "ok", "outcome": "resumed", "checks_passed": True})
    table = outcome_table(df, {"x": {"log": True}})
    assert list(table["bin"]) == names and list(table["runs"]) == [10] * 5


# -- scripts, extension, common random numbers --------------------------------------------------
def test_a_script_without_main_guard_is_told_what_to_do(tmp_path):
    script = tmp_path / "study.py"
    script.write_text(textwrap.dedent(f"""
        from sim.sweep import parse_vary, run_sweep
        run_sweep({str(LEAK)!r}, [parse_vary("leaks.crack.rate=[1, 2] lb/day")], {str(tmp_path / 's')!r},
                  workers=1)
    """))
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert p.returncode != 0
    assert "__main__" in p.stderr
    assert not (tmp_path / "s" / "parts").exists() or not list((tmp_path / "s" / "parts").iterdir())


def test_resume_retry_failed_runs_failed_runs_again(two_by_two, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "s"
    shutil.copytree(two_by_two, copy)
    part = sorted((copy / "parts").glob("part-*.parquet"))[0]
    table = pq.read_table(part)
    n = table.num_rows
    status = pa.array(["failed"] * n)
    pq.write_table(table.set_column(table.schema.get_field_index("status"), "status", status), part)
    p = safehaven("sweep", "resume", copy, "--executor", "serial", "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["ran"] == 0
    p = safehaven("sweep", "resume", copy, "--retry-failed", "--executor", "serial", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ran"] == n
    df = load(copy)
    assert len(df) == 6 and (df["status"] == "ok").all()
    assert df.drop(columns=["error"]).equals(load(two_by_two).drop(columns=["error"]))


@pytest.mark.parametrize("design", ["random", "sobol", "lhs"])
def test_a_sampled_sweep_can_be_extended(tmp_path, design):
    out = tmp_path / "s"
    base = ["sweep", LEAK, "--vary", "leaks.crack.rate=loguniform(1, 100) lb/day", "--design", design,
            "--seed", "4", "--out", out, "--executor", "serial", "--json"]
    assert safehaven(*base, "--n", "4").returncode == 0
    first = load(out)
    p = safehaven(*base, "--n", "6")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ran"] == 2
    df = load(out)
    assert len(df) == 6
    assert df.iloc[:4].drop(columns=["error"]).equals(first.drop(columns=["error"]))
    # shrinking is refused; the stored sweep is left as it was
    p = safehaven(*base, "--n", "5")
    assert p.returncode == 2 and "n_points" in p.stderr


def test_common_random_numbers_share_seeds_across_points(tmp_path):
    out = tmp_path / "s"
    p = safehaven("sweep", REPAIR, "--vary", "leaks.crack.rate=[10, 20] lb/day", "--vary",
                  "run.0.procedure.phases.repair.0.success=[0.5]", "--replicates", "3", "--crn",
                  "--out", out, "--executor", "serial", "--quiet")
    assert p.returncode in (0, 1), p.stderr
    df = load(out)
    a, b = df[df["point"] == 0], df[df["point"] == 1]
    assert a["spawn_key"].tolist() == b["spawn_key"].tolist() == [0, 1, 2]
    assert a["checks_passed"].tolist() == b["checks_passed"].tolist()
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["settings"]["crn"] is True
