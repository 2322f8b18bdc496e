"""Hazards to the crew become events, summary entries and default checks; a trapped crew member's
blocked hatch says why; ``resumed`` needs every crew member able, free and in place.

Small inline stations keep these fast; every expectation is cross-checked against the events.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sim

REPO = Path(__file__).resolve().parents[2]

STATION = """\
  name: two modules and a capsule
  temperature: 295 K
  atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}
  compartments:
    lab:  {volume: 40 m^3, traverse: 10 s}
    node: {volume: 20 m^3, traverse: 10 s}
  vehicles:
    capsule: {volume: 8 m^3, docked_to: node, seats: 1, shelter: true, traverse: 5 s,
              life_support: {co2_scrub: 10 m^3/h, o2_supply: 1 kg/day}}
  hatches:
    lab-node: {between: [lab, node], area: 0.5 m^2, valve: 1 cm^2, close_time: 30 s, open_time: 30 s}
    node-capsule: {between: [node, capsule], area: 0.5 m^2, close_time: 30 s, open_time: 30 s}
"""


def scenario(write_yaml, body: str, name: str = "s.yaml") -> Path:
    return write_yaml(name, "name: hazards\nstation:\n" + STATION + "duration: 30 min\noutput: {every: 10 s}\n"
                      + body)


def events_of(result, kind):
    return [e for e in result.events.events if e["kind"] == kind]


def test_more_crew_in_a_vehicle_than_its_seats(write_yaml):
    path = scenario(write_yaml, """\
crew:
  - {id: a, roles: [crew], at: lab}
  - {id: b, roles: [crew], at: lab}
timeline:
  - {at: 1 min, do: move, who: a, to: capsule}
  - {at: 1 min, do: move, who: b, to: capsule}
  - {at: 5 min, do: close_hatch, hatch: node-capsule, by: a, side: capsule}
""")
    result = sim.run(path)
    (event,) = events_of(result, "hazard")
    assert event["hazard"] == "over_capacity" and sorted(event["crew"]) == ["a", "b"] and event["at"] == ["capsule"]
    arrived = [e for e in events_of(result, "move") if e["to"] == "capsule"]
    assert event["t"] == arrived[-1]["t"]  # the moment the second one got in
    (hazard,) = result.summary["hazards"]
    assert hazard["cause"] == "2 crew, 1 seats" and hazard["end_s"] is None
    check = next(c for c in result.summary["checks"] if c["expect"] == "no_over_capacity")
    assert check["default"] and not check["passed"] and "a, b" in check["detail"]
    assert result.summary["outcome"] == "crew_at_risk" and not result.summary["checks_passed"]


def test_a_shelter_whose_hatch_never_sealed(write_yaml):
    path = scenario(write_yaml, """\
crew:
  - {id: a, roles: [crew], at: lab}
timeline:
  - {at: 1 min, do: shelter, who: a, in: capsule, close: false}
  - {at: 10 min, do: move, who: a, to: lab}
""")
    result = sim.run(path)
    (event,) = events_of(result, "hazard")
    assert event["hazard"] == "shelter_not_sealed" and event["at"] == ["capsule"] and event["crew"] == ["a"]
    assert event["t"] == result.summary["duration_s"]  # known only when the run is over
    shelter = result.summary["shelter"]
    assert shelter["compartment"] == "capsule" and shelter["sealed_s"] is None and shelter["duration_s"] is None
    check = next(c for c in result.summary["checks"] if c["expect"] == "no_shelter_not_sealed")
    assert not check["passed"] and "node-capsule never closed" in check["detail"]


def test_crew_who_only_moved_to_a_vehicle_were_not_sheltering(write_yaml):
    path = scenario(write_yaml, """\
crew:
  - {id: a, roles: [crew], at: lab}
timeline:
  - {at: 1 min, do: move, who: a, to: capsule}
  - {at: 10 min, do: move, who: a, to: lab}
""")
    result = sim.run(path)
    assert not events_of(result, "hazard") and result.summary["shelter"]["sealed_s"] is None
    assert not any(c["expect"] == "no_shelter_not_sealed" and not c["passed"] for c in result.summary["checks"])


def test_sealed_into_a_leaking_compartment_and_the_hazard_ending(write_yaml):
    path = scenario(write_yaml, """\
crew:
  - {id: a, roles: [crew], at: node}
  - {id: b, roles: [crew], at: lab}
leaks:
  - {id: crack, at: node, rate: 20 lb/day}
timeline:
  - {at: 1 min, do: close_hatch, hatch: lab-node, by: b, side: lab}
  - {at: 10 min, do: open_hatch, hatch: lab-node, by: b}
""")
    result = sim.run(path)
    (start,) = events_of(result, "hazard")
    (end,) = events_of(result, "hazard_end")
    closed = next(e for e in events_of(result, "hatch") if e["state"] == "closed")
    opened = next(e for e in events_of(result, "hatch") if e["state"] == "open")
    assert start["hazard"] == "sealed_in" and start["crew"] == ["a"] and start["t"] == closed["t"]
    # the open capsule's life support serves the node: leaking, but not isolated
    assert start["cause"] == "leaking (crack)" and start["at"] == ["node", "capsule"]
    assert end["t"] == opened["t"]
    (hazard,) = result.summary["hazards"]
    assert hazard["t_s"] == pytest.approx(closed["t"]) and hazard["end_s"] == pytest.approx(opened["t"])
    check = next(c for c in result.summary["checks"] if c["expect"] == "no_sealed_in")
    assert not check["passed"]  # it happened, even though it ended
    assert result.summary["outcome"] != "crew_at_risk"  # nothing is left at the end


def test_a_trapped_crew_member_is_told_why_and_the_outcome_says_so(write_yaml):
    path = scenario(write_yaml, """\
crew:
  - {id: a, roles: [crew], at: lab}
leaks:
  - {id: hole, at: node, area: 2 cm^2, cd: 0.6}
initial:
  hatches: {lab-node: closed}
timeline:
  - {at: 5 min, do: move, who: a, to: capsule}
""")
    result = sim.run(path)
    (trapped,) = events_of(result, "trapped")
    (block,) = trapped["blocked_by"]
    assert block["hatch"] == "lab-node" and block["cause"] == "pressure difference"
    assert block["dp_Pa"] > block["limit_Pa"]
    crew = result.summary["crew"]["a"]
    assert crew["trapped"]["blocked_by"][0]["cause"] == "pressure difference" and crew["trapped"]["to"] == "capsule"
    assert not crew["in_place"] and crew["destination"] == "capsule"
    assert result.summary["outcome"] == "crew_trapped"


def test_a_jammed_hatch_shows_as_the_cause(write_yaml, tmp_path):
    drill = write_yaml("d.yaml", "name: jam\nscenario:\n  name: jam scenario\n  station:\n"
                       + "".join("  " + line + "\n" for line in STATION.splitlines())
                       + """\
  duration: 20 min
  crew:
    - {id: a, roles: [crew], at: lab, vehicle: capsule}
  timeline:
    - {at: 1 min, do: shelter, who: a, in: capsule}
    - {at: 10 min, do: open_hatch, hatch: node-capsule, by: a}
    - {at: 11 min, do: move, who: a, to: lab}
injects:
  - {name: jam, fault: hatch_jams, hatch: node-capsule, at: 5 min}
expect:
  - {expect: nobody_incapacitated}
""")
    out = tmp_path / "jam-run"
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    done = subprocess.run([*cmd, "drill", str(drill), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads((out / "summary.json").read_text())
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    (trapped,) = [e for e in events if e["kind"] == "trapped"]
    assert trapped["blocked_by"] == [{"hatch": "node-capsule", "cause": "jammed"}]
    # trapped in the capsule: not "resumed", not "sheltering"
    assert summary["outcome"] == "crew_trapped"
    assert summary["crew"]["a"]["trapped"]["blocked_by"][0]["cause"] == "jammed"


def test_resumed_needs_every_crew_member_in_place(write_yaml):
    path = scenario(write_yaml, """\
crew:
  - {id: a, roles: [crew], at: lab}
  - {id: b, roles: [crew], at: lab}
timeline:
  - {at: 1 min, do: shelter, who: a, in: capsule}
  - {at: 10 min, do: open_hatch, hatch: node-capsule, by: a}
  - {at: 11 min, do: move, who: a, to: post}
""")
    result = sim.run(path)
    assert result.summary["outcome"] == "resumed"
    assert all(c["in_place"] for c in result.summary["crew"].values())
