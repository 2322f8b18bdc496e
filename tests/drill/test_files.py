"""Drill files: the shipped examples validate; bad ones give ``file:line: path: message`` errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main

REPO = Path(__file__).resolve().parents[2]
BAD = sorted((REPO / "tests/data/bad/drill").glob("*.yaml"))
EXAMPLES = sorted((REPO / "scenarios/drills").glob("*.yaml"))


def expectation(path: Path) -> re.Pattern:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    m = re.fullmatch(r"# (expect|expect-re): ([^:\s]+\.yaml)(:.*)", first)
    assert m, f"{path.name}: first line must be '# expect: NAME:LINE: MESSAGE'"
    kind, name, rest = m.groups()
    shown = re.escape(str(path.relative_to(REPO).parent / name))
    return re.compile(shown + (re.escape(rest) if kind == "expect" else rest))


def test_three_example_drills_validate(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert len(EXAMPLES) >= 3
    assert main(["validate", *[str(p.relative_to(REPO)) for p in EXAMPLES]]) == 0
    assert capsys.readouterr().out.count("ok (drill)") == len(EXAMPLES)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_drill_files(path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    code = main(["validate", str(path.relative_to(REPO))])
    err = capsys.readouterr().err
    assert code == 2
    assert any(expectation(path).fullmatch(line) for line in err.splitlines()), err
    assert "Traceback" not in err


def test_all_problems_of_a_file_together(make_drill):
    from sim.errors import InputError
    from sim.scenario.drill_load import load_drill

    path = make_drill("""
        injects:
          - {name: jam, fault: hatch_jams, hatch: lab-nod, at: 1 min}
        expect:
          - {expect: hatches_closed, hatches: [lab-node], within: 1 min, of: inject jm}
        """)
    with pytest.raises(InputError, match=r"drill.yaml:5: injects\[0\].hatch: unknown hatch 'lab-nod'") as info:
        load_drill(path)
    assert re.search(r"drill.yaml:7: expect\[0\].of: deadline relative to unknown inject 'jm'", str(info.value))


def test_schema_of_drills():
    from sim.scenario.schema import json_schema

    schema = json_schema("drill")
    assert "injects" in schema["properties"] and "expect" in schema["properties"]
