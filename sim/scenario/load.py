"""Loading station and scenario files: parse, validate, cross-check, resolve referenced files.

This package is the only one that reads input files. Everything it returns is validated and in
SI units; every problem found is raised together as one :class:`~sim.errors.InputError`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.paths import reference
from sim.scenario.crossref import check_scenario, check_station
from sim.scenario.overrides import (
    apply_overrides,
    split_procedure_overrides,
    split_station_overrides,
)
from sim.scenario.procedure_load import load_run_procedures, timeline_procedure
from sim.scenario.scenario_model import Scenario
from sim.scenario.station_model import Station
from sim.scenario.validation import validate_document
from sim.scenario.yamlio import Document, load_yaml, parse_yaml

__all__ = ["LoadedScenario", "expect_mapping", "load_scenario", "load_station", "station_from_document"]

TIMELINE = "<timeline>"
"""Key of the as-flown timeline among a loaded scenario's procedures."""


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its station and everything it references.

    Attributes
    ----------
    scenario, station : the validated models (SI units).
    path : the scenario file, or None for a scenario built in memory.
    files : every file read, in the order read: ``{role: absolute path}`` (roles ``scenario``,
        ``station``, ``procedure:<path as written>``).
    procedures : validated procedures by the path string used in the scenario's ``run`` entries.
    overrides : the ``PATH=VALUE`` settings applied when loading, in order; a run directory's
        manifest records them so that the run replays with them.
    """

    scenario: Scenario
    station: Station
    path: Path | None
    files: dict[str, Path] = field(default_factory=dict)
    procedures: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)


def load_station(path: str | Path) -> Station:
    """Load and check a station file.

    Raises
    ------
    InputError
        Listing every problem, each as ``file:line: path: message``.
    """
    return station_from_document(load_yaml(path))


def station_from_document(doc: Document) -> Station:
    """Validate a parsed station document; see :func:`load_station`."""
    expect_mapping(doc)
    station = validate_document(Station, doc)
    _raise_if(check_station(station, doc))
    return station


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoadedScenario:
    """Load a scenario file, its station file and its procedure files.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    overrides : list of str
        ``PATH=VALUE`` settings applied to the scenario before validation (see
        :func:`sim.scenario.overrides.apply_overrides`).
    """
    doc = load_yaml(path)
    return scenario_from_document(doc, overrides)


def scenario_from_document(doc: Document, overrides=()) -> LoadedScenario:
    """Validate a parsed scenario document; see :func:`load_scenario`."""
    expect_mapping(doc)
    files: dict[str, Path] = {}
    if doc.path is not None:
        files["scenario"] = doc.path
    own, procedure_overrides = split_procedure_overrides(overrides)
    own, station_overrides = split_station_overrides(own)
    if isinstance(doc.data.get("station"), dict):
        own, station_overrides = [*own, *(f"station.{o}" for o in station_overrides)], []
    if own:
        doc = apply_overrides(doc, own)
    scenario = validate_document(Scenario, doc)
    if isinstance(scenario.station, str):
        station_path = _resolve(doc, scenario.station, ("station",))
        station = _load_station_cached(station_path, str(_display(doc, scenario.station)), tuple(station_overrides))
        files["station"] = station_path
    else:
        station = scenario.station
        _raise_if(check_station(station, doc, ("station",)))
    problems = check_scenario(scenario, station, doc)
    for index in sorted(i for i in procedure_overrides if i >= len(scenario.run)):
        problems.append(Problem(f"--set run.{index}.procedure", 0, f"run.{index}",
                                f"no run entry {index}: the scenario has {len(scenario.run)}"))
    procedures: dict[str, Any] = {}
    if scenario.run:
        procedures, more = load_run_procedures(scenario, station, doc, files, procedure_overrides)
        problems += more
    if scenario.timeline:
        timeline, more = timeline_procedure(scenario, station, doc)
        problems += more
        if timeline is not None:
            procedures[TIMELINE] = timeline
    _raise_if(problems)
    return LoadedScenario(scenario, station, doc.path, files, procedures, tuple(overrides))


@functools.lru_cache(maxsize=16)
def _station_cached(path: Path, stamp: tuple[int, int], display: str, overrides: tuple[str, ...]) -> Station:
    sdoc = load_yaml(path, display=display)
    expect_mapping(sdoc)
    if overrides:
        sdoc = apply_overrides(sdoc, overrides, prefix="station.")
    station = validate_document(Station, sdoc)
    _raise_if(check_station(station, sdoc))
    return station


def _load_station_cached(path: Path, display: str, overrides: tuple[str, ...]) -> Station:
    """A validated station file; repeated loads of an unchanged file (a sweep's thousands of runs
    of one scenario) reuse the validated, immutable model instead of parsing it again."""
    st = path.stat()
    return _station_cached(path, (st.st_mtime_ns, st.st_size), display, overrides)


def _display(doc: Document, relative: str) -> Path:
    """How to name a referenced file in messages: relative to where the referencing file was named."""
    return Path(os.path.normpath(Path(doc.file).parent / relative))


def _resolve(doc: Document, relative: str, loc: tuple) -> Path:
    base = doc.path.parent if doc.path is not None else Path.cwd()
    try:
        return reference(base, relative)
    except ValueError as exc:
        raise InputError(doc.problem(loc, str(exc))) from None


def expect_mapping(doc: Document) -> None:
    """Refuse a document that is not a mapping at the top (a list, text, a number, nothing)."""
    if not isinstance(doc.data, dict):
        kind = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}.get(
            type(doc.data), "nothing")  # never the value itself: it may be a whole file read as one string
        raise InputError(Problem(doc.file, 1, "", f"expected a mapping of keys to values at the top, got {kind}"))


def parse_text(text: str, name: str = "<string>") -> Document:
    """Parse YAML text held in memory (tests, notebooks)."""
    return parse_yaml(text, name)
