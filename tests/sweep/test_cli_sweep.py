"""The ``sweep`` command: exit codes and messages (through ``sim.cli_sweep.main``)."""

from __future__ import annotations

from pathlib import Path

from sim.cli_sweep import main

LEAK = Path(__file__).resolve().parents[1] / "data" / "sweep" / "leak.yaml"


def test_bad_spec_is_a_usage_error(tmp_path, capsys):
    code = main([str(LEAK), "--vary", "leaks.crack.rate=gauss(1, 2)", "--out", str(tmp_path / "s")])
    assert code == 2
    assert "unknown gauss()" in capsys.readouterr().err


def test_sweep_file_unknown_key_names_its_line(tmp_path, capsys):
    f = tmp_path / "sweep.yaml"
    f.write_text(f"scenario: {LEAK}\nvary:\n  leaks.crack.rate: '[1, 2] lb/day'\ndesgin: lhs\n")
    assert main(["--file", str(f), "--out", str(tmp_path / "s")]) == 2
    assert "sweep.yaml:4: desgin: unknown key 'desgin'" in capsys.readouterr().err


def test_sweep_file_then_resume_rerun_and_plot(tmp_path, capsys):
    f = tmp_path / "sweep.yaml"
    f.write_text(f"scenario: {LEAK}\nvary:\n  leaks.crack.rate: log(1, 1000, 3) lb/day\n"
                 f"  station.compartments.tunnel.volume: '[2, 5] m^3'\nout: s\nexecutor: serial\n")
    assert main(["--file", str(f), "--quiet"]) == 0
    assert main(["resume", str(tmp_path / "s"), "--executor", "serial", "--json"]) == 0
    assert '"ran": 0' in capsys.readouterr().out
    assert main(["rerun", str(tmp_path / "s"), "2", "--out", str(tmp_path / "r"), "--quiet"]) in (0, 1)
    assert (tmp_path / "r" / "summary.json").is_file()
    assert main(["plot", str(tmp_path / "s"), "--quiet"]) == 0
    assert len(list((tmp_path / "s" / "plots").glob("*.png"))) == 3
    assert main(["rerun", str(tmp_path / "s"), "99", "--out", str(tmp_path / "r2")]) == 2
