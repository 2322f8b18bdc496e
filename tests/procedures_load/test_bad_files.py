"""Every bad procedure file is refused with the located message its first lines announce.

Each file under ``tests/data/bad/procedure/`` (a procedure alone) and
``tests/data/bad/scenario_procedure/`` (a scenario whose procedure breaks a cross-reference)
starts with one ``# expect: FILE:LINE: PATH: MESSAGE`` line per problem (or ``# expect-re: REGEX``
matched against a whole line). The command line must exit 2, print exactly those lines on stderr
and no traceback; ``run`` must refuse a bad scenario before it creates its output directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main

DATA = Path(__file__).resolve().parent.parent / "data" / "bad"
PROCEDURES = sorted((DATA / "procedure").glob("*.yaml"))
SCENARIOS = sorted((DATA / "scenario_procedure").glob("*.yaml"))


def expectations(path: Path) -> list[tuple[str, str]]:
    """The ``(kind, text)`` pairs of the leading ``# expect:`` / ``# expect-re:`` comment lines."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*(expect|expect-re):\s?(.*)$", line)
        if not m:
            break
        out.append((m.group(1), m.group(2).rstrip()))
    return out


def assert_reported(err: str, path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    for kind, text in expected:
        if kind == "expect":
            assert text in lines, f"missing {text!r} in:\n{err}"
        else:
            assert any(re.fullmatch(text, line) for line in lines), f"no line matches {text!r} in:\n{err}"
    assert len(lines) == len(expected), f"unexpected extra lines:\n{err}"


def test_enough_bad_files():
    assert len(PROCEDURES) >= 30
    assert len(SCENARIOS) >= 15


@pytest.mark.parametrize("path", PROCEDURES + SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bad_file_is_refused(path, capsys, monkeypatch):
    monkeypatch.chdir(path.parent)
    code = main(["validate", path.name])
    captured = capsys.readouterr()
    assert code == 2
    assert_reported(captured.err, path)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_bad_scenario_procedure_is_not_run(path, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(path.parent)
    out = tmp_path / "o"
    code = main(["run", path.name, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert not out.exists()
    assert_reported(captured.err, path)


def test_three_problems_of_one_file_are_reported_together(capsys, monkeypatch):
    path = DATA / "procedure" / "three-errors.yaml"
    monkeypatch.chdir(path.parent)
    assert main(["validate", path.name]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "three-errors.yaml:8: phases.repair[0]: unknown step kind 'repiar' (did you mean 'repair'?)",
        "three-errors.yaml:10: phases.measure[0].window: expected a time, got 30 kg",
        "three-errors.yaml:11: phases.measure[1].els: unknown key 'els' (did you mean 'else'?)",
    ]


def test_the_station_of_the_bad_scenarios_is_good(capsys):
    assert main(["validate", str(DATA / "scenario_procedure" / "stations" / "small.yaml")]) == 0
