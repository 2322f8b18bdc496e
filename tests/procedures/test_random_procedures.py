"""Random procedures from the valid grammar on small random stations always end in a documented way.

The run returns (never a traceback, never a hang: the scenario's duration bounds it) with status
``ok`` or ``failed`` and a message, and one of the documented outcomes. A procedure the loader
rejects (e.g. a loop of phases that cannot advance time) is an ``InputError`` with a message, which
is also a documented outcome.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.engine import simulate

OUTCOMES = {"crew_incapacitated", "evacuated", "crew_impaired", "crew_trapped", "crew_at_risk", "sheltering",
            "resumed", "crew_out_of_place", "procedures_done", "procedures_running", "completed"}
DURATIONS = ["fixed 30 s", {"dist": "uniform", "low": "10 s", "high": "2 min"},
             {"dist": "triangular", "low": "10 s", "mode": "20 s", "high": "1 min"},
             {"dist": "normal", "mean": "1 min", "sd": "20 s"}, {"dist": "lognormal", "median": "30 s", "sigma": 0.5}]


@st.composite
def worlds(draw):
    """A station (a chain of modules plus a vehicle), crew and a leak, as plain data."""
    n = draw(st.integers(2, 4))
    modules = [f"m{i}" for i in range(n)]
    compartments = {m: {"volume": f"{draw(st.integers(5, 40))} m^3", "traverse": f"{draw(st.integers(0, 30))} s"}
                    for m in modules}
    hatches = {}
    for a, b in itertools.pairwise(modules):
        hatches[f"{a}-{b}"] = {"between": [a, b], "open": draw(st.booleans()), "valve": "2 cm^2",
                               "pass_time": f"{draw(st.integers(0, 15))} s", "close_time": "20 s", "open_time": "20 s"}
    if n > 2 and draw(st.booleans()):
        hatches[f"{modules[0]}-{modules[-1]}"] = {"between": [modules[0], modules[-1]], "valve": "2 cm^2"}
    dock = draw(st.sampled_from(modules))
    hatches[f"{dock}-v"] = {"between": [dock, "v"], "pass_time": "5 s", "close_time": "10 s"}
    station = {"name": "random", "compartments": compartments,
               "vehicles": {"v": {"volume": "9 m^3", "docked_to": dock, "seats": 4, "shelter": True}},
               "hatches": hatches,
               "gas_supply": {"tank": {"N2": "5 kg", "O2": "2 kg", "into": [modules[0]], "max_rate": "0.02 kg/s"}}}
    crew = [{"id": f"c{i}", "roles": [draw(st.sampled_from(["r1", "r2"]))],
             "at": draw(st.sampled_from(modules)), "vehicle": "v",
             "response": draw(st.sampled_from(["0 s", {"dist": "uniform", "low": "0 s", "high": "30 s"}]))}
            for i in range(draw(st.integers(1, 3)))]
    leak = {"id": "leak", "at": draw(st.sampled_from(modules)),
            "area": f"{draw(st.sampled_from([0.1, 1, 5]))} cm^2", "start": f"{draw(st.integers(0, 300))} s"}
    return {"station": station, "crew": crew, "leak": leak, "modules": modules, "hatches": list(hatches)}


def steps(world, phases, roles, depth=0):
    modules, hatches = world["modules"], world["hatches"]
    valve_hatches = [h for h in hatches if not h.endswith("-v")]
    who = st.sampled_from([*roles, "all", *[c["id"] for c in world["crew"]]])
    by = st.sampled_from([*roles, *[c["id"] for c in world["crew"]]])
    place = st.sampled_from([*modules, "v", "post", "vehicle"])
    time = st.integers(0, 300).map(lambda s: f"{s} s")
    condition = st.sampled_from([f"p({modules[0]}) < 95 kPa", "time > 2 min",
                                 f"status({world['crew'][0]['id']}) == able",
                                 f"ppO2({modules[-1]}) > 15 kPa and not treserve(station) < 10 min"])
    kinds = [
        st.fixed_dictionaries({"do": st.just("move"), "who": who, "to": place},
                              optional={"if_trapped": st.sampled_from(["wait", "give_up"])}),
        *[st.fixed_dictionaries({"do": st.just(k), "hatch": st.sampled_from(hatches), "by": by})
          for k in ("close_hatch", "open_hatch")],
        *[st.fixed_dictionaries({"do": st.just(k), "hatch": st.sampled_from(valve_hatches), "by": by})
          for k in ("open_valve", "close_valve")],
        st.fixed_dictionaries({"do": st.just("shelter"), "who": who}, optional={"close": st.booleans()}),
        st.fixed_dictionaries({"do": st.just("repair"), "leak": st.just("leak"), "by": who,
                               "duration": st.sampled_from(DURATIONS).map(
                                   lambda d: "30 s" if d == "fixed 30 s" else d),
                               "success": st.sampled_from([0, 0.5, 1]),
                               "effect": st.sampled_from([{"area": "x0.1"}, {"seal": True}])}),
        st.fixed_dictionaries({"do": st.just("measure"), "of": st.sampled_from([*modules, "station"]),
                               "what": st.sampled_from(["dpdt", "treserve", "pressure"]),
                               "window": time, "as": st.sampled_from(["x1", "x2"])},
                              optional={"by": by}),
        st.fixed_dictionaries({"do": st.just("wait"), "for": time}),
        st.fixed_dictionaries({"do": st.just("wait"), "until": condition},
                              optional={"timeout": time, "on_expiry": st.sampled_from(phases)}),
        st.fixed_dictionaries({"do": st.just("repress"), "supply": st.just("tank"), "into": st.just(modules[0]),
                               "by": by}, optional={"until": st.just("101 kPa"), "for": time}).filter(
            lambda s: "until" in s or "for" in s),
        st.fixed_dictionaries({"do": st.just("undock"), "vehicle": st.just("v")}, optional={"by": by}),
        st.fixed_dictionaries({"do": st.just("evacuate"), "who": who}),
        st.just({"do": "end"}),
        st.fixed_dictionaries({"if": condition, "then": st.sampled_from(phases)},
                              optional={"else": st.sampled_from(phases)}),
        st.fixed_dictionaries({"goto": st.sampled_from(phases)}),
    ]
    step = st.one_of(kinds)
    deadline = st.fixed_dictionaries({}, optional={"deadline": time, "on_expiry": st.sampled_from(phases)})
    step = st.tuples(step, deadline).map(lambda x: {**x[0], **x[1]} if "do" in x[0] else x[0])
    if depth == 0:
        parallel = st.dictionaries(st.sampled_from(["a", "b"]), st.lists(steps(world, phases, roles, 1), min_size=1,
                                                                          max_size=2), min_size=1).map(
            lambda d: {"parallel": d})
        step = st.one_of(step, step, step, parallel)
    return step


@st.composite
def scenarios(draw):
    world = draw(worlds())
    roles = sorted({r for c in world["crew"] for r in c["roles"]})
    phases = [f"p{i}" for i in range(draw(st.integers(1, 3)))]
    procedure = {"name": "random", "roles": roles,
                 "phases": {p: draw(st.lists(steps(world, phases, roles), min_size=1, max_size=4)) for p in phases}}
    trigger = draw(st.sampled_from([{"at": "0 s"}, {"at": "1 min"}, {"on": "rapid_depress"}]))
    scenario = {"name": "random", "station": world["station"], "duration": "5 min", "seed": draw(st.integers(0, 99)),
                "crew": world["crew"], "leaks": [world["leak"]], "run": [{"procedure": "procedure.yaml", **trigger}]}
    return scenario, procedure


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_random_procedures_end_in_a_documented_outcome(case):
    scenario, procedure = case
    with tempfile.TemporaryDirectory() as tmp:
        # JSON is YAML
        (Path(tmp) / "procedure.yaml").write_text(json.dumps(procedure), encoding="utf-8")
        path = Path(tmp) / "scenario.yaml"
        path.write_text(json.dumps(scenario), encoding="utf-8")
        try:
            loaded = sim.load(path)
        except sim.InputError as exc:
            assert str(exc)  # rejected at load time, with a message
            return
        result = simulate(loaded)
    assert result.status in ("ok", "failed")
    assert result.status == "ok" or result.message
    assert result.summary["outcome"] in OUTCOMES
    events = result.events.events
    assert events[-1]["kind"] == "run_end"
    assert all(e["t"] <= loaded.scenario.duration + 1e-6 for e in events)
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    json.dumps(result.summary, allow_nan=False)
