"""Class 4, tampered artefacts: every reader of a run, sweep or session directory answers a damaged
file with a located exit-2 message naming it, never exit 3, a traceback or a made-up result.

Hand-written cases for each file, then hypothesis: any file of a run directory truncated, cut
short, or with bytes flipped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import call_cli, clean_env

READERS = (["replay", "{run}"], ["report", "{run}", "--html", "{tmp}/r.html"], ["compare", "{run}", "{run}"])


@pytest.fixture(autouse=True)
def _env():
    clean_env()


def _edit(path: Path, how: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if how == "truncate":
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif how == "empty":
        path.write_text("", encoding="utf-8")
    elif how == "not-json":
        path.write_text("this is not JSON\n", encoding="utf-8")
    elif how == "array":
        path.write_text("[1, 2, 3]\n", encoding="utf-8")
    elif how == "nan":
        path.write_text(text.replace('"t": 0.0', '"t": NaN', 1), encoding="utf-8")
    elif how == "t-text":
        e = json.loads(lines[1]) | {"t": "soon"}
        path.write_text("\n".join([lines[0], json.dumps(e), *lines[2:]]) + "\n", encoding="utf-8")
    elif how == "t-missing":
        e = json.loads(lines[1])
        del e["t"]
        path.write_text("\n".join([lines[0], json.dumps(e), *lines[2:]]) + "\n", encoding="utf-8")
    elif how == "t-backwards":
        path.write_text("\n".join([*lines, json.dumps({"t": 0.0, "kind": "late"})]) + "\n", encoding="utf-8")
    elif how == "ragged":
        path.write_text("\n".join([*lines[:3], "1,2", *lines[3:]]) + "\n", encoding="utf-8")
    elif how == "text-value":
        path.write_text("\n".join([*lines[:2], lines[2].replace(lines[2].split(",")[1], "abc", 1), *lines[3:]]) + "\n",
                        encoding="utf-8")
    elif how == "nan-value":
        path.write_text("\n".join([*lines[:2], lines[2].replace(lines[2].split(",")[1], "nan", 1), *lines[3:]]) + "\n",
                        encoding="utf-8")
    elif how == "header-only":
        path.write_text(lines[0] + "\n", encoding="utf-8")
    elif how == "seed-1e999":
        path.write_text(text.replace('"seed": 1', '"seed": 1e999', 1), encoding="utf-8")
    elif how == "seed-text":
        path.write_text(text.replace('"seed": 1', '"seed": "one"', 1), encoding="utf-8")
    elif how == "overrides-number":
        path.write_text(text.replace('"overrides": [', '"overrides": [3, ', 1), encoding="utf-8")
    else:
        raise AssertionError(how)


CASES = [("summary.json", h) for h in ("truncate", "empty", "not-json", "array")] + \
        [("events.jsonl", h) for h in ("truncate", "not-json", "array", "nan", "t-text", "t-missing", "t-backwards")] + \
        [("series.csv", h) for h in ("truncate", "empty", "ragged", "text-value", "nan-value")] + \
        [("inputs/manifest.json", h) for h in ("not-json", "array", "seed-1e999", "seed-text", "overrides-number")]


@pytest.mark.parametrize("name, how", CASES, ids=[f"{n}-{h}" for n, h in CASES])
def test_a_tampered_run_directory_is_a_located_input_error(two_run, tmp_path, name, how):
    run = tmp_path / "run"
    shutil.copytree(two_run, run)
    _edit(run / name, how)
    for argv in READERS:
        o = call_cli([a.format(run=run, tmp=tmp_path) for a in argv])
        assert o.code in (1, 2) and not o.crashed(), (argv, o.err)
        if o.code == 2:
            assert str(run / name) in o.err or str(run) in o.err, o.err
        else:  # the file still parses (a truncation at a line end): replay says it differs
            assert argv[0] == "replay" and "DIFFERENT" in o.out, o.out


@pytest.mark.parametrize("what", ["not-parquet", "empty", "truncated"])
def test_a_damaged_parquet_series_is_a_located_input_error(two_run, tmp_path, what):
    from sim.api import load
    from sim.engine import simulate
    from sim.results.writers import write_run

    run = tmp_path / "run"
    write_run(simulate(load(Path(two_run) / "inputs" / "two-volumes-valve.yaml", ["duration=2 min"])), run,
              fmt="parquet")
    p = run / "series.parquet"
    data = p.read_bytes()
    p.write_bytes({"not-parquet": b"PAR1 but not really", "empty": b"", "truncated": data[: len(data) // 2]}[what])
    o = call_cli(["report", run, "--html", tmp_path / "r.html"])
    assert o.code == 2 and "series.parquet" in o.err and not o.crashed(), o.err


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    from sim.sweep import parse_vary, run_sweep

    from .test_paths import LEAK

    out = tmp_path_factory.mktemp("sweep") / "s"
    run_sweep(LEAK, [parse_vary("leaks.crack.rate=[1, 2, 3] lb/day")], out, executor="serial", chunk_size=1)
    return out


@pytest.mark.parametrize("what", ["design-truncated", "design-empty", "design-foreign", "part-empty",
                                  "part-foreign", "part-truncated", "input-edited", "meta-seed"])
def test_a_tampered_sweep_directory_is_a_located_input_error(small_sweep, tmp_path, what):
    import pyarrow as pa
    import pyarrow.parquet as pq

    sweep = tmp_path / "s"
    shutil.copytree(small_sweep, sweep)
    design = sweep / "design.parquet"
    part = sorted((sweep / "parts").iterdir())[0]
    if what == "design-truncated":
        design.write_bytes(design.read_bytes()[:200])
    elif what == "design-empty":
        design.write_bytes(b"")
    elif what == "design-foreign":
        pq.write_table(pa.table({"x": [1]}), design)
    elif what == "part-empty":
        part.write_bytes(b"")
    elif what == "part-foreign":
        part.write_text("run_id,status\n0,ok\n")
    elif what == "part-truncated":
        part.write_bytes(part.read_bytes()[:-30])
    elif what == "input-edited":
        scen = next((sweep / "inputs").glob("*.yaml"))
        scen.write_text(scen.read_text() + "\n# edited\n")
    elif what == "meta-seed":
        from .test_paths import _tamper_sweep_meta

        _tamper_sweep_meta(sweep, lambda m: m["settings"].__setitem__("root_seed", 1e300))
    # rerun reads the design and the inputs, not the parts; plot reads the design and the parts
    reads = {"resume": True, "rerun": not what.startswith("part"), "plot": what != "input-edited"}
    for argv in (["sweep", "resume", sweep, "--executor", "serial", "--quiet"],
                 ["sweep", "rerun", sweep, "0", "--out", tmp_path / "r", "--quiet"],
                 ["sweep", "plot", sweep, "--out", tmp_path / "plots", "--quiet"]):
        o = call_cli(argv)
        assert not o.crashed(), (argv, o.err)
        if reads[argv[1]]:
            assert o.code == 2 and str(sweep) in o.err, (argv, o.err)
        else:
            assert o.code == 0, (argv, o.err)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["summary.json", "events.jsonl", "series.csv", "inputs/manifest.json"]),
       cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_any_damage_to_a_run_directory_is_answered(two_run, tmp_path_factory, name, cut, flips):
    run = tmp_path_factory.mktemp("h") / "run"
    shutil.copytree(two_run, run)
    p = run / name
    data = bytearray(p.read_bytes())
    data = data[: max(0, int(len(data) * cut))] if cut < 0.98 else data
    for where, byte in flips:
        if data:
            data[min(len(data) - 1, int(where * len(data)))] = byte
    p.write_bytes(bytes(data))
    o = call_cli(["report", run, "--html", run.parent / "r.html"])
    assert not o.crashed(), o.err
    assert o.code in (0, 2), o.err
    o = call_cli(["replay", run])
    assert not o.crashed() and o.code in (0, 1, 2), o.err
