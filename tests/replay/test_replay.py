"""safehaven replay: identity, a caught alteration, and --at against the series and events."""

from __future__ import annotations

import json
import shutil

import pytest

from sim.cli_report import main
from sim.errors import UsageError
from sim.replay import parse_time, replay
from sim.results.reader import interpolate_series, read_run
from sim.results.state import state_at


@pytest.mark.parametrize("fixture", ["two_run", "iss_run", "iss_variant"])
def test_replay_proves_identity(fixture, request, capsys):
    run = request.getfixturevalue(fixture)
    assert main(["replay", str(run)]) == 0
    assert "identical" in capsys.readouterr().out


def test_altered_events_are_caught(two_run, tmp_path, capsys):
    bad = tmp_path / "altered"
    shutil.copytree(two_run, bad)
    lines = (bad / "events.jsonl").read_text().splitlines(keepends=True)
    event = json.loads(lines[3])
    event["t"] = event["t"] + 1.0
    lines[3] = json.dumps(event, separators=(", ", ": ")) + "\n"
    (bad / "events.jsonl").write_text("".join(lines))
    report = replay(bad)
    assert not report.identical and report.index == 3
    assert report.expected == event and report.got["t"] == event["t"] - 1.0
    assert report.differing_fields == ["t"]
    assert main(["replay", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "first differing event is #3 (line 4" in out


def test_truncated_log_is_caught(two_run, tmp_path):
    bad = tmp_path / "short"
    shutil.copytree(two_run, bad)
    lines = (bad / "events.jsonl").read_text().splitlines(keepends=True)
    (bad / "events.jsonl").write_text("".join(lines[:-1]))
    report = replay(bad)
    assert report.index == len(lines) - 1 and report.expected is None and report.got["kind"] == "run_end"


def test_at_matches_series_and_events(iss_run):
    record = read_run(iss_run)
    loaded = record.load()
    times = [0.0, 600.0, 900.0, 1515.0, 2100.0, 2730.0, 3600.0]  # samples, mid-sample, event instants, end
    by_t = {t: state_at(record.events, t, loaded, record.series) for t in times}
    assert by_t[0.0].leaks == {} and by_t[600.0].leaks["prk-hole"].at == "prk"
    assert by_t[600.0].hatches["zvezda-prk"].open
    assert not by_t[900.0].hatches["zvezda-prk"].open  # an event at exactly T has happened
    assert by_t[2730.0].hatches["zvezda-prk"].valve_open
    assert not by_t[3600.0].hatches["zvezda-prk"].valve_open
    assert by_t[2100.0].leaks["prk-hole"].cda_m2 == pytest.approx(2 * by_t[600.0].leaks["prk-hole"].cda_m2)
    assert by_t[900.0].leaks["prk-hole"].isolated  # nobody aboard: closed off from the rest of the station


def test_at_cli_json(two_run, capsys):
    assert main(["replay", str(two_run), "--at", "00:02:32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["identical"] and out["at"]["t"] == 152.0
    series = out["at"]["series"]
    assert series["interpolated"] and series["bracket"] == [150.0, 155.0]
    record = read_run(two_run)
    p = interpolate_series(record.series, 152.0).p
    assert series["p_Pa"] == pytest.approx(p)
    assert out["at"]["hatches"] == {"module-tunnel": {"open": False, "valve_open": True, "jammed": False,
                                                      "valve_stuck": False}}


def test_at_cli_table(two_run, capsys):
    assert main(["replay", str(two_run), "--at", "35 min"]) == 2  # after the end of the 5 min run
    assert main(["replay", str(two_run), "--at", "4 min"]) == 0
    out = capsys.readouterr().out
    assert "State at 00:04:00" in out and "at a sample time" in out and "module-tunnel" in out


@pytest.mark.parametrize(("text", "seconds"), [("00:35:00", 2100), ("35 min", 2100), ("2100", 2100),
                                               ("0:35", 2100), ("1.5 h", 5400), ("2100 s", 2100)])
def test_parse_time(text, seconds):
    assert parse_time(text) == seconds


def test_parse_time_rejects_nonsense():
    with pytest.raises(UsageError, match="expected a time such as 00:35:00"):
        parse_time("soon")


def test_not_a_run_directory(tmp_path, capsys):
    assert main(["replay", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
