"""Schema of a procedure file: named phases of steps, run in order unless a branch says otherwise.

Step kinds are data (one pydantic model each); :mod:`sim.procedures.steps` has one handler per
kind. A step is a mapping whose ``do`` names its kind, or one of the control forms ``if``,
``goto`` and ``parallel``. Crew are referred to by role (``by: repair``, ``who: shelter``), by
crew id, or ``all``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from annotated_types import MinLen
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import Duration
from sim.scenario.fields import MAX_SCALE, GasFlow, Id, NonNegTime, Pressure

__all__ = ["STEP_KINDS", "Phase", "PhaseSpec", "Procedure", "Step", "phase_steps", "step_kind"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Step(_Strict):
    label: str | None = Field(None, description="a name for the step in the timeline")
    deadline: NonNegTime | None = Field(None, description="time allowed for the step [s]")
    on_expiry: Id | None = Field(None, description="phase to go to when the deadline passes")


class Move(_Step):
    """Move crew to a compartment; ``to: post`` is where each started, ``to: vehicle`` their vehicle."""

    do: Literal["move"]
    who: Id
    to: Id
    if_trapped: Literal["wait", "give_up"] = Field(
        "wait", description="when no open path exists: wait until a hatch opens, or give up"
    )


class _HatchStep(_Step):
    hatch: Id
    by: Id
    side: Id | None = Field(None, description="the compartment to stand in; default the nearer side")


class CloseHatch(_HatchStep):
    """Close a hatch (takes its close_time, a crew member beside it)."""

    do: Literal["close_hatch"]


class OpenHatch(_HatchStep):
    """Open a hatch; waits while the pressure difference exceeds the hatch's max_open_dp."""

    do: Literal["open_hatch"]


class OpenValve(_HatchStep):
    """Open a hatch's equalization valve."""

    do: Literal["open_valve"]


class CloseValve(_HatchStep):
    """Close a hatch's equalization valve."""

    do: Literal["close_valve"]


class Shelter(_Step):
    """Enter a vehicle and close its hatch behind the last one in."""

    do: Literal["shelter"]
    who: Id
    in_: Id | None = Field(None, alias="in", description="the vehicle; default each member's assigned vehicle")
    close: bool = True


_FACTOR = re.compile(r"^\s*x\s*([0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)\s*$")


class RepairEffect(_Strict):
    """What a successful repair does: ``area: x0.1`` scales the hole, ``seal: true`` closes it."""

    area: float | None = Field(None, ge=0, le=MAX_SCALE, description="multiplier of the leak's area, written x0.1")
    seal: bool = False

    @field_validator("area", mode="before")
    @classmethod
    def _factor(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = _FACTOR.match(value)
            if not m:
                raise ValueError(f"expected a multiplier such as 'x0.1', got {value!r}")
            return float(m.group(1))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a multiplier such as 'x0.1', got {value!r}")
        return value

    @model_validator(mode="after")
    def _one(self):
        if (self.area is None) == (not self.seal):
            raise ValueError("an effect is either 'area: xF' or 'seal: true'")
        if self.area is not None and not 0 <= self.area <= 1:
            raise ValueError(f"area multiplier must be between x0 and x1, got x{self.area:g}")
        return self


class Repair(_Step):
    """Go to the leak and work on it for a (random) duration; succeed with a probability."""

    do: Literal["repair"]
    leak: Id
    by: Id
    duration: Duration
    success: float = Field(1.0, ge=0, le=1, description="probability that the repair works")
    effect: RepairEffect = Field(default_factory=lambda: RepairEffect(seal=True))
    at: Id | None = Field(None, description="where the work is done; default the leak's compartment")


class Measure(_Step):
    """Read a gauge over a window: dP/dt, Treserve, pressure or a partial pressure."""

    do: Literal["measure"]
    of: Id = Field(description="a compartment, or 'station' (the lowest reserve of all)")
    what: Literal["dpdt", "treserve", "pressure", "ppO2", "ppCO2"] = "dpdt"
    window: NonNegTime = Field(60.0, description="how long the reading takes [s]")
    as_: Id = Field(alias="as", description="the variable that receives the reading")
    by: Id | None = None
    resolution: Pressure | None = Field(None, description="gauge resolution [Pa]; default the scenario's")
    noise: Pressure | None = Field(None, description="gauge noise, one standard deviation [Pa]")


class Wait(_Step):
    """Wait for a time, or until a condition holds (checked at every alarm poll)."""

    do: Literal["wait"]
    for_: NonNegTime | None = Field(None, alias="for")
    until: str | None = None
    timeout: NonNegTime | None = Field(None, description="give up on 'until' after this [s]")

    @model_validator(mode="after")
    def _one(self):
        if (self.for_ is None) == (self.until is None):
            raise ValueError("wait needs exactly one of 'for' (a time) or 'until' (a condition)")
        return self


class Repress(_Step):
    """Feed gas from a supply into a compartment until a pressure is reached or for a time."""

    do: Literal["repress"]
    supply: Id
    into: Id
    by: Id
    rate: GasFlow | None = Field(None, description="gas flow [kg/s]; default the supply's max_rate")
    until: Pressure | None = Field(None, description="stop when the compartment reaches this [Pa]")
    for_: NonNegTime | None = Field(None, alias="for")

    @model_validator(mode="after")
    def _stop(self):
        if self.until is None and self.for_ is None:
            raise ValueError("repress needs 'until' (a pressure) or 'for' (a time)")
        return self


class Undock(_Step):
    """A vehicle closes its hatch and leaves with whoever is aboard."""

    do: Literal["undock"]
    vehicle: Id
    by: Id | None = None


class Evacuate(_Step):
    """Crew go to their assigned vehicles, close them and undock."""

    do: Literal["evacuate"]
    who: Id = "all"


class End(_Step):
    """End the procedure."""

    do: Literal["end"]


class If(_Step):
    """Branch on a condition: go to phase ``then`` or ``else`` (or carry on when ``else`` is absent)."""

    if_: str = Field(alias="if")
    then: Id
    else_: Id | None = Field(None, alias="else")


class Goto(_Step):
    """Go to a phase."""

    goto: Id


class Parallel(_Step):
    """Branches of steps run at once (e.g. several roles); the step ends when all have."""

    parallel: dict[Id, Annotated[list[Step], MinLen(1)]] = Field(min_length=1)


STEP_KINDS = (
    "move", "close_hatch", "open_hatch", "open_valve", "close_valve", "shelter", "repair", "measure",
    "wait", "repress", "undock", "evacuate", "end", "if", "goto", "parallel",
)


def step_kind(value: Any) -> str | None:
    """The kind of a step mapping or model: its ``do``, or ``if``/``goto``/``parallel``."""
    if isinstance(value, dict):
        if "do" in value:
            return value["do"] if isinstance(value["do"], str) else None
        for form in ("if", "goto", "parallel"):
            if form in value:
                return form
        return None
    return getattr(value, "do", None) or (
        "if" if isinstance(value, If) else "goto" if isinstance(value, Goto) else
        "parallel" if isinstance(value, Parallel) else None
    )


Step = Annotated[
    Annotated[Move, Tag("step:move")]
    | Annotated[CloseHatch, Tag("step:close_hatch")]
    | Annotated[OpenHatch, Tag("step:open_hatch")]
    | Annotated[OpenValve, Tag("step:open_valve")]
    | Annotated[CloseValve, Tag("step:close_valve")]
    | Annotated[Shelter, Tag("step:shelter")]
    | Annotated[Repair, Tag("step:repair")]
    | Annotated[Measure, Tag("step:measure")]
    | Annotated[Wait, Tag("step:wait")]
    | Annotated[Repress, Tag("step:repress")]
    | Annotated[Undock, Tag("step:undock")]
    | Annotated[Evacuate, Tag("step:evacuate")]
    | Annotated[End, Tag("step:end")]
    | Annotated[If, Tag("step:if")]
    | Annotated[Goto, Tag("step:goto")]
    | Annotated[Parallel, Tag("step:parallel")],
    # Tags carry a prefix so that pydantic's error locations never collide with real keys ("if").
    Discriminator(lambda v: f"step:{step_kind(v)}", custom_error_type="step_kind",
                  custom_error_message="unknown step kind"),
]
Parallel.model_rebuild()


class PhaseSpec(_Strict):
    """A phase written as a mapping: its steps, and a deadline with a phase to go to on expiry."""

    steps: list[Step] = Field(min_length=1)
    deadline: NonNegTime | None = None
    on_expiry: Id | None = None


Phase = Annotated[
    Annotated[Annotated[list[Step], MinLen(1)], Tag("phase:list")] | Annotated[PhaseSpec, Tag("phase:mapping")],
    Discriminator(lambda v: "phase:list" if isinstance(v, list) else "phase:mapping"),
]
"""A phase: a list of steps, or a :class:`PhaseSpec` mapping."""


def phase_steps(phase: list | PhaseSpec) -> list:
    """The steps of a phase in either form."""
    return phase if isinstance(phase, list) else phase.steps


class Procedure(_Strict):
    """A whole procedure file."""

    name: str
    description: str | None = None
    roles: list[Id] = Field(default_factory=list, description="roles the procedure refers to")
    phases: dict[Id, Phase] = Field(min_length=1)
    deadline: NonNegTime | None = Field(None, description="time allowed for the whole procedure [s]")
    on_expiry: Id | None = None
