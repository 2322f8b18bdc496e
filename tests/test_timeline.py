"""As-flown timelines: recorded actions replayed at their times, checked like procedure steps."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.engine import simulate

ROOT = Path(__file__).resolve().parent.parent
AS_FLOWN = ROOT / "scenarios" / "iss-prk-2026-as-flown.yaml"


@pytest.fixture(scope="module")
def as_flown():
    return simulate(sim.load(AS_FLOWN))


def test_actions_happen_at_their_recorded_times(as_flown):
    events = as_flown.events.events
    closed = next(e for e in events if e["kind"] == "hatch" and e["hatch"] == "pma2-dragon" and e["state"] == "closed")
    # recorded at 38 min; closing takes the hatch's close_time (60 s) once fe4 stands beside it
    assert closed["by"] == "fe4"
    assert 38 * 60 + 60 <= closed["t"] < 38 * 60 + 60 + 1e-6
    repair = next(e for e in events if e["kind"] == "repair_start")
    assert repair["duration_s"] == 55 * 60
    assert as_flown.summary["outcome"] == "resumed"
    assert as_flown.summary["checks_passed"]


def test_a_busy_member_takes_the_next_action_when_free(tmp_path):
    text = AS_FLOWN.read_text().replace(
        "  - {at: 40 min, do: open_valve, hatch: zvezda-prk, by: fe5}",
        "  - {at: 40 min, do: open_valve, hatch: zvezda-prk, by: fe5}\n"
        "  - {at: 40 min, do: measure, of: prk, window: 10 min, as: early, by: fe5}",
    ).replace("stations/", str(ROOT / "scenarios" / "stations") + "/")
    path = tmp_path / "busy.yaml"
    path.write_text(text)
    result = simulate(sim.load(path))
    starts = [e for e in result.events.events if e["kind"] == "task_start" and e["crew"] == "fe5"]
    assert [e["task"] for e in starts[:2]] == ["open valve zvezda-prk", "measure prk"]
    assert starts[1]["t"] >= starts[0]["t"] + 10  # after the valve (valve_time 10 s), not at 40 min


def test_control_flow_and_unknown_references_are_located(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"name: t\nstation: {ROOT / 'scenarios' / 'stations' / 'iss-2026.yaml'}\nduration: 1 h\n"
        "crew: [{id: a, at: zvezda}]\n"
        "timeline:\n"
        "  - {at: 1 min, do: close_hatch, hatch: zvezda-pkr, by: a}\n"
        "  - {at: 2 min, goto: x}\n"
        "  - {at: 3 min, do: move, who: a, to: prk}\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:6: timeline[0].hatch: unknown hatch 'zvezda-pkr' (did you mean 'zvezda-prk'?)" in err
    assert any(line.startswith(f"{path}:7: timeline[1]: a timeline entry is an action") for line in err)
    assert len(err) == 2


def test_compare_names_where_procedure_and_as_flown_part(tmp_path, capsys):
    from sim.results.writers import write_run

    flown = simulate(sim.load(AS_FLOWN))
    planned = simulate(sim.load(ROOT / "scenarios" / "iss-prk-2026.yaml"))
    write_run(flown, tmp_path / "flown")
    write_run(planned, tmp_path / "planned")
    assert main(["compare", str(tmp_path / "planned"), str(tmp_path / "flown")]) in (0, 1)
    out = capsys.readouterr().out
    assert "first" in out.lower() and "differ" in out.lower()
