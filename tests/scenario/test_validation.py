"""Schema validation of parsed documents: every error of a file, each with its line and path."""

import pytest

from sim.errors import InputError, Problem
from sim.scenario.scenario_model import Scenario
from sim.scenario.station_model import DEFAULT_CD, Station
from sim.scenario.validation import did_you_mean, validate_document
from sim.scenario.yamlio import parse_yaml


def validate(model, text, name="f.yaml"):
    return validate_document(model, parse_yaml(text, name))


def messages(model, text):
    with pytest.raises(InputError) as info:
        validate(model, text)
    return [str(p) for p in info.value.problems]


def test_tiny_station_values_are_si(tiny_station):
    assert tiny_station.compartments["module"].volume == 20.0
    assert tiny_station.atmosphere.O2 == 21_300.0
    hatch = tiny_station.hatches["module-tunnel"]
    assert hatch.valve == pytest.approx(1e-4)
    assert hatch.cd == DEFAULT_CD
    assert hatch.open is True and hatch.valve_open is False


def test_all_errors_of_a_file_are_collected():
    text = """\
name: Many errors
compartments:
  a: {volume: 5 kg}
  b: {volume: 5 m^3, segmnt: RS}
vehicles:
  v: {volume: 9 m^3, docked_to: a, seats: lots}
hatches:
  a-b: {area: 0.5 m^2}
limits:
  ppO2_min: 16 mmHg/min
"""
    assert messages(Station, text) == [
        "f.yaml:3: compartments.a.volume: expected a volume, got 5 kg",
        "f.yaml:4: compartments.b.segmnt: unknown key 'segmnt' (did you mean 'segment'?)",
        "f.yaml:6: vehicles.v.seats: input should be a valid integer, unable to parse string as an integer, got 'lots'",
        "f.yaml:8: hatches.a-b.between: missing required key 'between'",
        "f.yaml:10: limits.ppO2_min: expected a pressure, got 16 mmHg/min",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: s\ncompartments: {}\n", "f.yaml:2: compartments: dictionary should have at least 1 item after validation, not 0"),
        ("name: s\ncompartments: {a: {volume: 0}}\n", "f.yaml:2: compartments.a.volume: expected a positive volume, got 0"),
        ("name: s\ncompartments: {a: {volume: -1 m^3}}\n", "f.yaml:2: compartments.a.volume: expected a positive volume, got '-1 m^3'"),
        ("name: s\ncompartments: {a: {volume: .nan}}\n", "f.yaml:2: compartments.a.volume: expected a finite volume, got nan"),
        ("name: s\ncompartments: {a: 5}\n", "f.yaml:2: compartments.a: expected a mapping, got 5"),
        ("name: s\ncompartments: {a: {volume: 1}}\nhatches: {h: {between: [a]}}\n",
         "f.yaml:3: hatches.h.between: list should have at least 2 items after validation, not 1"),
        ("name: s\ncompartments: {a: {volume: 1}}\nhatches: {h: {between: a}}\n", "f.yaml:3: hatches.h.between: expected a list, got 'a'"),
        ("name: s\ncompartments: {a: {volume: 1}}\nhatches: {h: {between: [a, b], cd: 1.5}}\n",
         "f.yaml:3: hatches.h.cd: input should be less than or equal to 1, got 1.5"),
        ("name: s\ncompartments: {a b: {volume: 1}}\n",
         "f.yaml:2: compartments.a b: invalid id 'a b': expected a letter then letters, digits, '-' or '_' (at most 64 characters)"),
    ],
)
def test_station_field_errors(text, message):
    assert message in messages(Station, text)


def test_missing_top_level_key_is_located_at_the_top():
    assert messages(Station, "compartments: {a: {volume: 1}}\n") == ["f.yaml:1: name: missing required key 'name'"]


def test_unknown_keys_suggest_the_closest_field():
    found = messages(Scenario, "name: s\nstation: x.yaml\nduration: 1 h\ncrew:\n  - {id: a, at: b, rols: [x]}\n")
    assert found == ["f.yaml:5: crew[0].rols: unknown key 'rols' (did you mean 'roles'?)"]


def test_scenario_leak_errors():
    text = """\
name: s
station: x.yaml
duration: 1 h
leaks:
  - {id: a, at: m, rate: 2 lb/day, diameter: 2 mm}
  - {id: b, at: m, rate: 2 lb/day, cd: 0.5}
  - {id: c, at: m, area: 1 kg}
"""
    assert messages(Scenario, text) == [
        "f.yaml:5: leaks[0]: a leak needs exactly one of rate, area or diameter, got 2",
        "f.yaml:6: leaks[1]: cd applies to a leak given by area or diameter, not by rate",
        "f.yaml:7: leaks[2].area: expected an area, got 1 kg",
    ]


def test_defaults_of_a_minimal_scenario():
    sc = validate(Scenario, "name: s\nstation: x.yaml\nduration: 2 h\n")
    assert sc.duration == 7200.0 and sc.seed == 0 and sc.output.every == 10.0
    assert sc.crew == [] and sc.leaks == [] and sc.run == [] and sc.checks == []


def test_validation_at_a_root_path_prefixes_locations():
    doc = parse_yaml("station:\n  name: s\n  compartments: {a: {volume: 5 kg}}\n", "f.yaml")
    with pytest.raises(InputError) as info:
        validate_document(Station, doc, root=("station",), data=doc.data["station"])
    assert [str(p) for p in info.value.problems] == ["f.yaml:3: station.compartments.a.volume: expected a volume, got 5 kg"]


@pytest.mark.parametrize(
    ("name", "known", "suffix"),
    [
        ("pkr", ["prk", "zvezda"], " (did you mean 'prk'?)"),
        ("zzz", ["prk", "zvezda"], " (known: prk, zvezda)"),
        ("zzz", [], " (none are defined)"),
        ("zzz", [f"m{i}" for i in range(20)], ""),
    ],
)
def test_did_you_mean(name, known, suffix):
    assert did_you_mean(name, known) == suffix


def test_problem_and_input_error_formatting():
    a = Problem("f.yaml", 3, "crew[0].at", "unknown compartment 'x'")
    b = Problem("f.yaml", 0, "", "no such file")
    c = Problem("f.yaml", 1, "", "the file is empty")
    assert str(a) == "f.yaml:3: crew[0].at: unknown compartment 'x'"
    assert str(b) == "f.yaml: no such file"
    assert str(c) == "f.yaml:1: the file is empty"
    err = InputError([a, b, a, c])
    assert err.problems == [b, c, a]  # sorted by file and line, duplicates dropped
    assert str(err) == "\n".join(map(str, [b, c, a]))
    assert InputError(a).problems == [a]
