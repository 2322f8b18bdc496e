"""The Python API for scripts and notebooks: load a scenario, run it, read a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.engine import RunResult
    from sim.scenario.load import LoadedScenario

__all__ = ["load", "open_run", "run"]


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoadedScenario:
    """Load and validate a scenario file (and the station and procedures it names).

    Parameters
    ----------
    path : str or Path
        A scenario YAML file.
    overrides : list of str
        ``PATH=VALUE`` settings, as ``safehaven run --set``.

    Raises
    ------
    sim.InputError
        Listing every problem as ``file:line: path: message``.
    """
    from sim.scenario.load import load_scenario

    return load_scenario(path, overrides)


def run(scenario: LoadedScenario | str | Path, seed: int | None = None, overrides=()) -> RunResult:
    """Run a scenario once and return its result in memory.

    Parameters
    ----------
    scenario : LoadedScenario or path
        A loaded scenario, or a path to load.
    seed : int, optional
        Replaces the scenario's seed.
    overrides : list of str
        ``PATH=VALUE`` settings, as ``safehaven run --set``; only with a path (a loaded scenario
        already carries the overrides it was loaded with). They travel with the result, so
        ``result.save(DIR)`` records them and ``safehaven replay DIR`` applies them again.

    Raises
    ------
    sim.UsageError
        If *overrides* are given with an already loaded scenario.
    """
    from sim.engine import simulate
    from sim.errors import UsageError

    if not hasattr(scenario, "scenario"):
        scenario = load(scenario, overrides)
    elif overrides:
        raise UsageError("overrides apply when a scenario is loaded: pass its path, or use sim.load(path, overrides)")
    return simulate(scenario, seed)


def open_run(directory: str | Path):
    """Read a run directory back (summary, events and series)."""
    from sim.results.reader import read_run

    return read_run(directory)
