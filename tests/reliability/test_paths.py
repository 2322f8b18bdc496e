"""Class 1, path and file-system trust: the one resolver of sim/paths.py and every place that uses it.

Stored paths are hostile (hypothesis draws them); special files are refused without reading them;
outputs are refused before any work when they would destroy an input; a sweep directory crafted to
write outside its temporary folder, and a run directory whose manifest points outside, are refused.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError, UsageError
from sim.paths import (
    check_output,
    inside,
    read_bytes,
    recover_directory,
    replace_directory,
    temporary_directory,
)

from .harness import REPO, call_cli, clean_env

TWO = REPO / "scenarios" / "two-volumes-valve.yaml"
LEAK = REPO / "tests" / "data" / "sweep" / "leak.yaml"

_parts = st.sampled_from(["..", ".", "", "a", "inputs", "x.yaml", "..a", "a..", " ", "\x00", "\\", "\n", "/"])
hostile_paths = st.one_of(
    st.lists(_parts, min_size=1, max_size=6).map("/".join),
    st.text(max_size=30),
    st.sampled_from(["/etc/passwd", "../../x", "a/../../b", "./a", "a//b", "a/", "~/x", "link/x.yaml"]),
)


@pytest.fixture(autouse=True)
def _env():
    clean_env()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.one_of(hostile_paths, st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_a_stored_path_never_leads_outside_its_root(tmp_path, stored):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True, exist_ok=True)
    if not (root / "link").is_symlink():
        (root / "link").symlink_to(tmp_path)  # a link inside the root that leads out of it
    try:
        got = inside(root, stored, display="manifest.json")
    except InputError as exc:
        assert str(exc).startswith("manifest.json: ")
        assert len(str(exc)) < 400
        return
    real = os.path.realpath(got)
    assert real == os.path.realpath(root) or real.startswith(os.path.realpath(root) + os.sep)
    assert ".." not in Path(stored).parts and not stored.startswith("/")


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "/dev/stdin", "/dev/urandom", "fifo", "dir", "loop"])
def test_special_files_are_refused_without_being_read(tmp_path, special):
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    elif special == "dir":
        path = tmp_path
    elif special == "loop":
        path = tmp_path / "loop"
        path.symlink_to(path)
    else:
        path = Path(special)
    with pytest.raises(InputError, match=r"(is a|symbolic link loop)"):
        read_bytes(path, limit=100)
    for argv in (["validate", path], ["graph", path], ["run", path, "--out", tmp_path / "o"]):
        o = call_cli(argv, timeout=10)
        assert o.code == 2 and not o.crashed(), (argv, o.err)
    # the same file named from inside a scenario, as its station
    scen = tmp_path / "s.yaml"
    scen.write_text(f"name: x\nduration: 1 min\nstation: {path}\n", encoding="utf-8")
    o = call_cli(["validate", scen], timeout=10)
    assert o.code == 2 and not o.crashed(), o.err
    assert "station" in o.err


def test_a_file_read_as_yaml_is_never_echoed_whole(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("".join(f"user{i}:x:{i}:{i}:secret-{i}:/home/u{i}:/bin/sh\n" for i in range(2000)))
    o = call_cli(["validate", secret])
    assert o.code == 2 and "secret-1999" not in o.err and len(o.err) < 1000, o.err[:2000]


def test_every_read_is_size_bounded(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(InputError, match="larger than the 1,000 accepted"):
        read_bytes(big, limit=1000)


# -- outputs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("out, message", [
    (".", "current directory"), ("..", "current directory"), ("/proc/x", "under /proc"),
    ("/sys/x", "under /sys"), ("a" * 250, "250 characters long"), ("scenarios", "an input of this command"),
    ("scenarios/two-volumes-valve.yaml", "not a directory"),
])
def test_run_refuses_an_output_before_any_work(tmp_path, monkeypatch, out, message):
    work = tmp_path / "w"
    shutil.copytree(REPO / "scenarios", work / "scenarios", ignore=shutil.ignore_patterns("drills"))
    monkeypatch.chdir(work)
    before = sorted(p.relative_to(work) for p in work.rglob("*"))
    o = call_cli(["run", "scenarios/two-volumes-valve.yaml", "--out", out, "--force", "--quiet"])
    assert o.code == 2 and message in o.err and not o.crashed(), o.err
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == before


def test_force_never_replaces_a_directory_that_is_not_a_run(tmp_path):
    victim = tmp_path / "notes"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    o = call_cli(["run", TWO, "--out", victim, "--force", "--quiet", "--set", "duration=1 min"])
    assert o.code == 2 and "not a run directory" in o.err
    assert (victim / "thesis.tex").read_text() == "years of work"


def test_graph_png_must_name_a_png_file(tmp_path):
    o = call_cli(["graph", TWO, "--png", tmp_path])
    assert o.code == 2 and "is a directory" in o.err
    assert not Path(str(tmp_path) + ".png").exists()
    o = call_cli(["graph", TWO, "--png", tmp_path / "g.svg"])
    assert o.code == 2 and ".png" in o.err
    o = call_cli(["graph", TWO, "--png", tmp_path / "g.png"])
    assert o.code == 0 and (tmp_path / "g.png").stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]


def test_check_output_accepts_an_ordinary_new_directory(tmp_path):
    assert check_output(tmp_path / "runs" / "new") == tmp_path / "runs" / "new"
    with pytest.raises(UsageError, match="holds"):
        check_output(tmp_path, inputs=[tmp_path / "x" / "s.yaml"])


# -- the recovery rule of a --force replacement -------------------------------------------------
def _dir(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "summary.json").write_text(text)
    return path


@pytest.mark.parametrize("stage", ["built", "ready", "old moved", "new in place"])
def test_a_replacement_killed_between_any_two_steps_loses_nothing(tmp_path, stage):
    """Replay each step of replace_directory as a kill would leave it, then recover."""
    out = _dir(tmp_path / "run", "old")
    tmp = temporary_directory(out)
    (tmp / "summary.json").write_text("new")
    dead = tmp.name.replace(f".{os.getpid()}.", ".999999999.")  # the pid of a writer that is gone
    tmp = tmp.rename(tmp.with_name(dead))
    ready = tmp.with_name(tmp.name.removesuffix(".partial") + ".ready")
    old = tmp.with_name(tmp.name.removesuffix(".partial") + ".old")
    if stage in ("ready", "old moved", "new in place"):
        tmp.rename(ready)
    if stage in ("old moved", "new in place"):
        out.rename(old)
    if stage == "new in place":
        ready.rename(out)
    recover_directory(out)
    expected = "old" if stage == "built" else "new"  # a complete new version is never thrown away
    assert (out / "summary.json").read_text() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_replace_directory_replaces(tmp_path):
    out = _dir(tmp_path / "run", "old")
    tmp = temporary_directory(out)
    (tmp / "summary.json").write_text("new")
    replace_directory(tmp, out)
    assert (out / "summary.json").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["run"]


# -- stored paths in run and sweep directories --------------------------------------------------
def test_replay_refuses_a_scenario_outside_the_run_directory(two_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(two_run, run)
    outside = tmp_path / "elsewhere.yaml"
    shutil.copy(TWO, outside)
    manifest = run / "inputs" / "manifest.json"
    m = json.loads(manifest.read_text())
    for hostile in ("../../elsewhere.yaml", str(outside), "link.yaml"):
        (run / "inputs" / "link.yaml").unlink(missing_ok=True)
        (run / "inputs" / "link.yaml").symlink_to(outside)
        manifest.write_text(json.dumps(m | {"scenario": hostile}))
        o = call_cli(["replay", run])
        assert o.code == 2 and "manifest.json" in o.err and not o.crashed(), o.err
    # a scenario inside inputs/ whose station reference leads out
    (run / "inputs" / "link.yaml").unlink()
    (tmp_path / "station.yaml").write_text((REPO / "scenarios" / "stations" / "iss-2026.yaml").read_text())
    (run / "inputs" / "s.yaml").write_text("name: x\nduration: 1 min\nstation: ../../station.yaml\n")
    manifest.write_text(json.dumps(m | {"scenario": "s.yaml"}))
    o = call_cli(["replay", run])
    assert o.code == 2 and "outside" in o.err and not o.crashed(), o.err


def _tamper_sweep_meta(sweep: Path, change) -> None:
    import pyarrow.parquet as pq

    from sim.sweep.store import META_KEY

    table = pq.read_table(sweep / "design.parquet")
    meta = json.loads(table.schema.metadata[META_KEY])
    change(meta)
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), sweep / "design.parquet")


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    from sim.sweep import parse_vary, run_sweep

    out = tmp_path_factory.mktemp("sweep") / "s"
    run_sweep(LEAK, [parse_vary("leaks.crack.rate=[1, 2] lb/day")], out, executor="serial")
    return out


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink-dir", "symlink-file"])
def test_a_crafted_sweep_directory_cannot_write_outside(small_sweep, tmp_path, how):
    import hashlib

    sweep = tmp_path / "s"
    shutil.copytree(small_sweep, sweep, symlinks=True)
    shutil.rmtree(sweep / "parts")
    (sweep / "parts").mkdir()
    target = tmp_path / "victim"
    target.mkdir()
    payload = b"name: pwned\n"
    rel = {"dotdot": "../../victim/pwned.yaml", "absolute": str(target / "pwned.yaml"),
           "symlink-dir": "out/pwned.yaml", "symlink-file": "pwned.yaml"}[how]
    if how == "symlink-dir":
        (sweep / "inputs" / "out").symlink_to(target)
        (target / "pwned.yaml").write_bytes(payload)
    elif how == "symlink-file":
        (target / "real.yaml").write_bytes(payload)
        (sweep / "inputs" / "pwned.yaml").symlink_to(target / "real.yaml")
    else:
        (sweep / "inputs" / "pwned.yaml").write_bytes(payload)

    def change(meta):
        meta["inputs"]["files"].append(rel)
        meta["inputs"]["sha256"][rel] = hashlib.sha256(payload).hexdigest()

    _tamper_sweep_meta(sweep, change)
    before = sorted(p.name for p in target.iterdir())
    for argv in (["sweep", "resume", sweep, "--executor", "serial", "--quiet"],
                 ["sweep", "rerun", sweep, "0", "--out", tmp_path / "r"]):
        o = call_cli(argv)
        assert o.code == 2 and "design.parquet" in o.err and not o.crashed(), o.err
    assert sorted(p.name for p in target.iterdir()) == before
    assert not list((sweep / "parts").iterdir())
