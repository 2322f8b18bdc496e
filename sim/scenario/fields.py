"""Field types shared by the file schemas: quantities with units, ids and multipliers.

A quantity field accepts a bare SI number or a string with a unit and stores a float in SI; its
JSON Schema says both forms are allowed, so editors complete and check them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from sim.units import KINDS, UnitError, to_si

__all__ = [
    "ID_PATTERN",
    "Area",
    "Dimensionless",
    "Id",
    "Length",
    "Mass",
    "MassFlow",
    "NonNegArea",
    "NonNegMass",
    "NonNegMassFlow",
    "NonNegTime",
    "Pressure",
    "PressureRate",
    "QuantityKind",
    "Temperature",
    "Time",
    "Volume",
    "VolumeFlow",
    "quantity",
]

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
_ID = re.compile(ID_PATTERN)


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):  # match() would let "lab\n" through: $ matches before a final newline
        raise ValueError(
            f"invalid id {value!r}: expected a letter then letters, digits, '-' or '_' (at most 64 characters)"
        )
    return value


Id = Annotated[str, AfterValidator(_check_id), Field(json_schema_extra={"pattern": ID_PATTERN})]
"""An identifier of a compartment, hatch, leak, crew member, role, phase or supply."""

_SIGN = {"any": "", "positive": "positive", "nonneg": "non-negative"}


@dataclass(frozen=True)
class QuantityKind:
    """Marks a quantity field's annotation with its physical kind (read by :mod:`sim.scenario.paths`)."""

    kind: str


def quantity(kind: str, sign: str = "positive", upper: float | None = None):
    """An annotated float field of physical *kind*, read from a number [SI] or a string with a unit.

    Parameters
    ----------
    kind : str
        A key of :data:`sim.units.KINDS`.
    sign : {"positive", "nonneg", "any"}
        The allowed sign of the SI value.
    upper : float, optional
        The largest SI value accepted (a physical bound, stated in the message).
    """
    unit = KINDS[kind].si_unit or "1"

    def parse(value: object) -> float:
        try:
            x = to_si(value, kind)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        if sign == "positive" and not x > 0:
            raise ValueError(f"expected a positive {kind}, got {value!r}")
        if sign == "nonneg" and not x >= 0:
            raise ValueError(f"expected a non-negative {kind}, got {value!r}")
        if upper is not None and x > upper:
            raise ValueError(f"expected a {kind} of at most {upper:g} {unit}, got {value!r}")
        return x

    schema = {
        "anyOf": [
            {"type": "number"},
            {"type": "string", "pattern": r"^\s*[-+]?[0-9.]+([eE][-+]?[0-9]+)?\s*\S.*$"},
        ],
        "description": f"{_SIGN[sign]} {kind}: a number in SI ({unit}) or a string with a unit".strip(),
    }
    return Annotated[float, BeforeValidator(parse), WithJsonSchema(schema), QuantityKind(kind)]


Pressure = quantity("pressure", "nonneg")
Volume = quantity("volume")
Area = quantity("area")
NonNegArea = quantity("area", "nonneg")
Length = quantity("length")
Time = quantity("time")
NonNegTime = quantity("time", "nonneg")
TEMPERATURE_MAX = 1000.0
"""Highest gas temperature accepted [K]: far above any cabin, and it keeps gas masses representable."""
Temperature = quantity("temperature", upper=TEMPERATURE_MAX)
Mass = quantity("mass")
NonNegMass = quantity("mass", "nonneg")
MassFlow = quantity("mass flow")
NonNegMassFlow = quantity("mass flow", "nonneg")

# Bounds that keep every product of accepted values representable for a whole run (a leak's area
# times every scale applied to it, a supply's flow times a day, a weight times the number of
# expectations): the largest physical case is orders of magnitude below each.
MAX_LEAK_RATE = 1e6
"""Largest leak rate [kg/s]."""
MAX_HOLE_AREA = 1e4
"""Largest hole area [m^2]."""
MAX_HOLE_DIAMETER = 100.0
"""Largest hole diameter [m]."""
MAX_SCALE = 1e6
"""Largest multiplier of a leak's area (an event's or an inject's ``scale``, a repair's ``xF``),
and the largest product of all the scales applied to one leak [-]."""
MAX_GAS_FLOW = 1e3
"""Largest make-up gas flow of a supply or a ``repress`` step [kg/s] (the ISS's is ~0.01)."""
MAX_WEIGHT = 1e6
"""Largest weight of a drill expectation [-]."""
LeakRate = quantity("mass flow", upper=MAX_LEAK_RATE)
HoleArea = quantity("area", upper=MAX_HOLE_AREA)
HoleDiameter = quantity("length", upper=MAX_HOLE_DIAMETER)
GasFlow = quantity("mass flow", upper=MAX_GAS_FLOW)
PressureRate = quantity("pressure rate", "any")
VolumeFlow = quantity("volume flow", "nonneg")


def _finite_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


Dimensionless = Annotated[float, BeforeValidator(_finite_number)]
