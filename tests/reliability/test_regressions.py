"""Inputs that once crashed the program, kept so they never do again."""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.cli import main

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_sibling_field_errors_are_not_dropped_as_union_noise(tmp_path, capsys):
    """A step with two wrongly typed fields once validated clean and crashed the run (KeyError)."""
    procedure = tmp_path / "procedures" / "crash.yaml"
    procedure.parent.mkdir()
    shutil.copy(HERE / "repro" / "fuzz-procedure-keyerror.yaml", procedure)
    assert main(["validate", str(procedure)]) == 2
    err = capsys.readouterr().err
    assert ":24: phases.repair[0].leak: input should be a valid string, got a mapping" in err
    assert ":34: phases.repair[0].by: input should be a valid string, got a list" in err
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    out = tmp_path / "o"
    code = main(["run", str(tmp_path / "scenarios" / "iss-prk-2026.yaml"),
                 "--set", "run.0.procedure=../procedures/crash.yaml", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "internal error" not in capsys.readouterr().err
