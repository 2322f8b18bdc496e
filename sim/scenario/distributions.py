"""Durations that may be random: a fixed time or a named distribution, all in [s]."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from sim.scenario.fields import NonNegTime, Time

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Duration", "Fixed", "LogNormal", "Normal", "Triangular", "Uniform", "sample_duration"]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Dist):
    """Always *value* [s]."""

    dist: Literal["fixed"] = "fixed"
    value: NonNegTime


class Uniform(_Dist):
    """Uniform between *low* and *high* [s]."""

    dist: Literal["uniform"]
    low: NonNegTime
    high: NonNegTime

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError("uniform: expected low <= high")
        return self


class Triangular(_Dist):
    """Triangular with *low* <= *mode* <= *high* [s]."""

    dist: Literal["triangular"]
    low: NonNegTime
    mode: NonNegTime
    high: NonNegTime

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.mode <= self.high:
            raise ValueError("triangular: expected low <= mode <= high")
        return self


class Normal(_Dist):
    """Normal with *mean* and standard deviation *sd* [s], truncated at 0."""

    dist: Literal["normal"]
    mean: NonNegTime
    sd: NonNegTime


class LogNormal(_Dist):
    """Log-normal with *median* [s] and *sigma*, the standard deviation of the log [-]."""

    dist: Literal["lognormal"]
    median: Time
    sigma: float = Field(ge=0, le=5)


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal | Fixed, Field(discriminator="dist")]
Duration = Annotated[
    Annotated[NonNegTime, Tag("duration:time")] | Annotated[Distribution, Tag("duration:dist")],
    Discriminator(lambda v: "duration:dist" if isinstance(v, dict | _Dist) else "duration:time"),
]
"""A field that is a fixed time or a distribution of times."""


def sample_duration(spec: float | _Dist, rng: np.random.Generator) -> float:
    """Draw one duration [s] from *spec* with *rng* (a fixed value draws nothing)."""
    if isinstance(spec, int | float):
        return float(spec)
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, Uniform):
        return float(rng.uniform(spec.low, spec.high))
    if isinstance(spec, Triangular):
        if spec.low == spec.high:
            return spec.low
        return float(rng.triangular(spec.low, spec.mode, spec.high))
    if isinstance(spec, Normal):
        return max(0.0, float(rng.normal(spec.mean, spec.sd)))
    if isinstance(spec, LogNormal):
        return float(spec.median * math.exp(spec.sigma * rng.standard_normal()))
    raise TypeError(f"not a duration: {spec!r}")
