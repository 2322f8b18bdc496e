"""JSON Schema of each file kind, generated from the pydantic models (for editors)."""

from __future__ import annotations

from typing import Any

__all__ = ["json_schema"]


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a file *kind*: station, scenario, procedure, drill, record or hunt."""
    # lazy for start-up cost: only the models of the asked kind are built
    if kind == "station":
        from sim.scenario.station_model import Station as model
    elif kind == "scenario":
        from sim.scenario.scenario_model import Scenario as model
    elif kind == "procedure":
        from sim.scenario.procedure_model import Procedure as model
    elif kind == "drill":
        from sim.scenario.drill_model import Drill as model
    elif kind == "record":
        from sim.scenario.record_model import Record as model
    elif kind == "hunt":
        from sim.scenario.hunt_model import Hunt as model
    else:
        raise ValueError(f"unknown kind {kind!r}")
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", f"Safehaven {kind} file")
    return schema
