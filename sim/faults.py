"""Faults that can be injected into a running simulation (drills, scripted what-ifs).

Each fault is a fact about the world that steps consult when they act: a jammed hatch will not
move, a stuck valve will not change state, a failed gauge gives no reading and a wrong one reads
off by a bias, an unavailable vehicle cannot be sheltered in or undocked, a lost gas supply gives
no gas, a delayed crew member starts their next task late.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Faults", "GaugeFault"]


@dataclass
class GaugeFault:
    """A pressure gauge that has failed (no reading) or reads wrong: ``reading = true*scale + bias``."""

    failed: bool = False
    bias: float = 0.0   # [Pa]
    scale: float = 1.0  # [-]
    readings_left: int | None = None  # the fault clears after this many readings (None: stays)


@dataclass
class Faults:
    """Every fault active in a run."""

    jammed_hatches: set[str] = field(default_factory=set)
    stuck_valves: set[str] = field(default_factory=set)
    gauges: dict[str, GaugeFault] = field(default_factory=dict)
    unavailable_vehicles: set[str] = field(default_factory=set)
    lost_supplies: set[str] = field(default_factory=set)
    crew_delays: dict[str, float] = field(default_factory=dict)  # [s] before the next task

    def gauge(self, compartment: str) -> GaugeFault | None:
        """The fault of a compartment's gauge, if any (the ``station`` gauge counts for all)."""
        return self.gauges.get(compartment) or self.gauges.get("station")

    def consume_reading(self, compartment: str) -> None:
        """One reading was taken from a faulty gauge; clear it when its count runs out."""
        for key in (compartment, "station"):
            fault = self.gauges.get(key)
            if fault is not None and fault.readings_left is not None:
                fault.readings_left -= 1
                if fault.readings_left <= 0:
                    del self.gauges[key]
