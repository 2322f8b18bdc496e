"""Schema of a station file: compartments, docked vehicles, hatches, gas supplies, limits, alarms.

Every physical field is a quantity (see :mod:`sim.scenario.fields`) stored in SI. Defaults that are
estimates rather than published values are marked as such in ``docs/station-format.md``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.fields import (
    Area,
    GasFlow,
    Id,
    NonNegArea,
    NonNegMass,
    NonNegTime,
    Pressure,
    PressureRate,
    Temperature,
    Time,
    Volume,
    VolumeFlow,
    quantity,
)

__all__ = [
    "DEFAULT_CD",
    "Alarms",
    "Atmosphere",
    "Compartment",
    "GasSupply",
    "Gauge",
    "Hatch",
    "LifeSupport",
    "Limits",
    "PartialAtmosphere",
    "Station",
    "Vehicle",
]

DEFAULT_CD = 0.6
"""Discharge coefficient of a sharp-edged orifice, used for hatches, valves and holes unless given."""

NonNegMassFlowPerDay = quantity("mass flow", "nonneg")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Atmosphere(_Strict):
    """Partial pressures of the cabin gases [Pa]."""

    N2: Pressure = Field(description="partial pressure of nitrogen [Pa]")
    O2: Pressure = Field(description="partial pressure of oxygen [Pa]")
    CO2: Pressure = Field(0.0, description="partial pressure of carbon dioxide [Pa]")


class PartialAtmosphere(_Strict):
    """A per-compartment override; a species left out takes the station's default."""

    N2: Pressure | None = None
    O2: Pressure | None = None
    CO2: Pressure | None = None


class LifeSupport(_Strict):
    """A compartment's own life support, e.g. a docked vehicle's.

    ``co2_scrub`` is the air flow through a CO2 scrubber that removes all the CO2 it receives
    [m^3/s]; ``o2_supply`` a constant oxygen make-up rate [kg/s].
    """

    co2_scrub: VolumeFlow = 0.0
    o2_supply: NonNegMassFlowPerDay = 0.0


class Compartment(_Strict):
    """A pressurized module or tunnel."""

    volume: Volume = Field(description="free gas volume [m^3]")
    segment: str | None = Field(None, description="segment name (e.g. RS, USOS), used for grouping")
    traverse: NonNegTime = Field(30.0, description="time for a crew member to cross it [s]")
    temperature: Temperature | None = Field(None, description="gas temperature [K]; default the station's")
    atmosphere: PartialAtmosphere | None = None
    life_support: LifeSupport | None = None


class Vehicle(Compartment):
    """A docked vehicle: a compartment with seats that can shelter crew and undock."""

    docked_to: Id = Field(description="the compartment it is docked to (a hatch must join them)")
    seats: int = Field(ge=0, le=100, description="crew it can carry away")
    shelter: bool = Field(True, description="whether crew may shelter in it")
    traverse: NonNegTime = 15.0


class Hatch(_Strict):
    """A hatch between two compartments, with an optional pressure-equalization valve."""

    between: Annotated[list[Id], Field(min_length=2, max_length=2)]
    area: Area = Field(0.5, description="open area [m^2] (Russian/PMA hatches ~0.5, CBM ~1.3)")
    cd: float = Field(DEFAULT_CD, gt=0, le=1, description="discharge coefficient of the open hatch")
    open: bool = Field(True, description="initial state")
    valve: Area | None = Field(None, description="equalization valve open area [m^2]; none if absent")
    valve_cd: float = Field(DEFAULT_CD, gt=0, le=1)
    valve_open: bool = Field(False, description="initial valve state")
    close_time: NonNegTime = Field(60.0, description="time to close it, a crew member beside it [s] (estimate)")
    open_time: NonNegTime = Field(60.0, description="time to open it [s] (estimate)")
    pass_time: NonNegTime = Field(10.0, description="time for one person to pass through [s] (estimate)")
    valve_time: NonNegTime = Field(10.0, description="time to open or close the valve [s] (estimate)")
    capacity: int = Field(1, ge=1, le=10, description="people passing through at once")
    max_open_dp: Pressure = Field(
        500.0, description="largest pressure difference against which it can be opened [Pa] (estimate)"
    )
    seal: NonNegArea | None = Field(
        None, description="effective area Cd*A of the leak path across the closed hatch's seal [m^2]; none = tight")
    seal_rate: NonNegMassFlowPerDay | None = Field(
        None, description="the seal's flow with the station's atmosphere on one side and vacuum on the other "
                          "[kg/s]; an alternative to seal")

    @model_validator(mode="after")
    def _one_seal(self):
        if self.seal is not None and self.seal_rate is not None:
            raise ValueError("give a hatch's seal leakage as 'seal' (an area) or 'seal_rate' (a flow), not both")
        return self


GAUGE_QUANTITIES = ("total", "N2", "O2", "CO2")
"""What a gauge reads: total pressure, or one partial pressure (an analyser)."""


class Gauge(_Strict):
    """A pressure instrument: a total-pressure gauge or a partial-pressure analyser in one compartment."""

    at: Id = Field(description="the compartment or vehicle it reads")
    reads: Literal["total", "N2", "O2", "CO2"] = Field("total", description="total pressure or one partial pressure")
    resolution: Pressure = Field(0.0, description="step of the readings [Pa]; 0 = not quantized (0.1 mmHg on the ISS feed)")
    noise: Pressure = Field(0.0, description="standard deviation of the sensor's error before quantization [Pa]")
    every: Time = Field(60.0, description="sampling interval [s]; a multiple of the scenario's output.every")
    report_on_change: bool = Field(True, description="a reading is recorded only when it differs from the last one")


class GasSupply(_Strict):
    """A finite make-up gas reserve (e.g. Progress tanks), drawn by ``repress`` steps."""

    N2: NonNegMass = 0.0
    O2: NonNegMass = 0.0
    into: Annotated[list[Id], Field(min_length=1)]
    max_rate: GasFlow = Field(description="largest total flow [kg/s]")


class Limits(_Strict):
    """Thresholds used for reserve time, hazards and checks."""

    reserve_floor: Pressure = Field(65_327.8, description="Treserve floor [Pa] (490 mmHg, keep configurable)")
    ppO2_min: Pressure = Field(16_000.0, description="lowest acceptable ppO2 [Pa]")
    ppCO2_max: Pressure = Field(1_000.0, description="highest acceptable ppCO2 [Pa]")
    unsaveable_reserve: NonNegTime = Field(300.0, description="a reserve this short is unsaveable [s] (RP-1357)")


class Alarms(_Strict):
    """Caution and warning thresholds; an alarm fires when a compartment crosses one."""

    rapid_depress: PressureRate = Field(
        -0.5 * 133.322 / 60, description="dP/dt below which the depress alarm sounds [Pa/s] (-0.5 mmHg/min, estimate)"
    )
    ppCO2_high: Pressure = Field(1_000.0, description="high ppCO2 alarm [Pa]")
    ppO2_low: Pressure = Field(16_500.0, description="low ppO2 alarm [Pa]")
    poll: Time = Field(10.0, description="how often the alarm system samples [s]")
    dpdt_window: Time = Field(60.0, description="window over which dP/dt is computed [s]")


class Station(_Strict):
    """A whole station file."""

    name: str
    description: str | None = None
    temperature: Temperature = Field(295.0, description="default gas temperature [K]")
    atmosphere: Atmosphere = Field(default_factory=lambda: Atmosphere(N2=79_600.0, O2=21_300.0, CO2=400.0))
    compartments: dict[Id, Compartment] = Field(min_length=1)
    vehicles: dict[Id, Vehicle] = Field(default_factory=dict)
    hatches: dict[Id, Hatch] = Field(default_factory=dict)
    gauges: dict[Id, Gauge] = Field(default_factory=dict, description="pressure gauges and analysers")
    gas_supply: dict[Id, GasSupply] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    alarms: Alarms = Field(default_factory=Alarms)
