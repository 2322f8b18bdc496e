"""The state derived from events equals the engine's own state, at sampled instants (issue 10).

Every shipped scenario and drill, over several seeds, and random procedures on random stations,
run once with the engine probe (:mod:`sim.probe`), which reads the live simulation just before the
clock passes each instant; the state :class:`~sim.results.state.StateTracker` derives from the
logged events must be the same at every instant: crew location, vehicle, activity, status,
trapped and the hatch waited on, every hatch and valve with its faults, leaks (area, isolation),
the atmosphere's alarms, each procedure's phase and status, who is in each shelter.

The instants are just before and just after every event, halfway between events, and random ones.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from state_check import derived_states, differences, probed_run, sample_times

import sim
from sim.drill.injects import DrillRun
from sim.engine import Simulation
from sim.scenario.drill_load import load_drill

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = [*sorted((REPO / "scenarios").glob("*.yaml")), REPO / "tests" / "data" / "state" / "trapped-equalize.yaml"]
DRILLS = sorted((REPO / "scenarios" / "drills").glob("*.yaml"))
SEEDS = (1, 2, 3)


def _random_procedures():
    """The random-procedure generator of tests/procedures (one generator for both properties)."""
    path = REPO / "tests" / "procedures" / "test_random_procedures.py"
    spec = importlib.util.spec_from_file_location("random_procedures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scenarios


def _compare(loaded, make, seed_rng, check_unprobed=None):
    """Run with the probe, derive the state from the events, return the differences."""
    # a first pass for the event times (the probe must not change them: checked below)
    plain = check_unprobed() if check_unprobed is not None else None
    times = sample_times(plain.events.events if plain else [], loaded.scenario.duration, seed_rng)
    result, engine = probed_run(make, times)
    if plain is not None:
        assert list(result.events.lines()) == list(plain.events.lines()), "the probe changed the run"
    derived = derived_states(loaded, result.events.events, times)
    assert set(engine) == set(times)
    return [d for t in times for d in differences(derived[t], engine[t])]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenarios(path, seed):
    loaded = sim.load(path)
    diffs = _compare(loaded, lambda env: (Simulation(loaded, seed, env=env), None), np.random.default_rng(seed),
                     lambda: Simulation(loaded, seed).run())
    assert not diffs, "\n".join(diffs[:20])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", DRILLS, ids=lambda p: p.stem)
def test_drills(path, seed):
    drill = load_drill(path)

    def make(env):
        run = DrillRun(drill, seed, env)
        return run.sim, run

    diffs = _compare(drill.loaded, make, np.random.default_rng(seed), lambda: DrillRun(drill, seed).run())
    assert not diffs, "\n".join(diffs[:20])


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_random_procedures()())
def test_random_procedures(case):
    scenario, procedure = case
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "procedure.yaml").write_text(json.dumps(procedure), encoding="utf-8")
        path = Path(tmp) / "scenario.yaml"
        path.write_text(json.dumps(scenario), encoding="utf-8")
        try:
            loaded = sim.load(path)
        except sim.InputError:
            return  # rejected at load time: nothing runs (tests/procedures checks the message)
        diffs = _compare(loaded, lambda env: (Simulation(loaded, env=env), None), np.random.default_rng(0),
                         lambda: Simulation(loaded).run())
    assert not diffs, "\n".join(diffs[:20])


SESSION = [  # a trainee's commands on the jammed-hatch drill, and the trainer's manual inject
    {"t": 1700.0, "command": "move fe1 to harmony"},
    {"t": 1950.0, "command": "close hatch pma2-dragon by cdr"},
    {"t": 2300.0, "command": "inject progress-tanks-lost"},
    {"t": 2400.0, "command": "measure prk over 2 min by fe6"},
    {"t": 2600.0, "command": "shelter shelter in dragon"},
    {"t": 3000.0, "command": "start nothing-such"},
]


def test_live_session_replayed():
    """A live session's commands (one-step procedures) and a trainer's inject, as a replay applies them."""
    from sim.drill.session import ReplaySource, control_process

    drill = load_drill(REPO / "scenarios" / "drills" / "prk-hatch-jams.yaml")

    def run_of(env=None):
        run = DrillRun(drill, 5, env, mode="live")
        return run, control_process(ReplaySource(SESSION))

    def plain():
        run, control = run_of()
        return run.run(control)

    def make(env):
        run, control = run_of(env)
        real = run.run
        run.run = lambda: real(control)
        return run.sim, run

    diffs = _compare(drill.loaded, make, np.random.default_rng(5), plain)
    assert not diffs, "\n".join(diffs[:20])
