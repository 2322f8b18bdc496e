"""Schema of a hunt file: a station, what is believed of the leak, the gauges and the constraints.

``safehaven hunt HUNT`` plans a hatch-closure search from it (docs/leak-hunt.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sim.scenario.fields import Id, MassFlow, NonNegTime, Pressure

__all__ = ["Hunt", "HuntCrew", "HuntGauge", "HuntLeak"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HuntLeak(_Strict):
    """The leak being hunted: its rate and where it may be."""

    rate: MassFlow = Field(description="the rate to plan for, at the station's pressure [kg/s]")
    candidates: list[Id] | None = Field(None, min_length=1, description="compartments it may be in; default all")
    prior: dict[Id, float] | None = Field(None, description="relative prior weights; default equal")
    estimate: str | None = Field(None, description="an estimate.json whose site probabilities are the prior")


class HuntGauge(_Strict):
    """The gauge read in each isolated part (one per part is assumed)."""

    resolution: Pressure = Field(13.3322, description="step of the readings [Pa] (0.1 mmHg)")
    noise: Pressure = Field(0.0, description="standard deviation of a reading's error [Pa]")


class HuntCrew(_Strict):
    """Where the crew wait, and how many they are (one of them, the searcher, works the hatches)."""

    at: Id = Field(description="the compartment the crew stay in (a habitable segment); the searcher starts there")
    count: int = Field(3, ge=1, le=20, description="crew on board, all held by the hunt (for crew hours)")


class Hunt(_Strict):
    """A whole hunt file."""

    name: str
    description: str | None = None
    station: str = Field(description="path of the station file, relative to this file")
    leak: HuntLeak
    gauge: HuntGauge = Field(default_factory=HuntGauge)
    crew: HuntCrew
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="chance that the planned window shows the leak")
    min_treserve: NonNegTime = Field(0.0, description="a step must leave the crew's part at least this reserve [s]")
    strategy: Literal["auto", "split", "bisect", "all"] = Field(
        "auto", description="the plan written: auto = the least expected time among those meeting the constraints")
