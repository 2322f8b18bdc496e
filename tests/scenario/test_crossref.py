"""Cross-reference checks: ids a file names must exist, and the station must hang together."""

import textwrap

import pytest

from sim.errors import InputError
from sim.scenario.crossref import check_scenario, check_station
from sim.scenario.load import scenario_from_document
from sim.scenario.scenario_model import Scenario
from sim.scenario.station_model import Station
from sim.scenario.validation import validate_document
from sim.scenario.yamlio import parse_yaml

STATION = """\
name: Small
compartments:
  zvezda: {volume: 75 m^3}
  prk: {volume: 5 m^3}
  harmony: {volume: 70 m^3}
vehicles:
  soyuz: {volume: 10.5 m^3, docked_to: zvezda, seats: 2}
hatches:
  zvezda-prk: {between: [zvezda, prk], valve: 1 cm^2}
  zvezda-harmony: {between: [zvezda, harmony]}
  zvezda-soyuz: {between: [zvezda, soyuz]}
"""


def station_problems(text):
    doc = parse_yaml(text, "st.yaml")
    return [str(p) for p in check_station(validate_document(Station, doc), doc)]


def test_a_good_station_has_no_problems():
    assert station_problems(STATION) == []


def test_tiny_station_fixture_is_consistent(tiny_station):
    assert set(tiny_station.compartments) == {"module", "tunnel"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("between: [zvezda, prk]", "between: [zvezda, pkr]",
         ["st.yaml:9: hatches.zvezda-prk.between[1]: unknown compartment 'pkr' (did you mean 'prk'?)"]),
        ("between: [zvezda, prk]", "between: [prk, prk]",
         ["st.yaml:9: hatches.zvezda-prk.between: a hatch joins two compartments, got 'prk' twice"]),
        ("docked_to: zvezda", "docked_to: zvesda",
         ["st.yaml:7: vehicles.soyuz.docked_to: unknown compartment 'zvesda' (did you mean 'zvezda'?)"]),
        ("docked_to: zvezda", "docked_to: soyuz", ["st.yaml:7: vehicles.soyuz.docked_to: a vehicle cannot be docked to itself"]),
        ("docked_to: zvezda", "docked_to: harmony",
         ["st.yaml:7: vehicles.soyuz.docked_to: no hatch joins 'soyuz' and 'harmony'; add one under hatches"]),
        ("  zvezda-harmony: {between: [zvezda, harmony]}\n", "", ["st.yaml:5: compartments.harmony: no hatch reaches 'harmony'"]),
        ("  zvezda-soyuz: {between: [zvezda, soyuz]}\n", "",
         ["st.yaml:7: vehicles.soyuz.docked_to: no hatch joins 'soyuz' and 'zvezda'; add one under hatches"]),
        ("  harmony: {volume: 70 m^3}\n", "  harmony: {volume: 70 m^3}\n  soyuz: {volume: 1 m^3}\n",
         ["st.yaml:8: vehicles.soyuz: id 'soyuz' is already a compartment; ids must be unique"]),
    ],
)
def test_station_problems(old, new, expected):
    assert old in STATION
    assert station_problems(STATION.replace(old, new)) == expected


def test_gas_supply_targets_must_exist():
    text = STATION + "gas_supply:\n  tanks: {O2: 40 kg, into: [zvezda, prk, harmoni], max_rate: 0.5 kg/min}\n"
    assert station_problems(text) == [
        "st.yaml:13: gas_supply.tanks.into[2]: unknown compartment 'harmoni' (did you mean 'harmony'?)"
    ]


def test_every_station_problem_is_reported():
    text = STATION.replace("[zvezda, prk]", "[zvezda, pkr]").replace("docked_to: zvezda", "docked_to: zvesda")
    assert len(station_problems(text)) == 2


def test_a_single_compartment_station_needs_no_hatch():
    assert station_problems("name: one\ncompartments: {a: {volume: 1}}\n") == []


def scenario_problems(body, station=STATION):
    text = "name: s\nduration: 1 h\nstation:\n" + textwrap.indent(station, "  ") + textwrap.dedent(body)
    doc = parse_yaml(text, "sc.yaml")
    with pytest.raises(InputError) as info:
        scenario_from_document(doc)
    # Lines are reported relative to the body: its first line is line 0.
    offset = 4 + station.count("\n")
    out = []
    for p in info.value.problems:
        assert p.file == "sc.yaml"
        out.append(f"{p.line - offset}: {p.path}: {p.message}")
    return out


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("crew:\n  - {id: a, at: zvezda}\n  - {id: b, at: harmoni}\n",
         ["2: crew[1].at: unknown compartment 'harmoni' (did you mean 'harmony'?)"]),
        ("crew:\n  - {id: a, at: zvezda}\n  - {id: a, at: prk}\n", ["2: crew[1].id: duplicated id 'a' (also crew[0])"]),
        ("crew:\n  - {id: a, at: zvezda, vehicle: soyus}\n",
         ["1: crew[0].vehicle: unknown vehicle 'soyus' (did you mean 'soyuz'?)"]),
        ("crew:\n" + "".join(f"  - {{id: c{i}, at: zvezda, vehicle: soyuz}}\n" for i in range(3)),
         ["3: crew[2].vehicle: more crew assigned to 'soyuz' than it has seats"]),
        ("leaks:\n  - {id: l, at: prk, rate: 1 lb/day}\n  - {id: l, at: prk, rate: 1 lb/day}\n",
         ["2: leaks[1].id: duplicated id 'l' (also leaks[0])"]),
        ("leaks:\n  - {id: l, at: pkr, rate: 1 lb/day}\n", ["1: leaks[0].at: unknown compartment 'pkr' (did you mean 'prk'?)"]),
        ("leaks:\n  - {id: l, at: prk, rate: 1 lb/day, start: 2 h}\n", ["1: leaks[0].start: starts after the end of the scenario"]),
        ("initial:\n  hatches: {zvezda-pkr: closed}\n",
         ["1: initial.hatches.zvezda-pkr: unknown hatch 'zvezda-pkr' (did you mean 'zvezda-prk'?)"]),
        ("initial:\n  valves: {zvezda-soyuz: open}\n", ["1: initial.valves.zvezda-soyuz: hatch 'zvezda-soyuz' has no equalization valve"]),
        ("events:\n  - {at: 1 min, leak: nope, scale: 2}\n", ["1: events[0].leak: unknown leak 'nope' (none are defined)"]),
        ("events:\n  - {at: 1 min, hatch: zvezda-pkr, state: closed}\n",
         ["1: events[0].hatch: unknown hatch 'zvezda-pkr' (did you mean 'zvezda-prk'?)"]),
        ("events:\n  - {at: 1 min, valve: zvezda-soyuz, state: open}\n",
         ["1: events[0].valve: hatch 'zvezda-soyuz' has no equalization valve"]),
        ("events:\n  - {at: 2 h, hatch: zvezda-prk, state: closed}\n", ["1: events[0].at: is after the end of the scenario"]),
        ("checks:\n  - {expect: min_pressure, of: zvesda, above: 90 kPa}\n",
         ["1: checks[0].of: unknown compartment 'zvesda' (did you mean 'zvezda'?)"]),
        ("checks:\n  - {expect: hatch_closed, hatch: harmony-zvezda, within: 1 min}\n",
         ["1: checks[0].hatch: unknown hatch 'harmony-zvezda' (known: zvezda-harmony, zvezda-prk, zvezda-soyuz)"]),
        ("checks:\n  - {expect: leak_repaired, leak: l, within: 1 min}\n", ["1: checks[0].leak: unknown leak 'l' (none are defined)"]),
        ("crew:\n  - {id: cdr, at: zvezda}\nchecks:\n  - {expect: crew_in_shelter, crew: cmdr, within: 1 min}\n",
         ["3: checks[0].crew: unknown crew member 'cmdr' (did you mean 'cdr'?)"]),
        ("output: {every: 2 h}\n", ["0: output.every: is longer than the scenario's duration"]),
    ],
)
def test_scenario_problems(body, expected):
    assert scenario_problems(body) == expected


def test_every_scenario_problem_is_reported():
    body = """\
crew:
  - {id: a, at: nowhere}
  - {id: a, at: zvezda}
leaks:
  - {id: l, at: prk, rate: 1 lb/day}
events:
  - {at: 5 min, leak: m, scale: 2}
checks:
  - {expect: min_pressure, of: somewhere, above: 1 kPa}
"""
    assert [line.split(":")[1].strip() for line in scenario_problems(body)] == [
        "crew[0].at", "crew[1].id", "events[0].leak", "checks[0].of"]


def test_inline_station_problems_are_located_under_station():
    found = scenario_problems("", STATION.replace("[zvezda, prk]", "[zvezda, pkr]"))
    assert found == ["-3: station.hatches.zvezda-prk.between[1]: unknown compartment 'pkr' (did you mean 'prk'?)"]


def test_pure_atmosphere_scenario_is_valid():
    doc = parse_yaml("name: s\nduration: 1 h\nstation:\n" + textwrap.indent(STATION, "  "), "sc.yaml")
    loaded = scenario_from_document(doc)
    assert loaded.scenario.crew == [] and loaded.station.vehicles["soyuz"].seats == 2


def test_check_scenario_returns_problems_without_raising():
    sdoc = parse_yaml(STATION, "st.yaml")
    station = validate_document(Station, sdoc)
    doc = parse_yaml("name: s\nstation: st.yaml\nduration: 1 h\ncrew:\n  - {id: a, at: b}\n", "sc.yaml")
    scenario = validate_document(Scenario, doc)
    (problem,) = check_scenario(scenario, station, doc)
    assert (problem.file, problem.line, problem.path) == ("sc.yaml", 5, "crew[0].at")
