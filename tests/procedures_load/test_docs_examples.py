"""Every whole procedure shown in docs/procedures.md is valid, alone and against the ISS scenario."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main

REPO = Path(__file__).resolve().parent.parent.parent
DOC = REPO / "docs" / "procedures.md"


def procedure_blocks() -> list[str]:
    """The text of every ```yaml block of the reference that is a whole procedure (has phases:)."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    return [b for b in blocks if re.search(r"^phases:", b, flags=re.M)]


BLOCKS = procedure_blocks()

# The crew, leak and station of scenarios/iss-prk-2026.yaml: every role the examples use is held.
SCENARIO = """\
name: docs example
station: {station}
duration: 1 h
crew:
  - {{id: cdr, roles: [usos, shelter], at: harmony, vehicle: dragon}}
  - {{id: fe1, roles: [usos, shelter], at: destiny, vehicle: dragon}}
  - {{id: fe5, roles: [rs, repair], at: zvezda, vehicle: soyuz}}
  - {{id: fe6, roles: [rs, repair], at: zarya, vehicle: soyuz}}
leaks:
  - {{id: prk-crack, at: prk, rate: 1.8 lb/day}}
run:
  - {{procedure: proc.yaml, at: 1 min}}
"""


def test_every_step_kind_has_a_whole_example():
    from sim.scenario.procedure_model import STEP_KINDS

    text = "\n".join(BLOCKS)
    for kind in STEP_KINDS:
        pattern = rf"\b{kind}:" if kind in ("if", "goto", "parallel") else rf"\bdo: {kind}\b"
        assert re.search(pattern, text), f"no whole-procedure example uses {kind!r}"


@pytest.mark.parametrize("text", BLOCKS, ids=lambda t: re.search(r"^name: (.*)$", t, re.M).group(1))
def test_example_validates_alone(text, tmp_path, capsys):
    path = tmp_path / "proc.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("text", BLOCKS, ids=lambda t: re.search(r"^name: (.*)$", t, re.M).group(1))
def test_example_validates_in_a_scenario(text, tmp_path, capsys):
    (tmp_path / "proc.yaml").write_text(text, encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    station = (REPO / "scenarios" / "stations" / "iss-2026.yaml").as_posix()
    scenario.write_text(SCENARIO.format(station=station), encoding="utf-8")
    assert main(["validate", str(scenario)]) == 0, capsys.readouterr().err
