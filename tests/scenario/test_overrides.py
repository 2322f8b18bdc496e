"""``--set PATH=VALUE``: paths by id, by index and into the station; errors name the --set."""

import pytest

from sim.errors import InputError, Problem
from sim.scenario.load import load_scenario
from sim.scenario.overrides import apply_overrides, parse_override, split_station_overrides
from sim.scenario.yamlio import parse_yaml

LB_PER_DAY = 0.45359237 / 86_400  # [kg/s]

SCENARIO = """\
name: PrK leak
station: stations/tiny.yaml
duration: 1 h
crew:
  - {id: cdr, at: module}
  - {id: fe1, at: tunnel}
leaks:
  - {id: prk-crack, at: tunnel, rate: 2 lb/day}
checks:
  - {expect: min_pressure, of: module, above: 90 kPa}
"""


@pytest.fixture
def scenario_path(write_yaml, tiny_station_yaml):
    write_yaml("stations/tiny.yaml", tiny_station_yaml)
    return write_yaml("scenario.yaml", SCENARIO)


def load(path, *overrides):
    return load_scenario(path, list(overrides))


def problems(path, *overrides):
    with pytest.raises(InputError) as info:
        load(path, *overrides)
    return [str(p) for p in info.value.problems]


def test_no_override(scenario_path):
    loaded = load(scenario_path)
    assert loaded.scenario.leaks[0].rate == pytest.approx(2 * LB_PER_DAY)


def test_list_item_by_id(scenario_path):
    loaded = load(scenario_path, "leaks.prk-crack.rate=4 lb/day", "crew.fe1.at=module")
    assert loaded.scenario.leaks[0].rate == pytest.approx(4 * LB_PER_DAY)
    assert loaded.scenario.crew[1].at == "module"


def test_list_item_by_index(scenario_path):
    loaded = load(scenario_path, "checks.0.above=95 kPa", "leaks.0.start=10 min")
    assert loaded.scenario.checks[0].above == 95_000.0
    assert loaded.scenario.leaks[0].start == 600.0


def test_values_are_read_as_yaml(scenario_path):
    loaded = load(scenario_path, "seed=42", "crew.cdr.roles=[shelter, repair]", "duration=7200")
    assert loaded.scenario.seed == 42
    assert loaded.scenario.crew[0].roles == ["shelter", "repair"]
    assert loaded.scenario.duration == 7200.0


def test_station_paths(scenario_path):
    loaded = load(scenario_path, "station.compartments.tunnel.volume=6 m^3", "station.hatches.module-tunnel.open=false")
    assert loaded.station.compartments["tunnel"].volume == 6.0
    assert loaded.station.hatches["module-tunnel"].open is False


def test_a_setting_creates_an_optional_section_the_file_leaves_out(scenario_path):
    loaded = load(scenario_path, "output.every=5 s", "initial.hatches.module-tunnel=closed", "station.limits.ppO2_min=15 kPa")
    assert loaded.scenario.output.every == 5.0
    assert loaded.scenario.initial.hatches == {"module-tunnel": "closed"}
    assert loaded.station.limits.ppO2_min == 15_000.0


def test_inline_station_paths(write_yaml, tiny_station_yaml):
    import textwrap

    path = write_yaml("inline.yaml", "name: s\nduration: 1 h\nstation:\n" + textwrap.indent(tiny_station_yaml, "  "))
    loaded = load(path, "station.compartments.module.volume=30 m^3")
    assert loaded.station.compartments["module"].volume == 30.0
    assert problems(path, "station.compartments.module.volume=30 kg") == [
        "--set station.compartments.module.volume=30 kg: station.compartments.module.volume: expected a volume, got 30 kg"
    ]


def test_the_file_is_left_untouched(scenario_path):
    doc = parse_yaml(scenario_path.read_text(), "s.yaml")
    before = repr(doc.data)
    changed = apply_overrides(doc, ["leaks.prk-crack.rate=9 lb/day"])
    assert repr(doc.data) == before
    assert changed.data["leaks"][0]["rate"] == "9 lb/day"
    assert changed.origins == {("leaks", 0, "rate"): "--set leaks.prk-crack.rate=9 lb/day"}


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("leaks.prk-crack.rate=4 kg", "--set leaks.prk-crack.rate=4 kg: leaks[0].rate: expected a mass flow, got 4 kg"),
        ("leaks.prk-crak.rate=4 lb/day",
         "--set leaks.prk-crak.rate=4 lb/day: leaks.prk-crak: no item with id 'prk-crak' (did you mean 'prk-crack'?)"),
        ("leaks.prk-crack.rat=4 lb/day",
         "--set leaks.prk-crack.rat=4 lb/day: leaks[0].rat: unknown key 'rat' (did you mean 'rate'?)"),
        ("crew.cdr.at=modul", "--set crew.cdr.at=modul: crew[0].at: unknown compartment 'modul' (did you mean 'module'?)"),
        ("crew.5.at=module", "--set crew.5.at=module: crew.5: no item 5: the list has 2 items"),
        ("checks.first.above=1 kPa", "--set checks.first.above=1 kPa: checks.first: no item with id 'first': "
                                     "its items have no ids; use an index from 0 to 0"),
        ("outptu.every=5 s", "--set outptu.every=5 s: outptu: unknown key 'outptu' (did you mean 'output'?)"),
        ("name.first=x", "--set name.first=x: name: is a single value; it has no fields"),
        ("duration=[1", "--set duration=[1: duration: cannot read the value '[1': "
                        "YAML syntax error: expected ',' or ']', but got '<stream end>'"),
        ("duration", "--set duration: expected PATH=VALUE, e.g. leaks.prk-crack.rate='4 lb/day'"),
        ("leaks..rate=1", "--set leaks..rate=1: invalid path 'leaks..rate': expected names joined by dots"),
        ("output.every=2 h", "--set output.every=2 h: output.every: is longer than the scenario's duration"),
        ("station.compartments.tunel.volume=6 m^3",
         "--set station.compartments.tunel.volume=6 m^3: compartments.tunel: no 'tunel' here (did you mean 'tunnel'?)"),
        ("station.compartments.tunnel.volume=-6 m^3",
         "--set station.compartments.tunnel.volume=-6 m^3: compartments.tunnel.volume: expected a positive volume, got '-6 m^3'"),
        ("station.limitz.ppO2_min=15 kPa",
         "--set station.limitz.ppO2_min=15 kPa: limitz: unknown key 'limitz' (did you mean 'limits'?)"),
        ("station.volume", "--set station.volume: expected PATH=VALUE, e.g. leaks.prk-crack.rate='4 lb/day'"),
    ],
)
def test_errors_are_attributed_to_the_setting(scenario_path, setting, expected):
    assert problems(scenario_path, setting) == [expected]


def test_every_bad_setting_is_reported(scenario_path):
    found = problems(scenario_path, "leaks.nope.rate=1", "crew.nobody.at=module")
    assert [p.split(":")[0] for p in found] == ["--set crew.nobody.at=module", "--set leaks.nope.rate=1"]


def test_parse_override():
    assert parse_override("leaks.prk-crack.rate=4 lb/day") == (("leaks", "prk-crack", "rate"), "4 lb/day")
    assert parse_override("a.b=x=y") == (("a", "b"), "x=y")
    assert parse_override("a=") == (("a",), "")
    with pytest.raises(InputError) as info:
        parse_override("a.b=!!python/object:os.system {}", where="--set here")
    assert info.value.problems[0].file == "--set here"
    assert "unsupported YAML tag" in info.value.problems[0].message


def test_split_station_overrides():
    assert split_station_overrides(["a=1", " station.b.c=2", "stationx=3"]) == (["a=1", "stationx=3"], ["b.c=2"])


def test_problem_at_an_overridden_path_has_no_line():
    doc = apply_overrides(parse_yaml("a:\n  b: 1\n", "f.yaml"), ["a.b=2"])
    assert doc.problem(("a", "b", "c"), "bad") == Problem("--set a.b=2", 0, "a.b.c", "bad")
    assert doc.problem(("a",), "bad") == Problem("f.yaml", 1, "a", "bad")
