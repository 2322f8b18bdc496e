"""The Python API for scripts and notebooks: load a scenario, run it, read a run directory, the state at T."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import UsageError

if TYPE_CHECKING:
    from sim.engine import RunResult
    from sim.scenario.load import LoadedScenario

__all__ = ["load", "open_run", "run", "state_at"]

# Each function imports what it needs when called: `import sim` imports this module, and must stay
# cheap for every command and script (start-up cost; the engine alone takes ~0.3 s to import).


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

    if not hasattr(scenario, "scenario"):
        scenario = load(scenario, overrides)
    elif overrides:
        raise UsageError("overrides apply when a scenario is loaded: pass its path, or use sim.load(path, overrides)")
    return simulate(scenario, seed)


def open_run(directory: str | Path):
    """Read a run directory back (summary, events and series)."""
    from sim.results.reader import read_run

    return read_run(directory)


def state_at(result, t: float | str):
    """The station at time *t* of a run, derived from its events (what ``replay --at`` shows).

    Parameters
    ----------
    result : RunResult, a run read back with :func:`open_run`, or a run directory
    t : float or str
        The instant: seconds, or ``"01:00:00"``, ``"35 min"`` as ``--at`` takes it [s].

    Returns
    -------
    sim.results.state.StationState
        Crew (location, activity, status, trapped and why), hatches, leaks, alarms, procedures,
        shelter; see ``docs/architecture.md``, "The state at time T".

    Raises
    ------
    sim.UsageError
        If *t* is not a time or lies outside the run.

    Examples
    --------
    >>> result = sim.run("scenarios/iss-prk-2026.yaml")          # doctest: +SKIP
    >>> sim.state_at(result, "01:00:00").crew["fe5"].activity     # doctest: +SKIP
    'repair prk-crack'
    """
    from sim.replay import parse_time
    from sim.results.state import state_at as derive

    if isinstance(result, str | Path):
        result = open_run(result)
    seconds = parse_time(t)
    duration = result.summary.get("duration_s")
    if isinstance(duration, int | float) and not 0 <= seconds <= duration + 1e-9:
        raise UsageError(f"time {seconds:g} s is outside the run (0 to {duration:g} s)")
    loaded = result.loaded if hasattr(result, "loaded") else result.load()
    events = result.events.events if hasattr(result.events, "events") else result.events
    return derive(events, seconds, loaded, result.series)
