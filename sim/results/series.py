"""The recorded time series: total pressure and partial pressures of every compartment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Series", "SeriesRecorder", "sample_times"]


def sample_times(duration: float, every: float) -> np.ndarray:
    """Sampling instants 0, every, 2·every, ... and *duration* itself [s]."""
    n = int(np.floor(duration / every + 1e-9))
    times = np.arange(n + 1) * every
    if times[-1] < duration - 1e-9:
        times = np.append(times, duration)
    return times


@dataclass(frozen=True)
class Series:
    """Sampled series.

    Attributes
    ----------
    t : ndarray (k,)  sample times [s]
    names : tuple of str  compartment ids
    p : ndarray (k, n)  total pressure [Pa]
    pp : ndarray (k, n, 3)  partial pressures of N2, O2, CO2 [Pa]
    treserve : ndarray (k, n) or None  model-truth Treserve of every compartment [s]
        (:func:`sim.reserve.leak_treserve`; ``inf`` where no leak draws it down)
    station_treserve : ndarray (k,) or None  the lowest Treserve in the crew's air [s]
        (with nobody aboard, in the station's largest volume)
    """

    t: np.ndarray
    names: tuple[str, ...]
    p: np.ndarray
    pp: np.ndarray
    treserve: np.ndarray | None = None
    station_treserve: np.ndarray | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """The columns of series.csv: ``t_s``; per compartment ``ID.p_Pa``, ``ID.O2_Pa``,
        ``ID.CO2_Pa`` and (when recorded) ``ID.treserve_s``; then ``station.treserve_s``."""
        cols = {"t_s": self.t}
        for i, name in enumerate(self.names):
            cols[f"{name}.p_Pa"] = self.p[:, i]
            cols[f"{name}.O2_Pa"] = self.pp[:, i, 1]
            cols[f"{name}.CO2_Pa"] = self.pp[:, i, 2]
            if self.treserve is not None:
                cols[f"{name}.treserve_s"] = self.treserve[:, i]
        if self.station_treserve is not None:
            cols["station.treserve_s"] = self.station_treserve
        return cols

    def at(self, name: str) -> np.ndarray:
        """Total pressure of one compartment over time [Pa]."""
        return self.p[:, self.names.index(name)]


class SeriesRecorder:
    """Collects samples in chunks as the engine advances the atmosphere."""

    def __init__(self, names: tuple[str, ...], times: np.ndarray):
        self.names = names
        self.times = times
        self.next = 0  # index of the next time to record
        self._p: list[np.ndarray] = []
        self._pp: list[np.ndarray] = []
        self._tr: list[np.ndarray] = []
        self._st: list[np.ndarray] = []

    def due(self, t: float) -> np.ndarray:
        """Sample times not yet recorded that are <= *t* [s]."""
        stop = int(np.searchsorted(self.times, t, side="right"))
        return self.times[self.next : stop]

    def add(self, p: np.ndarray, pp: np.ndarray, treserve: np.ndarray, station: np.ndarray) -> None:
        """Append samples for the next ``len(p)`` due times (pressures [Pa], Treserves [s])."""
        self._p.append(p)
        self._pp.append(pp)
        self._tr.append(treserve)
        self._st.append(station)
        self.next += len(p)

    def series(self) -> Series:
        """Everything recorded so far."""
        n = len(self.names)
        p = np.concatenate(self._p) if self._p else np.zeros((0, n))
        pp = np.concatenate(self._pp) if self._pp else np.zeros((0, n, 3))
        tr = np.concatenate(self._tr) if self._tr else np.zeros((0, n))
        st = np.concatenate(self._st) if self._st else np.zeros(0)
        return Series(self.times[: len(p)], self.names, p, pp, tr, st)
