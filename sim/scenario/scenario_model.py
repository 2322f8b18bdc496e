"""Schema of a scenario file: a station, crew, leaks, procedures to run, scripted events, checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.distributions import Duration
from sim.scenario.fields import (
    MAX_SCALE,
    HoleArea,
    HoleDiameter,
    Id,
    LeakRate,
    MassFlow,
    NonNegTime,
    Pressure,
    Time,
    quantity,
)
from sim.scenario.procedure_model import Step
from sim.scenario.station_model import DEFAULT_CD, Station

__all__ = [
    "CabinTemperature",
    "Check",
    "CrewMember",
    "Event",
    "Gauge",
    "Initial",
    "Leak",
    "Output",
    "Physiology",
    "RunEntry",
    "Scenario",
    "SolverSettings",
    "TemperatureSine",
    "TemperatureTable",
    "TimelineEntry",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Output(_Strict):
    """What the run records."""

    every: Time = Field(10.0, description="sampling interval of series.csv [s]")
    format: Literal["csv", "parquet", "both"] = "csv"


class SolverSettings(_Strict):
    """Atmosphere solver options (see docs/atmosphere.md)."""

    thermo: Literal["isothermal", "adiabatic"] = "isothermal"
    hatch_model: Literal["merge", "orifice"] = "merge"


class CrewMember(_Strict):
    """One crew member: an id, roles, where they start, and how quickly they respond."""

    id: Id
    roles: list[Id] = Field(default_factory=list)
    at: Id = Field(description="starting compartment")
    vehicle: Id | None = Field(None, description="the vehicle assigned to them, if any")
    response: Duration = Field(0.0, description="delay before they act on a procedure [s]")
    speed: float = Field(1.0, gt=0, le=10, description="movement speed factor (2 = twice as fast)")


class Leak(_Strict):
    """A hole to vacuum, given by exactly one of rate, area or diameter."""

    id: Id
    at: Id
    rate: LeakRate | None = Field(None, description="leak rate at the compartment's start pressure [kg/s]")
    # holes larger than hatches are allowed; the bounds only keep areas representable
    area: HoleArea | None = Field(None, description="hole area [m^2]")
    diameter: HoleDiameter | None = Field(None, description="hole diameter [m]")
    cd: float = Field(DEFAULT_CD, gt=0, le=1, description="discharge coefficient (area/diameter only)")
    start: NonNegTime = Field(0.0, description="when the leak begins [s]")
    known: bool = Field(False, description=(
        "the crew know of this leak when it starts (as the PrK leak was known since 2019): it counts as "
        "detected at its start, not at the first measurement or alarm that shows it"))

    @model_validator(mode="after")
    def _one_size(self):
        given = [k for k in ("rate", "area", "diameter") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a leak needs exactly one of rate, area or diameter, got {len(given)}")
        if self.rate is not None and "cd" in self.model_fields_set:
            raise ValueError("cd applies to a leak given by area or diameter, not by rate")
        return self


class RunEntry(_Strict):
    """A procedure to run, at a time or when an alarm sounds."""

    procedure: str = Field(description="path of a procedure file, relative to the scenario file")
    at: NonNegTime | None = None
    on: Literal["rapid_depress", "ppCO2_high", "ppO2_low"] | None = None
    bind: dict[Id, list[Id]] | None = Field(None, description="role -> crew ids; default: crew by their roles")

    @model_validator(mode="after")
    def _one_trigger(self):
        if (self.at is None) == (self.on is None):
            raise ValueError("a run entry needs exactly one of 'at' (a time) or 'on' (an alarm)")
        return self


class Event(_Strict):
    """A scripted fact on the timeline: a leak changes, a hatch or valve changes state by itself."""

    at: NonNegTime
    leak: Id | None = None
    scale: float | None = Field(None, ge=0, le=MAX_SCALE, description="multiply the leak's area by this")
    seal: bool | None = None
    hatch: Id | None = None
    valve: Id | None = None
    state: Literal["open", "closed"] | None = None

    @model_validator(mode="after")
    def _one_target(self):
        targets = [k for k in ("leak", "hatch", "valve") if getattr(self, k) is not None]
        if len(targets) != 1:
            raise ValueError("an event names exactly one of leak, hatch or valve")
        if self.leak is not None and (self.scale is None) == (self.seal is None):
            raise ValueError("a leak event needs exactly one of 'scale' or 'seal'")
        if self.leak is None and self.state is None:
            raise ValueError("a hatch or valve event needs 'state: open' or 'state: closed'")
        if self.leak is None and (self.scale is not None or self.seal is not None):
            raise ValueError("'scale' and 'seal' apply to leak events only")
        if self.leak is not None and self.state is not None:
            raise ValueError("'state' applies to hatch and valve events only")
        return self


class _Check(_Strict):
    name: str | None = None


class AllCrewInShelter(_Check):
    expect: Literal["all_crew_in_shelter"]
    within: NonNegTime
    role: Id | None = Field(None, description="only the crew with this role")


class CrewInShelter(_Check):
    expect: Literal["crew_in_shelter"]
    crew: Id
    within: NonNegTime


class MinPressure(_Check):
    expect: Literal["min_pressure"]
    of: Id = Field(description="a compartment id, or 'station' for every compartment")
    above: Pressure


class HatchClosed(_Check):
    expect: Literal["hatch_closed"]
    hatch: Id
    within: NonNegTime


class NobodyIncapacitated(_Check):
    expect: Literal["nobody_incapacitated"]


class NobodyImpaired(_Check):
    expect: Literal["nobody_impaired"]


class OutcomeIs(_Check):
    expect: Literal["outcome"]
    is_: str = Field(alias="is")


class TreserveAbove(_Check):
    expect: Literal["treserve_above"]
    of: Id = "station"
    above: NonNegTime


class LeakRepaired(_Check):
    expect: Literal["leak_repaired"]
    leak: Id
    within: NonNegTime


Check = Annotated[
    AllCrewInShelter
    | CrewInShelter
    | MinPressure
    | HatchClosed
    | NobodyIncapacitated
    | NobodyImpaired
    | OutcomeIs
    | TreserveAbove
    | LeakRepaired,
    Field(discriminator="expect"),
]


class TimelineEntry(_Strict):
    """One action of an as-flown timeline: a procedure step with the time it started.

    Written flat in the file: ``{at: 35 min, do: close_hatch, hatch: zvezda-prk, by: fe5}``.
    """

    at: NonNegTime
    step: Step

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        if isinstance(value, dict) and "step" not in value:
            rest = {k: v for k, v in value.items() if k != "at"}
            return {"at": value.get("at"), "step": rest} if "at" in value else {"step": rest}
        return value


class Initial(_Strict):
    """Hatch and valve states at t = 0 that differ from the station file."""

    hatches: dict[Id, Literal["open", "closed"]] = Field(default_factory=dict)
    valves: dict[Id, Literal["open", "closed"]] = Field(default_factory=dict)


class Physiology(_Strict):
    """Crew metabolism and the threshold-and-time hazard model (sources in docs/crew.md).

    A person becomes impaired after ``impaired_after`` of continuous exposure to ppO2 below
    ``ppO2_impaired``, and incapacitated after ``incapacitated_after`` below ``ppO2_incapacitated``
    or after ``vacuum_after`` below the total pressure ``p_incapacitated``.
    """

    o2_consumption: MassFlow = Field(0.84 / 86400, description="O2 per person [kg/s] (0.84 kg/day, NASA baseline)")
    co2_production: MassFlow = Field(1.0 / 86400, description="CO2 per person [kg/s] (1.0 kg/day, NASA baseline)")
    ppO2_impaired: Pressure = Field(12_000.0, description="ppO2 below which impairment begins [Pa] (~15,000 ft)")
    impaired_after: NonNegTime = Field(60.0, description="exposure before impairment [s]")
    ppO2_incapacitated: Pressure = Field(8_000.0, description="ppO2 below which incapacitation follows [Pa] (~25,000 ft)")
    incapacitated_after: NonNegTime = Field(180.0, description="time of useful consciousness at that ppO2 [s]")
    p_incapacitated: Pressure = Field(6_300.0, description="total pressure below which incapacitation follows [Pa] (Armstrong limit)")
    vacuum_after: NonNegTime = Field(15.0, description="time of useful consciousness below that pressure [s]")
    impaired_speed: float = Field(0.5, gt=0, le=1, description="movement speed factor when impaired")


class Gauge(_Strict):
    """How crew read pressure gauges in ``measure`` steps."""

    resolution: Pressure = Field(13.3322, description="smallest step of a reading [Pa] (0.1 mmHg)")
    noise: Pressure = Field(0.0, description="standard deviation of a reading's error [Pa]")


class TemperatureSine(_Strict):
    """A periodic cabin temperature: ``T(t) = T0 + amplitude * cos(2 pi (t - phase) / period)``.

    ``T0`` is the compartment's temperature in the station file; ``phase`` is the time of the maximum.
    """

    amplitude: quantity("temperature", "nonneg", upper=100.0) = Field(description="half the peak-to-peak swing [K]")
    period: Time = Field(86_400.0, description="period [s] (default a day)")
    phase: NonNegTime = Field(0.0, description="time of the maximum [s]")


class TemperatureTable(_Strict):
    """A cabin temperature given as ``[time, temperature]`` points, linear between them, held beyond the ends."""

    table: Annotated[list[tuple[NonNegTime, quantity("temperature", upper=1000.0)]], Field(min_length=1, max_length=100_000)]

    @model_validator(mode="after")
    def _increasing(self):
        times = [t for t, _ in self.table]
        for k in range(1, len(times)):
            if not times[k] > times[k - 1]:
                raise ValueError(f"table times must increase; point {k} ({times[k]:g} s) is not after point {k - 1}")
        return self


class CabinTemperature(_Strict):
    """Cabin temperature disturbances: per compartment (or ``station`` for every compartment not named).

    The gas temperature follows them in steps of ``every`` (each value held over its step, taken at the
    step's middle); at fixed gas mass the pressure follows the temperature (p proportional to T).
    """

    every: Time = Field(300.0, description="how often the temperature is updated [s]")
    of: dict[Id, TemperatureSine | TemperatureTable] = Field(
        min_length=1, description="compartment id (or 'station') -> a daily sine or a table")


class Scenario(_Strict):
    """A whole scenario file."""

    name: str
    description: str | None = None
    station: str | Station = Field(description="path of a station file relative to this file, or a station")
    duration: Time
    seed: int = Field(0, ge=0, lt=2**63)
    output: Output = Field(default_factory=Output)
    solver: SolverSettings = Field(default_factory=SolverSettings)
    initial: Initial = Field(default_factory=Initial)
    crew: list[CrewMember] = Field(default_factory=list)
    physiology: Physiology = Field(default_factory=Physiology)
    gauge: Gauge = Field(default_factory=Gauge)
    leaks: list[Leak] = Field(default_factory=list)
    cabin_temperature: CabinTemperature | None = Field(None, description="temperature disturbances (p ∝ T at fixed mass)")
    run: list[RunEntry] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(
        default_factory=list, description="as-flown actions: who did what when, beside or instead of procedures"
    )
    checks: list[Check] = Field(default_factory=list)
