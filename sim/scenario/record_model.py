"""Schema of a record file: a station, gauge logs, the hatch history and temperature logs over a time span.

``safehaven estimate RECORD`` reads it (docs/leak-hunt.md). Logs are separate CSV or Parquet files
whose column headers carry their units (``t_h``, ``p_mmHg``, ``T_degC``, or ``time`` for ISO 8601
timestamps); :mod:`sim.scenario.record_load` reads them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.fields import Id, MassFlow, NonNegTime, Pressure, Time

__all__ = ["GaugeLogFile", "HatchChange", "HatchHistory", "LeakPrior", "Record", "TemperatureLogFile"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GaugeLogFile(_Strict):
    """One gauge's log: a file of readings and what is known of the instrument."""

    file: str = Field(description="CSV or Parquet file, relative to the record: a time column and a value column")
    at: Id = Field(description="the compartment it reads")
    reads: Literal["total", "N2"] = Field("total", description="total pressure or the N2 partial pressure")
    resolution: Pressure = Field(0.0, description="step of the readings [Pa]; 0 = not quantized")
    noise: Pressure | None = Field(None, description="standard deviation of the sensor's error [Pa]; "
                                                    "left out: estimated from the record")
    every: Time | None = Field(None, description="sampling interval [s] of a report-on-change log: each reading "
                                                 "then stands for every sample until the next one")


class TemperatureLogFile(_Strict):
    """A cabin temperature log; it stands for every compartment of its zone (``station``: all)."""

    file: str
    at: Id = Field(description="the compartment it was measured in, or 'station'")
    coupling: float | Literal["fit"] = Field(
        1.0, description="how much of the logged swing the gas follows: 1 = the log is the gas temperature of its "
                         "zone (applied in the forward model); a number in [0, 2] scales the swing; 'fit' "
                         "estimates it in [0, 1.5] (a local air sensor standing for a larger volume)")

    @model_validator(mode="after")
    def _coupling(self):
        if self.coupling != "fit" and not 0.0 <= float(self.coupling) <= 2.0:
            raise ValueError(f"coupling {self.coupling!r}: expected a number in [0, 2] or 'fit'")
        return self


class HatchChange(_Strict):
    """A hatch opened or closed during the record."""

    at: NonNegTime
    hatch: Id
    state: Literal["open", "closed"]


class HatchHistory(_Strict):
    """Hatch states at the record's start (where they differ from the station file) and their changes."""

    initial: dict[Id, Literal["open", "closed"]] = Field(default_factory=dict)
    events: list[HatchChange] = Field(default_factory=list, max_length=10_000)


class LeakPrior(_Strict):
    """What is assumed of the leak before the record is read."""

    candidates: list[Id] | None = Field(None, min_length=1, description="compartments it may be in; default all")
    prior: dict[Id, float] | None = Field(None, description="relative prior weight of each candidate; default equal")
    max_rate: MassFlow = Field(50 * 0.45359237 / 86400, description="upper end of the flat prior on the rate "
                                                                    "at the station's pressure [kg/s] (50 lb/day)")
    cd: float = Field(0.6, gt=0, le=1, description="discharge coefficient for the equivalent hole diameter")


class Record(_Strict):
    """A whole record file."""

    name: str
    description: str | None = None
    station: str = Field(description="path of the station file, relative to this file")
    start: str | None = Field(None, description="ISO 8601 instant of t = 0 for logs with ISO timestamps; "
                                                "default the earliest reading")
    duration: Time | None = Field(None, description="length of the record [s]; default up to the last reading")
    hatches: HatchHistory = Field(default_factory=HatchHistory)
    gauges: dict[Id, GaugeLogFile] = Field(min_length=1, max_length=100)
    temperature: list[TemperatureLogFile] = Field(default_factory=list, max_length=100)
    leak: LeakPrior = Field(default_factory=LeakPrior)
