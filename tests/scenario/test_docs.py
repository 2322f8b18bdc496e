"""The format documents name every field of the schemas and state the limits the code enforces."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.scenario import scenario_model, station_model
from sim.scenario.yamlio import MAX_BYTES, MAX_DEPTH, MAX_NODES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def fields(module):
    names = set()
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__:
            names |= {f.alias or name for name, f in obj.model_fields.items()}
    return names


@pytest.mark.parametrize(("doc", "module"), [("station-format.md", station_model), ("scenario-format.md", scenario_model)])
def test_every_field_is_documented(doc, module):
    text = (DOCS / doc).read_text(encoding="utf-8")
    missing = sorted(name for name in fields(module) if f"`{name}`" not in text)
    assert not missing, f"{doc} does not mention {missing}"


def test_limits_are_stated_as_in_the_code():
    text = (DOCS / "station-format.md").read_text(encoding="utf-8")
    assert f"{MAX_BYTES:,} bytes" in text
    assert f"{MAX_NODES:,}" in text
    assert f"{MAX_DEPTH} levels" in text
