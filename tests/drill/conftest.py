"""A small station, scenario and procedure for drills, written into a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

STATION = """\
name: Drill station
temperature: 295 K
atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}
compartments:
  lab:  {volume: 50 m^3, segment: A, traverse: 20 s}
  node: {volume: 30 m^3, segment: B, traverse: 20 s}
vehicles:
  capsule: {volume: 9 m^3, docked_to: node, seats: 3, shelter: true, segment: B, traverse: 10 s}
hatches:
  lab-node:     {between: [lab, node], area: 0.5 m^2, valve: 1 cm^2, close_time: 30 s}
  node-capsule: {between: [node, capsule], area: 0.5 m^2, valve: 1 cm^2, close_time: 30 s}
gas_supply:
  tanks: {N2: 10 kg, O2: 10 kg, into: [node], max_rate: 0.5 kg/min}
limits: {reserve_floor: 490 mmHg, ppO2_min: 16 kPa, ppCO2_max: 1.0 kPa}
"""

SCENARIO = """\
name: Drill scenario
station: station.yaml
duration: 30 min
seed: 1
crew:
  - {id: a, roles: [crew], at: lab, vehicle: capsule}
  - {id: b, roles: [crew], at: node, vehicle: capsule}
leaks:
  - {id: crack, at: lab, diameter: 4 mm, start: 2 min}
run:
  - {procedure: respond.yaml, on: rapid_depress}
"""

PROCEDURE = """\
name: Respond to a depress
roles: [crew]
phases:
  gather:
    - {do: move, who: all, to: vehicle}
  assess:
    - {do: measure, of: station, what: treserve, window: 1 min, as: reserve, by: crew}
  isolate:
    - {do: close_hatch, hatch: lab-node, by: crew, side: node}
"""


@pytest.fixture
def drill_dir(tmp_path) -> Path:
    """A directory with station.yaml, scenario.yaml (a 4 mm hole in the lab at 2 min) and respond.yaml."""
    (tmp_path / "station.yaml").write_text(STATION)
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "respond.yaml").write_text(PROCEDURE)
    return tmp_path


@pytest.fixture
def make_drill(drill_dir):
    """Write a drill (the body after 'scenario:') and return its path."""

    def make(body: str, name: str = "drill.yaml", scenario: str = "scenario.yaml") -> Path:
        text = f"name: Test drill\nscenario: {scenario}\n" + textwrap.dedent(body)
        path = drill_dir / name
        path.write_text(text)
        return path

    return make


def run_drill(path, commands=None, seed=None):
    """Load and run a drill (commands: recorded session records, applied as a replay would)."""
    from sim.drill.injects import DrillRun
    from sim.drill.session import ReplaySource, control_process
    from sim.scenario.drill_load import load_drill

    run = DrillRun(load_drill(path), seed, mode="live" if commands is not None else "batch")
    control = control_process(ReplaySource(commands)) if commands is not None else None
    result = run.run(control)
    return run, result


def kinds(result, kind):
    return [e for e in result.events.events if e["kind"] == kind]
