"""Synthetic records: a simulated run with a known leak, read through its gauges.

Used by the calibration tests and ``bench/``: the truth is the engine's, the readings are what the
station's gauges reported (noise, rounding, report-on-change), and the temperature log is what the
scenario applied.
"""

from __future__ import annotations

import numpy as np

from sim.engine import RunResult
from sim.leakhunt.record import GaugeSeries, LeakRecord, TemperatureSeries

__all__ = ["record_from_run"]


def record_from_run(result: RunResult, *, name: str = "synthetic", candidates=None, known_noise: bool = True,
                    temperature_at: str | None = "station") -> LeakRecord:
    """The record a crew would have of *result*: its gauges' readings, hatch history and temperatures.

    Parameters
    ----------
    candidates : list of str, optional
        Compartments the leak may be in (default every compartment), equal prior weights.
    known_noise : bool
        Whether the gauges' noise levels are given to the estimator (else it estimates them).
    temperature_at : str or None
        Compartment whose applied temperature becomes the record's temperature log (``station``: the
        first compartment's, standing for all); None for no temperature log.
    """
    loaded = result.loaded
    st, sc = loaded.station, loaded.scenario
    gauges = []
    for log in result.extra.get("gauges", []):
        g = st.gauges[log.gauge]
        gauges.append(GaugeSeries(log.gauge, log.at, log.reads, log.t, log.reading, g.resolution,
                                  g.noise if known_noise else None, g.every if g.report_on_change else None,
                                  source=f"gauges.csv:{log.gauge}"))
    temps = []
    csv = result.extra.get("files", {}).get("temperature.csv")
    if csv and temperature_at is not None:
        rows = [line.split(",") for line in csv.strip().splitlines()]
        header = rows[0]
        data = np.array(rows[1:], dtype=float)
        col = 1 if temperature_at == "station" else header.index(f"{temperature_at}.T_K")
        every = sc.cabin_temperature.every
        # the value applied at t holds over [t, t + every): log it as steps at both ends
        t = np.repeat(data[:, 0], 2)
        t[1::2] += every * (1 - 1e-9)
        temps.append(TemperatureSeries(temperature_at, t, np.repeat(data[:, col], 2), "temperature.csv"))
    initial = {h: x.open for h, x in st.hatches.items()} | {h: s == "open" for h, s in sc.initial.hatches.items()}
    events = [(e.at, e.hatch, e.state == "open") for e in sc.events if e.hatch is not None]
    places = list(st.compartments) + list(st.vehicles)
    cands = list(candidates) if candidates is not None else places
    return LeakRecord(name, st, initial, events, gauges, temps, float(sc.duration),
                      {c: 1.0 / len(cands) for c in cands})
