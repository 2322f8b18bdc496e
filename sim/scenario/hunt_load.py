"""Loading a hunt file: its station, and the prior (given, uniform, or an estimate's site probabilities)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError, Problem
from sim.paths import read_bytes, reference
from sim.scenario.hunt_model import Hunt
from sim.scenario.station_model import Station
from sim.scenario.validation import did_you_mean, validate_document
from sim.scenario.yamlio import load_yaml

__all__ = ["LoadedHunt", "load_hunt"]


@dataclass(frozen=True)
class LoadedHunt:
    hunt: Hunt
    station: Station
    station_path: Path
    prior: dict[str, float]
    path: Path


def load_hunt(path: str | Path) -> LoadedHunt:
    """Load and check a hunt file (every problem located as ``file:line: path: message``)."""
    # lazy for start-up cost: scenario.load brings the scenario and procedure models (~0.1 s)
    from sim.scenario.load import load_station

    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError(Problem(doc.file, 1, "", "expected a mapping (a hunt file)"))
    hunt = validate_document(Hunt, doc)
    base = doc.path.parent if doc.path is not None else Path.cwd()
    try:
        station_path = reference(base, hunt.station)
    except ValueError as exc:
        raise InputError(doc.problem(("station",), str(exc))) from None
    station = load_station(station_path)
    places = list(station.compartments) + list(station.vehicles)
    problems = []

    def unknown(loc, what, name, known):
        problems.append(doc.problem(loc, f"unknown {what} '{name}'{did_you_mean(name, known)}"))

    if hunt.crew.at not in places:
        unknown(("crew", "at"), "compartment", hunt.crew.at, places)
    cands = hunt.leak.candidates or places
    for i, c in enumerate(hunt.leak.candidates or []):
        if c not in places:
            unknown(("leak", "candidates", i), "compartment", c, places)
    weights = {c: 1.0 for c in cands}
    if hunt.leak.prior is not None and hunt.leak.estimate is not None:
        problems.append(doc.problem(("leak",), "give a prior or an estimate, not both"))
    if hunt.leak.prior is not None:
        weights = {c: 0.0 for c in cands}
        for c, w in hunt.leak.prior.items():
            if c not in cands:
                unknown(("leak", "prior", c), "candidate", c, cands)
            elif not (math.isfinite(w) and w >= 0):
                problems.append(doc.problem(("leak", "prior", c), f"weight {w!r}, expected a number >= 0"))
            else:
                weights[c] = float(w)
    if hunt.leak.estimate is not None:
        try:
            est_path = reference(base, hunt.leak.estimate)
            data = json.loads(read_bytes(est_path, limit=16 * 1024 * 1024, display=hunt.leak.estimate).decode("utf-8"))
            probs = data["site_probability"]
            if not isinstance(probs, dict):
                raise TypeError
            weights = {c: float(probs.get(c, 0.0)) for c in cands}
            if not all(math.isfinite(w) and w >= 0 for w in weights.values()):
                raise ValueError("site probabilities must be numbers >= 0")
        except InputError:
            raise
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            problems.append(doc.problem(("leak", "estimate"), f"not an estimate.json with site_probability: {exc}"))
    if problems:
        raise InputError(problems)
    total = sum(weights.values())
    if total <= 0:
        raise InputError(doc.problem(("leak",), "every candidate has prior weight 0"))
    return LoadedHunt(hunt, station, station_path, {c: w / total for c, w in weights.items()}, Path(path))
