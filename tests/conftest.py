"""Fixtures shared by the whole test suite: a tiny two-module station, an ``rng``, a YAML writer.

Hypothesis runs with the ``ci`` profile: no example database and no per-example deadline (CI
machines are slow and noisy). Its other caches (constants found in the source, Unicode tables) go to
a temporary directory removed at the end of the session, so no ``.hypothesis/`` is left in the tree.
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# derandomize: the same examples on every run, so CI time and outcome do not vary by chance
# (bench/fuzz.py is where new random cases are searched for)
settings.register_profile("ci", database=None, deadline=None, derandomize=True)
settings.load_profile("ci")

_HYPOTHESIS_HOME: list[str] = []


def pytest_configure(config):
    _HYPOTHESIS_HOME.append(tempfile.mkdtemp(prefix="safehaven-hypothesis-"))
    set_hypothesis_home_dir(_HYPOTHESIS_HOME[-1])


def pytest_unconfigure(config):
    while _HYPOTHESIS_HOME:
        shutil.rmtree(_HYPOTHESIS_HOME.pop(), ignore_errors=True)

REPO = Path(__file__).resolve().parent.parent
"""The repository root (holds ``pyproject.toml``, ``scenarios/`` and ``tests/``)."""

TINY_STATION_YAML = """\
name: Tiny
temperature: 295 K
atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}
compartments:
  module: {volume: 20 m^3, segment: RS, traverse: 20 s}
  tunnel: {volume: 5 m^3, segment: RS, traverse: 10 s}
hatches:
  module-tunnel: {between: [module, tunnel], area: 0.5 m^2, valve: 1 cm^2, close_time: 60 s}
"""
"""A valid station: two modules (20 and 5 m^3) joined by one open hatch with a closed valve."""


@pytest.fixture
def tiny_station_yaml() -> str:
    """The text of :data:`TINY_STATION_YAML`."""
    return TINY_STATION_YAML


@pytest.fixture
def tiny_station(tiny_station_yaml):
    """:data:`TINY_STATION_YAML` loaded and cross-checked: a :class:`~sim.scenario.station_model.Station`."""
    from sim.scenario.crossref import check_station
    from sim.scenario.station_model import Station
    from sim.scenario.validation import validate_document
    from sim.scenario.yamlio import parse_yaml

    doc = parse_yaml(tiny_station_yaml, "tiny.yaml")
    station = validate_document(Station, doc)
    assert check_station(station, doc) == []
    return station


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, the same in every test: ``Generator(PCG64(12345))``."""
    return np.random.Generator(np.random.PCG64(12345))


@pytest.fixture
def write_yaml(tmp_path):
    """``write_yaml(name, text)`` writes a file under ``tmp_path`` and returns its path.

    *text* is dedented (so tests can indent it with the code); bytes are written as they are.
    *name* may contain directories, which are created.
    """

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


# -- run directories shared by the replay and report tests (made once per session) ---------------
RUNS_ROOT = Path(__file__).resolve().parents[1]
REPLAY_DATA = RUNS_ROOT / "tests" / "data" / "replay"
ISS = REPLAY_DATA / "iss-prk-leak.yaml"
TWO = RUNS_ROOT / "scenarios" / "two-volumes-valve.yaml"
VARIANT = ("leaks.prk-hole.area=0.4 cm^2", "events.0.at=20 min")
"""The what-if of the compare tests: a hole twice the size, the hatch closed 5 min later."""



def make_run(base: Path, name: str, scenario: Path, overrides=()) -> Path:
    """Run *scenario* into ``base/name`` unless an earlier test already did."""
    from sim.api import load
    from sim.engine import simulate
    from sim.results.writers import write_run

    out = base / name
    if not out.exists():
        result = simulate(load(scenario, list(overrides)))
        result.extra["overrides"] = list(overrides)
        write_run(result, out)
    return out


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.getbasetemp() / "shared-runs"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def two_run(runs_dir) -> Path:
    return make_run(runs_dir, "two", TWO, ("duration=5 min",))  # short: the valve flow is costly


@pytest.fixture(scope="session")
def iss_run(runs_dir) -> Path:
    return make_run(runs_dir, "iss-base", ISS)


@pytest.fixture(scope="session")
def iss_variant(runs_dir) -> Path:
    return make_run(runs_dir, "iss-variant", ISS, VARIANT)


@pytest.fixture(scope="session")
def prk_run(runs_dir) -> Path:
    """The flagship scenario, with crew and procedures."""
    return make_run(runs_dir, "prk-2026", RUNS_ROOT / "scenarios" / "iss-prk-2026.yaml")
