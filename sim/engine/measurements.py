"""What the crew measure, beside the model's truth: gauge volumes, breathing, Treserve readings.

A ``measure`` step (:func:`sim.procedures.steps.measure`) takes its readings itself, through its
gauge; this module says which compartments a gauge of a place reads, who breathes there, what
the model's true leak-driven dP/dt and Treserve are at that instant, and keeps every reading for
the summary's ``measurements`` (with whether the crew's own breathing confounds it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.atmosphere import R_SPECIES
from sim.reserve import leak_dpdt, treserve

if TYPE_CHECKING:
    import simpy

    from sim.atmosphere.network import GasNetwork
    from sim.crew import CrewMember
    from sim.engine.coupling import AtmosphereCoupling
    from sim.exposure import Exposure
    from sim.results.events import EventLog
    from sim.scenario.scenario_model import Physiology
    from sim.scenario.station_model import Station

__all__ = ["Measurements"]

_UNITS = {"dpdt": "Pa/s", "treserve": "s", "pressure": "Pa", "ppO2": "Pa", "ppCO2": "Pa"}


class Measurements:
    """The crew's readings of one run, as measured, and the truth beside each.

    Parameters
    ----------
    env : simpy.Environment
    station : Station
        Its reserve floor [Pa].
    physiology : Physiology
        Breathing rates per person [kg/s].
    net : GasNetwork
        Volumes [m^3] and temperatures [K].
    atmosphere : AtmosphereCoupling
    exposure : Exposure
        The crewed volume and the leak-driven dP/dt configuration.
    crew : dict
        Crew id -> :class:`~sim.crew.CrewMember`.
    leak_state, leak_detected : dict
        The station's leaks (read) and their detection (a falling reading detects the leaks in
        the measured volume).
    open_zones : callable
        Groups of compartments joined through open hatches now.
    log : EventLog

    Attributes
    ----------
    measurements : list of dict
        Every reading, for the summary.
    treserve_first : (t [s], Treserve [s]) or None
        The crew's first dP/dt or Treserve reading.
    """

    def __init__(self, env: simpy.Environment, station: Station, physiology: Physiology, net: GasNetwork,
                 atmosphere: AtmosphereCoupling, exposure: Exposure, crew: dict[str, CrewMember],
                 leak_state: dict[str, dict[str, Any]], leak_detected: dict[str, tuple[float, str]],
                 open_zones: Callable[[], list[set[str]]], log: EventLog):
        self.env = env
        self.station = station
        self.physiology = physiology
        self.net = net
        self.names = net.names
        self.index = {n: i for i, n in enumerate(net.names)}
        self.atmosphere = atmosphere
        self.exposure = exposure
        self.crew = crew
        self.leak_state = leak_state
        self.leak_detected = leak_detected
        self.open_zones = open_zones
        self.log = log
        self.measurements: list[dict[str, Any]] = []
        self.treserve_first: tuple[float, float] | None = None

    def measured_volume(self, of: str) -> list[str]:
        """The compartments a gauge of *of* reads: its zone through open hatches (all for ``station``)."""
        if of == "station":
            return list(self.names)
        zone = next(g for g in self.open_zones() if of in g)
        return [c for c in self.names if c in zone]

    def crew_in_volume(self, of: str) -> list[str]:
        """Crew aboard the station who breathe in the volume a gauge of *of* reads now."""
        volume = set(self.measured_volume(of))
        return [m.id for m in self.crew.values() if m.aboard is None and m.location in volume]

    def breathing_dpdt(self, compartments: list[str], people: int) -> float:
        """How fast *people* breathing in *compartments* change their total pressure [Pa/s].

        O2 taken up and CO2 given off at the physiology's rates, in a perfectly mixed isothermal
        volume: ``sum_s(rate_s R_s) / sum_i(V_i / T_i)``; negative (more O2 molecules are taken
        than CO2 molecules given back). Scrubbers and life support are not counted.
        """
        ph = self.physiology
        idx = [self.index[c] for c in compartments]
        capacity = float(np.sum(self.net.volume[idx] / self.net.temperature[idx]))
        per_person = -ph.o2_consumption * R_SPECIES[1] + ph.co2_production * R_SPECIES[2]
        return people * per_person / capacity

    def truth_now(self, of: str) -> dict[str, float]:
        """The model's leak-driven dP/dt [Pa/s] and Treserve [s] of *of* now (``station``: the
        crewed volume's lowest Treserve and the steepest leak-driven fall)."""
        self.atmosphere.sync()
        solver = self.atmosphere.solver
        p, pp = solver.pressure()[None, :], solver.partial_pressures()[None, :, :]
        cfg = self.exposure.reserve_config()
        rate = leak_dpdt(p, pp, cfg)[0]
        tres = treserve(p[0], rate, self.station.limits.reserve_floor)
        if of == "station":
            mask = self.exposure.crewed_mask()
            return {"dpdt_Pa_s": float(rate[mask].min()), "treserve_s": float(tres[mask].min())}
        i = self.index[of]
        return {"dpdt_Pa_s": float(rate[i]), "treserve_s": float(tres[i])}

    def record_measurement(self, run, step, readings: dict[str, float], by: str | None, *,
                           resolution: float = 0.0, breathers: Sequence[str] = ()) -> None:
        """Log a gauge reading and keep it, as measured, for the summary's ``measurements``.

        The first reading of dP/dt or Treserve also sets ``treserve_first_s`` (the crew's figure).
        *breathers* are the crew inside the measured volume during the window: their breathing
        is in the reading, which is then marked confounded.
        """
        t = self.env.now
        self.log.emit(t, "measure", procedure=run.label, of=step.of, what=step.what, value=readings[step.what],
                      dpdt_Pa_s=readings["dpdt"], treserve_s=readings["treserve"], variable=step.as_, by=by)
        if self.treserve_first is None and step.what in ("dpdt", "treserve"):
            self.treserve_first = (t, readings["treserve"])
        volume = self.measured_volume(step.of)
        confounded = None
        if breathers and step.what in ("dpdt", "treserve"):
            rate = self.breathing_dpdt(volume, len(breathers))
            share = rate / readings["dpdt"] if readings["dpdt"] < 0 else float("nan")
            size = float(np.sum(self.net.volume[[self.index[c] for c in volume]]))
            reason = (f"{', '.join(breathers)} breathed inside the measured volume ({', '.join(volume)}, "
                      f"{size:.1f} m^3) during the window: breathing alone changes its pressure by "
                      f"{rate:.3g} Pa/s")
            if np.isfinite(share):
                reason += f", {100 * share:.0f} % of the measured {readings['dpdt']:.3g} Pa/s"
            confounded = {"reason": reason, "crew": list(breathers), "breathing_dpdt_Pa_s": rate,
                          "share": share}
        member = self.crew.get(by) if by else None
        self.measurements.append({
            "as": step.as_, "what": step.what, "of": step.of, "by": by,
            "where": member.location if member is not None else None,
            "t_s": t, "window_s": step.window, "value": readings[step.what], "unit": _UNITS[step.what],
            "dpdt_Pa_s": readings["dpdt"], "treserve_s": readings["treserve"],
            "resolution": resolution, "resolution_unit": "Pa",
            # the smallest pressure trend the gauge can show over this window: one step of it
            "resolution_dpdt_Pa_s": resolution / step.window if step.window > 0 else None,
            "volume": volume,
            "confounded": confounded, "truth": self.truth_now(step.of),
        })
        if readings["dpdt"] < 0:
            measured = set(volume)
            for leak_id, state in self.leak_state.items():
                if leak_id not in self.leak_detected and state["at"] in measured and state["cda_m2"] > 0:
                    self.leak_detected[leak_id] = (t, "measurement")
