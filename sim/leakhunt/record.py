"""A leak record in memory: the station, what the gauges read and what the hatches did, all SI.

Built by :func:`sim.scenario.record_load.load_record` from a record file, or directly (the
calibration tests make records from simulated runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.scenario.station_model import Station

__all__ = ["GaugeSeries", "LeakRecord", "TemperatureSeries"]


@dataclass(frozen=True)
class GaugeSeries:
    """One gauge's readings.

    Attributes
    ----------
    id, at : gauge id and the compartment it reads.
    reads : ``"total"`` or ``"N2"``.
    t : ndarray  reading times [s] from the record's start, non-decreasing
    y : ndarray  readings [Pa]
    resolution : step of the readings [Pa], 0 when not quantized
    noise : sensor noise standard deviation [Pa], or None to estimate it
    every : sampling interval of a report-on-change log [s], or None
    """

    id: str
    at: str
    reads: str
    t: np.ndarray
    y: np.ndarray
    resolution: float = 0.0
    noise: float | None = None
    every: float | None = None
    source: str = ""


@dataclass(frozen=True)
class TemperatureSeries:
    """A temperature log [K] at times [s]; ``at`` a compartment or ``"station"``.

    ``coupling`` is the fraction of the logged swing the gas follows (1: the log is the gas
    temperature of its zone), or None to estimate it.
    """

    at: str
    t: np.ndarray
    T: np.ndarray
    source: str = ""
    coupling: float | None = 1.0


@dataclass(frozen=True)
class LeakRecord:
    """Everything :func:`sim.leakhunt.estimate.estimate` needs.

    Attributes
    ----------
    hatch_initial : hatch id -> open at t = 0 (every hatch of the station)
    hatch_events : (t [s], hatch id, open) in time order
    duration : end of the record [s]
    candidates : compartments the leak may be in, with prior weights summing to 1
    max_rate : upper end of the flat rate prior, at the station's pressure [kg/s]
    cd : discharge coefficient for the equivalent hole diameter
    """

    name: str
    station: Station
    hatch_initial: dict[str, bool]
    hatch_events: list[tuple[float, str, bool]]
    gauges: list[GaugeSeries]
    temperatures: list[TemperatureSeries] = field(default_factory=list)
    duration: float = 0.0
    candidates: dict[str, float] = field(default_factory=dict)
    max_rate: float = 50 * 0.45359237 / 86400
    cd: float = 0.6
    start_iso: str | None = None
    path: str | None = None
