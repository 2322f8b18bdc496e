"""``python -m sim.cli_drill``: batch runs, run directories, exit codes, replay."""

from __future__ import annotations

import json

import yaml

from sim.cli_drill import main


def test_batch_drill_writes_its_scorecard(make_drill, tmp_path, capsys):
    path = make_drill("""
        injects:
          - {name: jam, fault: hatch_jams, hatch: node-capsule, at: 1 min}
        expect:
          - {expect: hatches_closed, hatches: segments, within: 5 min, of: alarm}
          - {expect: nobody_incapacitated, weight: 2}
        """)
    out = tmp_path / "run"
    assert main([str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "score 100" in text and "PASS" in text
    card = json.loads((out / "scorecard.json").read_text())
    assert card["score"] == 100.0 and card["injects"][0]["fired_s"] == 60.0
    session = yaml.safe_load((out / "session.yaml").read_text())
    assert session["mode"] == "batch" and session["commands"] == []
    assert json.loads((out / "summary.json").read_text())["drill"]["score"] == 100.0
    assert (out / "inputs" / "drill.yaml").is_file()
    # the run directory replays to the same events
    assert main(["--replay", str(out)]) == 0
    assert "identical" in capsys.readouterr().out


def test_failed_expectation_exits_1(make_drill, capsys):
    path = make_drill("expect:\n  - {expect: crew_at_vehicles, within: 10 s, of: start}\n")
    assert main([str(path), "--json"]) == 1
    card = json.loads(capsys.readouterr().out)
    assert card["all_met"] is False and card["expectations"][0]["margin_s"] < 0


def test_bad_input_exits_2(make_drill, tmp_path, capsys):
    path = make_drill("injects:\n  - {name: x, fault: hatch_jams, hatch: nowhere, at: 0 s}\n")
    assert main([str(path)]) == 2
    assert "drill.yaml:4: injects[0].hatch: unknown hatch 'nowhere'" in capsys.readouterr().err
    assert main([str(path), "--speed", "0"]) == 2
    assert main(["--replay", str(tmp_path)]) == 2
    assert main([]) == 2
