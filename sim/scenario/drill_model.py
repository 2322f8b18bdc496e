"""Schema of a drill file: a scenario, faults injected into it, the expected responses, scoring.

A drill names its scenario (a path relative to the drill file, or an inline mapping) and adds

- ``injects``: faults fired ``at:`` a time, ``when:`` a condition of the procedure condition
  language becomes true, or ``manual: true`` (fired by name by the trainer in live play);
- ``expect``: expected responses, each with a deadline relative to an event of the run
  (``within: 5 min, of: alarm rapid_depress``) and a weight;
- ``scoring``: the pass mark of the weighted score (0-100).

Names used across the file (hatches, leaks, crew, the events that deadlines refer to) are checked
in :mod:`sim.scenario.drill_load`; this module only describes shapes. All values are SI inside.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.fields import (
    MAX_SCALE,
    MAX_WEIGHT,
    HoleArea,
    HoleDiameter,
    Id,
    LeakRate,
    NonNegTime,
    quantity,
)
from sim.scenario.scenario_model import Check
from sim.scenario.station_model import DEFAULT_CD

__all__ = ["EVENT_KINDS", "EXPECT_KINDS", "FAULT_KINDS", "Drill", "Expectation", "Inject", "Scoring"]

SignedPressure = quantity("pressure", "any")
"""A pressure that may be negative (a gauge bias) [Pa]."""

ALARMS = ("rapid_depress", "ppCO2_high", "ppO2_low")
"""Alarm names of the caution-and-warning system (a false alarm sounds one of them)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- injects ------------------------------------------------------------------------------------
class _Inject(_Strict):
    name: Id = Field(description="the inject's name: how the trainer fires it and deadlines refer to it")
    at: NonNegTime | None = Field(None, description="fire at this time [s]")
    when: str | None = Field(None, description="fire when this condition first holds (procedure condition language)")
    manual: bool = Field(False, description="fired by the trainer in live play only ('inject NAME')")
    note: str | None = Field(None, description="what the trainer should know about it")

    @model_validator(mode="after")
    def _one_trigger(self):
        given = [k for k in ("at", "when") if getattr(self, k) is not None] + (["manual"] if self.manual else [])
        if len(given) != 1:
            raise ValueError("an inject needs exactly one of 'at' (a time), 'when' (a condition) or 'manual: true'")
        return self


class NewLeak(_Inject):
    """A new hole opens in a compartment (given by exactly one of rate, area or diameter)."""

    fault: Literal["new_leak"]
    leak: Id = Field(description="id of the new leak (not one of the scenario's)")
    in_: Id = Field(alias="in", description="the compartment holed")
    rate: LeakRate | None = Field(None, description="leak rate at the compartment's start pressure [kg/s]")
    area: HoleArea | None = Field(None, description="hole area [m^2]")
    diameter: HoleDiameter | None = Field(None, description="hole diameter [m]")
    cd: float = Field(DEFAULT_CD, gt=0, le=1, description="discharge coefficient (area/diameter only)")

    @model_validator(mode="after")
    def _one_size(self):
        given = [k for k in ("rate", "area", "diameter") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a new leak needs exactly one of rate, area or diameter, got {len(given)}")
        return self


class LeakChange(_Inject):
    """A leak grows (scale > 1) or shrinks (scale < 1): its effective area is multiplied."""

    fault: Literal["leak_change"]
    leak: Id
    scale: float = Field(ge=0, le=MAX_SCALE, description="multiplier of the leak's area [-]")


class HatchJams(_Inject):
    """A hatch jams: it will neither close nor open from now on."""

    fault: Literal["hatch_jams"]
    hatch: Id


class ValveStuck(_Inject):
    """A hatch's equalization valve fails: it stays as it is."""

    fault: Literal["valve_stuck"]
    hatch: Id


class GaugeFails(_Inject):
    """A compartment's gauge (or ``station``: every gauge) fails or reads wrong.

    A wrong gauge reads ``true * scale + bias``; ``readings`` limits the fault to that many readings.
    """

    fault: Literal["gauge"]
    of: Id = Field(description="a compartment, or 'station' for every gauge")
    failed: bool = Field(False, description="no reading at all")
    bias: SignedPressure | None = Field(None, description="added to every reading [Pa]; may be negative, '-5 mmHg'")
    scale: float = Field(1.0, gt=0, le=MAX_SCALE, description="multiplier of every reading [-]")
    readings: int | None = Field(None, ge=1, description="the fault clears after this many readings")

    @model_validator(mode="after")
    def _something_wrong(self):
        if not self.failed and self.bias is None and self.scale == 1.0:
            raise ValueError("a gauge fault needs 'failed: true', a 'bias' or a 'scale'")
        return self


class FalseAlarm(_Inject):
    """An alarm sounds that the atmosphere did not cause."""

    fault: Literal["false_alarm"]
    alarm: Literal["rapid_depress", "ppCO2_high", "ppO2_low"]
    where: list[Id] = Field(default_factory=list, description="compartments the alarm names")


class CrewDelayed(_Inject):
    """A crew member starts their next task late."""

    fault: Literal["crew_delayed"]
    crew: Id
    delay: NonNegTime = Field(description="extra time before their next task [s]")


class CrewIncapacitated(_Inject):
    """A crew member is incapacitated (stops whatever they were doing)."""

    fault: Literal["crew_incapacitated"]
    crew: Id


class VehicleUnavailable(_Inject):
    """A vehicle can no longer be sheltered in or undocked."""

    fault: Literal["vehicle_unavailable"]
    vehicle: Id


class SupplyLost(_Inject):
    """A gas supply is lost: any flow from it stops and it gives nothing more."""

    fault: Literal["supply_lost"]
    supply: Id


Inject = Annotated[
    NewLeak | LeakChange | HatchJams | ValveStuck | GaugeFails | FalseAlarm | CrewDelayed | CrewIncapacitated
    | VehicleUnavailable | SupplyLost,
    Field(discriminator="fault"),
]
FAULT_KINDS = ("new_leak", "leak_change", "hatch_jams", "valve_stuck", "gauge", "false_alarm", "crew_delayed",
               "crew_incapacitated", "vehicle_unavailable", "supply_lost")


# -- expectations --------------------------------------------------------------------------------
EVENT_KINDS = ("start", "alarm", "inject", "hatch_closed", "hatch_opened", "leak_start", "leak_detected")
"""What a deadline may be relative to: ``start``, ``alarm [NAME]``, ``inject NAME``,
``hatch_closed [HATCH]``, ``hatch_opened [HATCH]``, ``leak_start [LEAK]``, ``leak_detected [LEAK]``
(the first such event)."""


class _Expect(_Strict):
    name: str | None = Field(None, description="how the scorecard names it")
    weight: float = Field(1.0, ge=0, le=MAX_WEIGHT, description="its share of the score")


class _Deadline(_Expect):
    within: NonNegTime = Field(description="time allowed after the reference event [s]")
    of: str = Field("start", description="the reference event: start, alarm [NAME], inject NAME, hatch_closed [HATCH], …")


class HatchesClosed(_Deadline):
    """Hatches all closed (at one moment) within the deadline; ``segments`` means every hatch between segments."""

    expect: Literal["hatches_closed"]
    hatches: list[Id] | Literal["segments"] = Field(min_length=1)


class CrewAtVehicles(_Deadline):
    """Crew all at their assigned vehicles (at one moment) within the deadline."""

    expect: Literal["crew_at_vehicles"]
    who: Id = Field("all", description="a role, a crew id or all")


class TreserveMeasured(_Expect):
    """Treserve (or dP/dt, which gives it) measured before an event, or within a deadline of one."""

    expect: Literal["treserve_measured"]
    before: str | None = Field(None, description="the event it must come before, e.g. hatch_closed")
    within: NonNegTime | None = None
    of: str = "start"

    @model_validator(mode="after")
    def _one(self):
        if (self.before is None) == (self.within is None):
            raise ValueError("treserve_measured needs exactly one of 'before' (an event) or 'within' (a time)")
        return self


class LeakIsolated(_Deadline):
    """A leak's zone closed off with nobody in it within the deadline."""

    expect: Literal["leak_isolated"]
    leak: Id


class CrewSeparatedFromLeak(_Deadline):
    """Crew (a role, a crew id or all) all where a leak cannot reach them through open hatches, by
    whichever hatches: any correct isolation counts (the Dragon hatch, or PMA2's when it jams).

    Met at the first instant at or after the reference event from which they stay out of the
    leak's reach until it is repaired (or the drill ends); crew who left the station do not count."""

    expect: Literal["crew_separated_from_leak"]
    who: Id = Field("all", description="a role, a crew id or all")
    leak: Id


class NobodyIncapacitated(_Expect):
    """Nobody incapacitated during the drill."""

    expect: Literal["nobody_incapacitated"]


class NobodyImpaired(_Expect):
    """Nobody impaired (or worse) during the drill."""

    expect: Literal["nobody_impaired"]


class ScenarioCheck(_Expect):
    """A check of the scenario kind (min_pressure, outcome, leak_repaired …), times from the start."""

    expect: Literal["check"]
    check: Check


Expectation = Annotated[
    HatchesClosed | CrewAtVehicles | TreserveMeasured | LeakIsolated | CrewSeparatedFromLeak | NobodyIncapacitated
    | NobodyImpaired | ScenarioCheck,
    Field(discriminator="expect"),
]
EXPECT_KINDS = ("hatches_closed", "crew_at_vehicles", "treserve_measured", "leak_isolated",
                "crew_separated_from_leak", "nobody_incapacitated", "nobody_impaired", "check")


class Scoring(_Strict):
    """How the weighted score (0-100) is judged."""

    pass_mark: float = Field(80.0, ge=0, le=100, description="lowest passing score [%]")


class Drill(_Strict):
    """A whole drill file."""

    name: str
    description: str | None = None
    scenario: str | dict[str, Any] = Field(description="path of a scenario file relative to this file, or a scenario")
    set: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="scenario fields changed for the drill, as 'safehaven run --set'")
    seed: int | None = Field(None, ge=0, lt=2**63, description="replaces the scenario's seed")
    procedures: dict[Id, str] = Field(
        default_factory=dict, description="procedures the trainee may start in live play: name -> path")
    injects: list[Inject] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)
    scoring: Scoring = Field(default_factory=Scoring)
