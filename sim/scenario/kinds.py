"""Any input file, whatever its kind: tell the kind from its keys and check it fully (``safehaven validate``).

This module sits above the loaders of each kind (:mod:`~sim.scenario.load` for stations and
scenarios, :mod:`~sim.scenario.procedure_load`, :mod:`~sim.scenario.drill_load`) and none of them
imports it, so a loader never needs another loader that needs it back.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import InputError, Problem
from sim.scenario.load import expect_mapping, scenario_from_document, station_from_document
from sim.scenario.yamlio import Document, load_yaml

__all__ = ["KINDS", "detect_kind", "validate_file"]

KINDS = ("station", "scenario", "procedure", "drill")


def detect_kind(doc: Document) -> str:
    """Which kind of file a document is, from its top-level keys."""
    data = doc.data if isinstance(doc.data, dict) else {}
    if "injects" in data or "expect" in data or "scenario" in data:
        return "drill"
    if "phases" in data:
        return "procedure"
    if "compartments" in data:
        return "station"
    if "station" in data or "duration" in data:
        return "scenario"
    raise InputError(
        Problem(doc.file, 1, "", "cannot tell the kind of file: expected a station (compartments:), a scenario "
                "(station:, duration:), a procedure (phases:) or a drill (scenario:, injects:)")
    )


def validate_file(path: str | Path, kind: str | None = None) -> str:
    """Fully check one file of any kind; returns its kind.

    Raises
    ------
    InputError
        Listing every problem found.
    """
    doc = load_yaml(path)
    expect_mapping(doc)
    kind = kind or detect_kind(doc)
    if kind == "station":
        station_from_document(doc)
    elif kind == "scenario":
        scenario_from_document(doc)
    elif kind == "procedure":
        # the procedure and drill loaders (and their models) are imported only for a file of
        # their kind: start-up cost of `safehaven validate` on the other kinds
        from sim.scenario.procedure_load import procedure_from_document

        procedure_from_document(doc)
    elif kind == "drill":
        from sim.scenario.drill_load import drill_from_document

        drill_from_document(doc)
    return kind
