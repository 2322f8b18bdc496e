"""Gauges as instruments: what a total-pressure gauge or a partial-pressure analyser reports.

A gauge samples its compartment every ``every`` seconds; the sensor adds Gaussian noise, the
reading is quantized to the gauge's resolution (round to the nearest step, as the ISS public feed's
0.1 mmHg steps), and with ``report_on_change`` a reading is recorded only when it differs from the
last one recorded. Readings are taken from the run's series at the gauge's sampling instants (a
multiple of ``output.every``, so no interpolation) and recorded beside the true value.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from sim.results.series import Series
from sim.scenario.station_model import Station

__all__ = ["GaugeLog", "gauge_csv", "gauge_readings", "quantize"]

_SPECIES_INDEX = {"N2": 0, "O2": 1, "CO2": 2}


@dataclass(frozen=True)
class GaugeLog:
    """One gauge's recorded readings.

    Attributes
    ----------
    gauge, at, reads : its id, compartment and quantity (``total``, ``N2``, ``O2``, ``CO2``).
    t : ndarray  times of the recorded readings [s]
    reading : ndarray  what the gauge reported [Pa]
    truth : ndarray  the model's value at the same instants [Pa]
    """

    gauge: str
    at: str
    reads: str
    t: np.ndarray
    reading: np.ndarray
    truth: np.ndarray


def quantize(x, resolution: float):
    """Round *x* to the nearest multiple of *resolution* (unchanged when it is 0) [same unit]."""
    x = np.asarray(x, dtype=float)
    return x if resolution <= 0 else np.round(x / resolution) * resolution


def gauge_readings(station: Station, series: Series, rng: np.random.Generator) -> list[GaugeLog]:
    """Readings of every gauge of *station* over *series*, noise drawn from *rng* (one gauge after another)."""
    logs = []
    t = series.t
    for gid, g in station.gauges.items():
        i = series.names.index(g.at)
        truth_all = series.p[:, i] if g.reads == "total" else series.pp[:, i, _SPECIES_INDEX[g.reads]]
        k = np.round(t / g.every)
        on_grid = np.flatnonzero(np.abs(t - k * g.every) <= 1e-9 * np.maximum(t, 1.0))
        ts, truth = t[on_grid], truth_all[on_grid]
        noisy = truth + (rng.normal(0.0, g.noise, len(truth)) if g.noise > 0 else 0.0)
        reading = quantize(noisy, g.resolution)
        if g.report_on_change and len(reading):
            keep = np.concatenate([[True], reading[1:] != reading[:-1]])
            ts, reading, truth = ts[keep], reading[keep], truth[keep]
        logs.append(GaugeLog(gid, g.at, g.reads, ts, reading, truth))
    return logs


def gauge_csv(logs: list[GaugeLog]) -> str:
    """``gauges.csv``: one row per recorded reading, ``gauge,at,reads,t_s,reading_Pa,truth_Pa``."""
    out = io.StringIO()
    out.write("gauge,at,reads,t_s,reading_Pa,truth_Pa\n")
    for log in logs:
        for tk, rk, xk in zip(log.t, log.reading, log.truth, strict=True):
            out.write(f"{log.gauge},{log.at},{log.reads},{tk:.9g},{rk:.9g},{xk:.9g}\n")
    return out.getvalue()
