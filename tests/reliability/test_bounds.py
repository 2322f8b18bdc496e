"""Classes 2, 3 and 5: values that validate must be safe for the whole run; time and memory are
bounded by stated limits checked before work starts; command-line and sweep-file values are checked.

Extreme-but-valid values (each at its documented bound) are run to the end by hypothesis: the run
finishes with status ok and finite numbers, or fails as a result with a reason; never NaN with ok.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import REPO, call_cli, clean_env

TWO = REPO / "scenarios" / "two-volumes-valve.yaml"
LEAK = REPO / "tests" / "data" / "sweep" / "leak.yaml"
HEAD = ("name: x\nduration: 10 min\noutput: {every: 10 s}\nstation:\n  name: s\n  temperature: 295 K\n"
        "  atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}\n")


@pytest.fixture(autouse=True)
def _env():
    clean_env()


def _no_nan(value, path="summary"):
    if isinstance(value, float):
        assert not math.isnan(value), path
    elif isinstance(value, str):
        assert value != "nan", path
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nan(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_nan(v, f"{path}[{i}]")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(area=st.sampled_from(["1e-9 m^2", "1 cm^2", "1e4 m^2"]), scale=st.sampled_from([0, 1e-6, 1e3, 1e6]),
       rate=st.sampled_from(["1e-6 kg/s", "1 kg/s", "1e3 kg/s"]))
def test_extreme_but_valid_values_run_to_the_end(tmp_path, area, scale, rate):
    text = (HEAD + "  compartments:\n    a: {volume: 20 m^3}\n    b: {volume: 5 m^3}\n"
            "  hatches:\n    ab: {between: [a, b], area: 0.5 m^2}\n"
            f"  supplies:\n    tank: {{N2: 1e9 kg, O2: 1e9 kg, into: [a], max_rate: {rate}}}\n"
            f"leaks:\n  - {{id: l, at: b, area: {area}}}\n"
            f"events:\n  - {{at: 1 min, leak: l, scale: {scale}}}\n")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    o = call_cli(["run", path, "--json"])
    assert not o.crashed(), o.err
    if o.code == 2:  # refused at load: located, no run
        assert str(path) in o.err
        return
    summary = json.loads(o.out)
    if summary["status"] == "ok":
        _no_nan(summary)
    else:
        assert o.code == 1 and "did not complete" in o.err


@pytest.mark.parametrize("field, value, message", [
    ("events", "  - {at: 1 min, leak: l, scale: 1e308}", "less than or equal to 1000000"),
    ("events", "  - {at: 1 min, leak: l, scale: 1000}\n  - {at: 2 min, leak: l, scale: 2000}",
     "multiply its area by 2e+06 in all"),
])
def test_derived_leak_sizes_are_checked_at_load(tmp_path, field, value, message):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "  compartments:\n    a: {volume: 20 m^3}\n"
                    f"leaks:\n  - {{id: l, at: a, area: 1 cm^2}}\n{field}:\n{value}\n", encoding="utf-8")
    o = call_cli(["validate", path])
    assert o.code == 2 and message in o.err, o.err


def test_a_bad_drill_does_not_stop_validate_of_the_others(tmp_path):
    drill = tmp_path / "d.yaml"
    drill.write_text(f"name: d\nscenario: {TWO}\ninjects:\n"
                     "  - {name: big, fault: new_leak, leak: n, in: module, area: 1e9 m^2, at: 1 min}\n"
                     "expect:\n  - {expect: nobody_impaired, weight: 1e308}\n", encoding="utf-8")
    o = call_cli(["validate", drill, TWO, drill])
    assert o.code == 2 and not o.crashed(), o.err
    assert f"{TWO}: ok" in o.out
    assert "injects[0].area: expected a area of at most 10000" in o.err and "weight" in o.err
    assert "pydantic" not in o.err and all(line.startswith(str(drill)) for line in o.err.splitlines())


def test_the_series_limit_counts_compartments(tmp_path):
    comps = "".join(f"    c{i}: {{volume: 1 m^3}}\n" for i in range(200))
    hatches = "".join(f"    h{i}: {{between: [c{i}, c{i + 1}], area: 0.5 m^2}}\n" for i in range(199))
    path = tmp_path / "s.yaml"
    path.write_text(HEAD.replace("duration: 10 min", "duration: 3 d").replace("every: 10 s", "every: 1 s")
                    + "  compartments:\n" + comps + "  hatches:\n" + hatches, encoding="utf-8")
    o = call_cli(["run", path, "--out", tmp_path / "o"], measure_memory=True)
    assert o.code == 2 and "the series would hold" in o.err and "columns" in o.err, o.err
    assert o.peak_bytes < 200e6 and not (tmp_path / "o").exists()


def test_a_huge_design_is_refused_before_anything_is_allocated(tmp_path):
    o = call_cli(["sweep", LEAK, "--vary", "leaks.crack.rate=lin(1, 2, 1000000000) lb/day",
                  "--out", tmp_path / "s"], measure_memory=True)
    assert o.code == 2 and "more than the 10,000,000 accepted" in o.err, o.err
    assert o.peak_bytes < 100e6 and not (tmp_path / "s").exists()


def test_long_text_aliased_many_times_is_refused_quickly(tmp_path):
    path = tmp_path / "s.yaml"
    long = "x" * 100_000
    path.write_text(f"name: &n {long}\nduration: 1 min\nstation: none.yaml\n"
                    "extra: [" + ", ".join(["*n"] * 150_000) + "]\n", encoding="utf-8")
    o = call_cli(["validate", path], measure_memory=True, timeout=60)
    assert o.code == 2 and "characters of text" in o.err and len(o.err) < 2000, o.err[:3000]


def test_did_you_mean_stays_fast_on_thousands_of_unknown_names(tmp_path):
    comps = "".join(f"    comp-{i:04d}: {{volume: 1 m^3}}\n" for i in range(300))
    hatches = "".join(f"    h{i}: {{between: [cmop-{i:05d}, comp-0001], area: 0.5 m^2}}\n" for i in range(30_000))
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "  compartments:\n" + comps + "  hatches:\n" + hatches, encoding="utf-8")
    o = call_cli(["validate", path], timeout=60)
    assert o.code == 2 and "more problems not shown" in o.err and len(o.err.splitlines()) <= 102, o.err[-500:]


def test_a_long_chain_of_compartments_is_drawn(tmp_path):
    comps = "".join(f"  c{i}: {{volume: 1 m^3}}\n" for i in range(1200))
    hatches = "".join(f"  h{i}: {{between: [c{i}, c{i + 1}], area: 0.5 m^2}}\n" for i in range(1199))
    path = tmp_path / "chain.yaml"
    path.write_text("name: chain\natmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}\ntemperature: 295 K\n"
                    "compartments:\n" + comps + "hatches:\n" + hatches, encoding="utf-8")
    from sim.report.plots import station_layout
    from sim.scenario.load import load_station
    from sim.station import build_graph

    pos = station_layout(build_graph(load_station(path)))
    assert len(pos) == 1200 and len({p[0] for p in pos.values()}) > 500


def test_a_loop_around_a_microsecond_wait_is_refused(tmp_path):
    proc = tmp_path / "p.yaml"
    proc.write_text("name: spin\nphases:\n  a:\n    - {do: wait, for: 1e-6 s}\n    - {goto: a}\n", encoding="utf-8")
    o = call_cli(["validate", proc])
    assert o.code == 2 and "loop without any step that lets time pass" in o.err and "at least 1 s" in o.err, o.err


def test_a_paused_live_drill_whose_input_ends_finishes(tmp_path):
    drill = sorted((REPO / "scenarios" / "drills").glob("*.yaml"))[0]
    p = subprocess.run([sys.executable, "-m", "sim.cli", "drill", str(drill), "--live", "--speed", "100000",
                        "--out", str(tmp_path / "d")], input="pause\n", capture_output=True, text=True,
                       timeout=120, cwd=REPO)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    assert "the input ended" in p.stdout
    assert (tmp_path / "d" / "scorecard.json").is_file()


@pytest.mark.parametrize("argv, message", [
    (["run", TWO, "--seed", "-1"], "a seed must be from 0 to 2**63-1"),
    (["run", TWO, "--seed", "1e3"], "a seed must be a whole number"),
    (["replay", "x", "--at", "nan"], None),
    (["sweep", LEAK, "--vary", "leaks.crack.rate=[1] lb/day", "--workers", "lots", "--out", "{tmp}/s"], "--workers"),
    (["sweep", LEAK, "--vary", "leaks.crack.rate=[1] lb/day", "--chunk-size", "0", "--out", "{tmp}/s"], "--chunk-size"),
    (["sweep", LEAK, "--vary", "leaks.crack.rate=[1] lb/day", "--out", "/proc/s"], "under /proc"),
    (["drill", "x.yaml", "--speed", "inf"], "a speed must be"),
])
def test_bad_command_line_values_are_usage_errors(tmp_path, argv, message):
    o = call_cli([a.format(tmp=tmp_path) if isinstance(a, str) else a for a in argv])
    assert o.code == 2 and not o.crashed(), o.err
    if message:
        assert message in o.err, o.err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("setting, message", [
    ("n: 2.5", "n: --n must be a whole number, got 2.5"), ("workers: lots", "workers: --workers must be a whole number"),
    ("replicates: 0", "replicates: --replicates must be >= 1"), ("seed: -3", "seed: a seed must be from 0"),
    ("design: grdi", "design: expected one of grid"), ("out: [a]", "out: expected a path"),
])
def test_bad_sweep_file_values_are_located_before_anything_is_written(tmp_path, setting, message):
    f = tmp_path / "sweep.yaml"
    f.write_text(f"scenario: {LEAK}\nvary: {{leaks.crack.rate: '[1, 2] lb/day'}}\nout: s\n{setting}\n"
                 .replace("out: s\nout: [a]", "out: [a]"), encoding="utf-8")
    o = call_cli(["sweep", "--file", f])
    assert o.code == 2 and f"{f}:" in o.err and message in o.err, o.err
    assert not (tmp_path / "s").exists()
