"""Run directories for the report tests (shared with tests/replay through the session temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "replay"
ISS = DATA / "iss-prk-leak.yaml"
TWO = ROOT / "scenarios" / "two-volumes-valve.yaml"
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
    return make_run(runs_dir, "prk-2026", ROOT / "scenarios" / "iss-prk-2026.yaml")
