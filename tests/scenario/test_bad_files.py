"""Every file under tests/data/bad/ is refused by ``safehaven validate`` with exit code 2 and the exact
message its first line promises, located at the file path as the user passed it, and no traceback.

The first line of each file is ``# expect: NAME:LINE: MESSAGE`` (or ``NAME: MESSAGE`` for a problem
with the whole file), or ``# expect-re: NAME:REGEX``; NAME is relative to the file's directory, so a
scenario can expect a problem in the station file it names.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

REPO = Path(__file__).resolve().parents[2]
BAD = Path("tests/data/bad")
STATION_FILES = sorted((REPO / BAD / "station").glob("*.yaml"))
SCENARIO_FILES = sorted((REPO / BAD / "scenario").glob("*.yaml"))
ALL_FILES = STATION_FILES + SCENARIO_FILES


def relative(path: Path) -> Path:
    return path.relative_to(REPO)


def expectation(path: Path) -> re.Pattern:
    """The stderr line the file promises, as a pattern over the path as passed (relative to the repo)."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    m = re.fullmatch(r"# (expect|expect-re): ([^:\s]+\.yaml)(:.*)", first)
    assert m, f"{path.name}: the first line must be '# expect: NAME:LINE: MESSAGE', got {first!r}"
    kind, name, rest = m.groups()
    shown = re.escape(str(relative(path).parent / name))
    return re.compile(shown + (re.escape(rest) if kind == "expect" else rest))


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_there_are_enough_bad_files():
    assert len(STATION_FILES) >= 25 and len(SCENARIO_FILES) >= 20


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_validate_refuses_each_bad_file(path, in_repo, capsys):
    pattern = expectation(path)
    code = main(["validate", str(relative(path))])
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.splitlines()
    assert any(pattern.fullmatch(line) for line in lines), f"expected {pattern.pattern!r} in:\n{err}"
    assert "Traceback" not in err and "internal error" not in err
    assert out == ""


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_run_refuses_each_bad_scenario_and_writes_nothing(path, in_repo, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code = main(["run", str(relative(path)), "--out", str(out_dir)])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert any(expectation(path).fullmatch(line) for line in err.splitlines()), err
    assert "Traceback" not in err
    assert not out_dir.exists()


def test_validate_reports_every_file_given_at_once(in_repo, capsys):
    files = [str(relative(p)) for p in ALL_FILES] + ["scenarios/two-volumes-valve.yaml"]
    assert main(["validate", *files]) == 2
    out, err = capsys.readouterr()
    assert out.strip() == "scenarios/two-volumes-valve.yaml: ok (scenario)"
    for path in ALL_FILES:
        assert any(expectation(path).fullmatch(line) for line in err.splitlines()), path.name


def test_a_truly_empty_file_is_refused(tmp_path, capsys):
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}:1: the file is empty, expected a YAML mapping\n"


def test_a_station_path_that_does_not_exist(capsys):
    assert main(["validate", "no/such/station.yaml"]) == 2
    assert capsys.readouterr().err == "no/such/station.yaml: no such file\n"


def safehaven(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


# Through a real process too: the console script, its exit code and its stderr, all files in one go
# (two of them named by absolute path, which messages must echo as given).
ABSOLUTE = {"binary-nul.yaml", "alias-bomb.yaml"}


def test_subprocess_validate_all_bad_files():
    args = [str(p) if p.name in ABSOLUTE else str(relative(p)) for p in ALL_FILES]
    proc = safehaven("validate", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    for path in ALL_FILES:
        pattern = expectation(path).pattern
        if path.name in ABSOLUTE:
            pattern = pattern.replace(re.escape(str(relative(path).parent)), re.escape(str(path.parent)), 1)
        assert any(re.fullmatch(pattern, line) for line in lines), path.name


def test_subprocess_run_bad_scenario_writes_nothing(tmp_path):
    out_dir = tmp_path / "run"
    proc = safehaven("run", str(BAD / "scenario" / "crew-unknown-compartment.yaml"), "--out", str(out_dir))
    assert proc.returncode == 2
    assert "unknown compartment 'zvezdaa'" in proc.stderr and "Traceback" not in proc.stderr
    assert not out_dir.exists()
