"""JSON Schema of the file kinds, checked structurally (no jsonschema dependency)."""

import json

import pytest

from sim.scenario.schema import json_schema

STATION_KEYS = {"name", "description", "temperature", "atmosphere", "compartments", "vehicles", "hatches",
                "gas_supply", "limits", "alarms"}
SCENARIO_KEYS = {"name", "description", "station", "duration", "seed", "output", "solver", "initial", "crew",
                 "physiology", "leaks", "run", "events", "checks"}


def resolve(schema, node):
    """Follow a local ``$ref`` (``#/$defs/Name``)."""
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def types_of(schema, node):
    """The JSON types a property allows (through anyOf and refs)."""
    node = resolve(schema, node)
    if "anyOf" in node:
        return set().union(*(types_of(schema, n) for n in node["anyOf"]))
    return {node.get("type", "object")}


def values_of(schema, node):
    """The schema of the values of an id-keyed mapping (``patternProperties`` on the id pattern)."""
    node = resolve(schema, node)
    if "patternProperties" in node:
        (value,) = node["patternProperties"].values()
        return resolve(schema, value)
    return resolve(schema, node["additionalProperties"])


def is_quantity(schema, node):
    return {"number", "string"} <= types_of(schema, node)


@pytest.mark.parametrize(("kind", "keys"), [("station", STATION_KEYS), ("scenario", SCENARIO_KEYS)])
def test_top_level_properties(kind, keys):
    schema = json_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert keys <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    json.loads(json.dumps(schema))  # serializable


def test_station_schema_requires_and_types():
    schema = json_schema("station")
    assert {"name", "compartments"} <= set(schema["required"])
    compartment = values_of(schema, schema["properties"]["compartments"])
    assert compartment["required"] == ["volume"]
    assert compartment["additionalProperties"] is False
    for field in ("volume", "traverse", "temperature"):
        assert is_quantity(schema, compartment["properties"][field]), field
    hatch = values_of(schema, schema["properties"]["hatches"])
    for field in ("area", "valve", "close_time", "open_time", "pass_time", "max_open_dp"):
        assert is_quantity(schema, hatch["properties"][field]), field
    assert hatch["properties"]["cd"]["default"] == 0.6
    assert is_quantity(schema, schema["properties"]["temperature"])


def test_quantity_schema_allows_a_number_or_a_string_with_a_unit():
    import re

    schema = json_schema("station")
    compartment = resolve(schema, schema["$defs"]["Compartment"])
    (string,) = [n for n in compartment["properties"]["volume"]["anyOf"] if n.get("type") == "string"]
    pattern = re.compile(string["pattern"])
    for good in ("75 m^3", "1e-3 m^3", " 5 ft^3"):
        assert pattern.search(good), good
    assert not pattern.search("m^3")


def test_scenario_schema_quantities_and_lists():
    schema = json_schema("scenario")
    assert {"name", "station", "duration"} <= set(schema["required"])
    assert is_quantity(schema, schema["properties"]["duration"])
    assert types_of(schema, schema["properties"]["station"]) >= {"string", "object"}
    for section in ("crew", "leaks", "events", "checks", "run"):
        assert schema["properties"][section]["type"] == "array", section
    leak = resolve(schema, schema["$defs"]["Leak"])
    for field in ("rate", "area", "diameter", "start"):
        assert is_quantity(schema, leak["properties"][field]), field


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown kind 'bogus'"):
        json_schema("bogus")
