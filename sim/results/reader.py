"""Reading a run directory back: summary.json, events.jsonl, series.csv (or Parquet), inputs/.

:func:`read_run` returns a :class:`RunRecord` with the same face as an in-memory
:class:`~sim.engine.RunResult` (``.summary``, ``.events``, ``.series``), so reports and comparisons
work on either. :func:`interpolate_series` gives pressures and gas at one instant; the rest of the
state at an instant is derived from the events by :mod:`sim.results.state`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UsageError
from sim.paths import inside, recover_directory, require_inside
from sim.results import artefacts
from sim.results.events import EventLog
from sim.results.series import Series

__all__ = ["RunRecord", "SeriesState", "initial_hatch_states", "interpolate_series", "read_run"]

_SPECIES = ("N2", "O2", "CO2")


@dataclass
class RunRecord:
    """A run directory read back.

    Attributes
    ----------
    path : the run directory.
    summary : summary.json as a dict.
    events : the events as a list of dicts, in simulation order.
    series : :class:`~sim.results.series.Series` (numpy arrays) [s], [Pa].
    manifest : inputs/manifest.json (seed, version, overrides), empty when absent.
    """

    path: Path
    summary: dict[str, Any]
    events: list[dict]
    series: Series
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def log(self) -> EventLog:
        """The events as an :class:`~sim.results.events.EventLog` (for code written for RunResult)."""
        return EventLog(self.events)

    @property
    def status(self) -> str:
        return self.summary.get("status", "ok")

    @property
    def seed(self) -> int | None:
        return self.summary.get("seed", self.manifest.get("seed"))

    @property
    def inputs(self) -> Path:
        """The directory of resolved inputs."""
        return self.path / "inputs"

    def scenario_path(self) -> Path:
        """The scenario file inside ``inputs/``.

        Raises
        ------
        UsageError
            If the directory has no manifest naming its scenario.
        """
        rel = self.manifest.get("scenario")
        if not rel:
            raise UsageError(f"{self.path}: inputs/manifest.json names no scenario; this run cannot be replayed")
        path = inside(self.inputs, rel, display=str(self.inputs / "manifest.json"), what="scenario")
        if not path.is_file():
            raise UsageError(f"{self.path}: the scenario {rel} named by inputs/manifest.json is missing")
        return path

    def load(self):
        """Load the scenario from ``inputs/`` with the recorded overrides (a LoadedScenario).

        A drill's run directory loads through its drill file, whose scenario may be inline and
        whose injects may add leaks.

        Raises
        ------
        UsageError
            If the directory names no scenario or drill, or names a file it does not hold.
        """
        # lazy, for start-up cost: reading a run's events and series needs none of the scenario
        # loader (its schemas import pydantic), only loading its scenario again does
        from sim.scenario.load import load_scenario

        drill = self.manifest.get("files", {}).get("drill")
        if drill:
            from sim.scenario.drill_load import load_drill

            manifest = str(self.inputs / "manifest.json")
            path = inside(self.inputs, drill, display=manifest, what="drill")
            if not path.is_file():
                raise UsageError(f"{self.path}: the drill {drill} named by inputs/manifest.json is missing")
            loaded = load_drill(path).loaded
            require_inside(self.inputs, loaded.files.values(), display=str(path))
            return loaded
        loaded = load_scenario(self.scenario_path(), list(self.manifest.get("overrides", [])))
        require_inside(self.inputs, loaded.files.values(), display=str(self.scenario_path()))
        return loaded

    def to_dataframe(self):
        """The series as a pandas DataFrame indexed by ``t_s`` (columns as in series.csv).

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        return series_dataframe(self.series)

    def events_dataframe(self):
        """The events as a pandas DataFrame (one row per event)."""
        pd = _pandas()
        return pd.DataFrame(self.events)


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("to_dataframe() needs pandas: pip install pandas "
                          "(the numpy arrays are in .series meanwhile)") from exc
    return pd


def series_dataframe(series: Series):
    """A :class:`Series` as a pandas DataFrame indexed by ``t_s`` [s]."""
    pd = _pandas()
    cols = series.columns()
    t = cols.pop("t_s")
    return pd.DataFrame(cols, index=pd.Index(t, name="t_s"))


def read_run(directory: str | Path) -> RunRecord:
    """Read a run directory written by ``safehaven run --out``.

    Parameters
    ----------
    directory : str or Path
        The run directory.

    Raises
    ------
    UsageError
        If it is not a run directory (no summary.json or events.jsonl), naming what is missing.
    """
    path = Path(directory)
    recover_directory(path)  # a --force replacement killed between its renames
    if not path.is_dir():
        raise UsageError(f"{path}: no such run directory")
    missing = [n for n in ("summary.json", "events.jsonl") if not (path / n).exists()]
    if missing:
        raise UsageError(f"{path}: not a run directory (missing {', '.join(missing)})")
    summary = artefacts.json_object(path / "summary.json")
    events = read_events(path / "events.jsonl")
    series = read_series(path)
    manifest = {}
    if (path / "inputs" / "manifest.json").exists():
        manifest = artefacts.manifest(path / "inputs" / "manifest.json")
    return RunRecord(path, summary, events, series, manifest)


def read_events(path: str | Path) -> list[dict]:
    """events.jsonl as a list of dicts.

    Raises
    ------
    InputError
        On a line that is not a JSON event with a kind and a time, naming the file and line.
    """
    return artefacts.events(path)


def read_series(directory: str | Path) -> Series:
    """series.csv (or series.parquet) of a run directory as a :class:`Series`."""
    return series_from_columns(artefacts.series_columns(directory))


def series_from_columns(cols: dict[str, np.ndarray]) -> Series:
    """Rebuild a :class:`Series` from series.csv columns (N2 is total minus O2 and CO2)."""
    names = tuple(c[: -len(".p_Pa")] for c in cols if c.endswith(".p_Pa"))
    t = np.asarray(cols.get("t_s", np.zeros(0)), float)
    k, n = len(t), len(names)
    p = np.zeros((k, n))
    pp = np.zeros((k, n, 3))
    tr = np.full((k, n), np.nan)
    for i, name in enumerate(names):
        p[:, i] = cols[f"{name}.p_Pa"]
        pp[:, i, 1] = cols.get(f"{name}.O2_Pa", np.zeros(k))
        pp[:, i, 2] = cols.get(f"{name}.CO2_Pa", np.zeros(k))
        pp[:, i, 0] = p[:, i] - pp[:, i, 1] - pp[:, i, 2]
        if f"{name}.treserve_s" in cols:
            tr[:, i] = cols[f"{name}.treserve_s"]
    has_treserve = any(f"{name}.treserve_s" in cols for name in names)
    station = cols.get("station.treserve_s")
    return Series(t, names, p, pp, tr if has_treserve else None,
                  None if station is None else np.asarray(station, float))


@dataclass(frozen=True)
class SeriesState:
    """Pressures at one instant read from a series.

    Attributes
    ----------
    t : the instant [s].
    p : {compartment: total pressure [Pa]}.
    pp : {compartment: {"N2","O2","CO2": partial pressure [Pa]}}.
    interpolated : False when *t* is a sample time, True when interpolated linearly.
    bracket : the two sample times around *t* [s].
    """

    t: float
    p: dict[str, float]
    pp: dict[str, dict[str, float]]
    interpolated: bool
    bracket: tuple[float, float]


def interpolate_series(series: Series, t: float) -> SeriesState:
    """Total and partial pressures at *t* [s], linear between the two nearest samples.

    Raises
    ------
    UsageError
        If *t* is outside the recorded series.
    """
    ts = series.t
    if not len(ts) or t < ts[0] - 1e-9 or t > ts[-1] + 1e-9:
        span = f"{ts[0]:g} to {ts[-1]:g} s" if len(ts) else "nothing"
        raise UsageError(f"time {t:g} s is outside the recorded series ({span})")
    j = int(np.searchsorted(ts, t, side="left"))
    if j < len(ts) and math.isclose(ts[j], t, abs_tol=1e-9):
        p, pp, exact, bracket = series.p[j], series.pp[j], True, (float(ts[j]), float(ts[j]))
    else:
        j0, j1 = j - 1, j
        w = (t - ts[j0]) / (ts[j1] - ts[j0])
        p = (1 - w) * series.p[j0] + w * series.p[j1]
        pp = (1 - w) * series.pp[j0] + w * series.pp[j1]
        exact, bracket = False, (float(ts[j0]), float(ts[j1]))
    return SeriesState(
        float(t),
        {n: float(p[i]) for i, n in enumerate(series.names)},
        {n: {s: float(pp[i, k]) for k, s in enumerate(_SPECIES)} for i, n in enumerate(series.names)},
        not exact,
        bracket,
    )
def initial_hatch_states(loaded) -> tuple[dict[str, bool], dict[str, bool]]:
    """Hatch and valve open states at t = 0 (station file, then the scenario's ``initial``)."""
    st, sc = loaded.station, loaded.scenario
    hatches = {h: bool(x.open) for h, x in st.hatches.items()}
    valves = {h: bool(x.valve_open) for h, x in st.hatches.items() if x.valve}
    hatches |= {h: s == "open" for h, s in sc.initial.hatches.items()}
    valves |= {h: s == "open" for h, s in sc.initial.valves.items()}
    return hatches, valves
