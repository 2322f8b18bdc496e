"""Running a drill: a :class:`~sim.engine.Simulation` of the drill's scenario with its injects armed.

Each inject fires once: ``at:`` injects from a simpy process that waits for their time, ``when:``
injects from a process waiting on :meth:`~sim.engine.Simulation.watch_condition` (checked at every
alarm poll), ``manual:`` ones only when the trainer fires them by name in live play. Firing logs
an ``inject`` event, then changes the world only through the engine and its
:class:`~sim.faults.Faults`, so procedures meet the fault where they would in reality (a jammed
hatch refuses to move when someone tries to close it, a wrong gauge gives a wrong reading).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import simpy

from sim.crew import INCAPACITATED
from sim.drill.scorecard import score
from sim.engine import RunResult, Simulation
from sim.faults import GaugeFault
from sim.scenario.drill_model import (
    CrewDelayed,
    CrewIncapacitated,
    FalseAlarm,
    GaugeFails,
    HatchJams,
    LeakChange,
    NewLeak,
    SupplyLost,
    ValveStuck,
    VehicleUnavailable,
)

if TYPE_CHECKING:
    from sim.scenario.drill_load import LoadedDrill

__all__ = ["DrillRun", "inject_target"]


def inject_target(inj) -> dict[str, Any]:
    """The fields of an inject that say what it hits, for the event log."""
    keys = ("leak", "in_", "scale", "hatch", "of", "failed", "bias", "readings", "alarm", "where", "crew",
            "delay", "vehicle", "supply")
    out = {}
    for k in keys:
        v = getattr(inj, k, None)
        if v is not None and not (k == "failed" and v is False):
            out[k.rstrip("_")] = v
    if isinstance(inj, GaugeFails) and inj.scale != 1.0:
        out["gauge_scale"] = inj.scale
    return out


@dataclass
class DrillRun:
    """One run of a drill.

    Parameters
    ----------
    drill : LoadedDrill
    seed : int, optional
        Replaces the drill's (or else the scenario's) seed.
    env : simpy.Environment, optional
    play : {"procedures", "trainees"}
        Who plays the crew: the scenario's procedures (as they would be flown), or the trainees
        alone (the scenario's ``run`` entries are left out; the crew do only what they are told).

    Attributes
    ----------
    fired : inject name -> time it fired [s].
    session : every command given, ``{"t": [s], "command": text}`` (and ``"error"`` when refused).
    """

    drill: LoadedDrill
    seed: int | None = None
    env: simpy.Environment | None = None
    fired: dict[str, float] = field(default_factory=dict)
    session: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "batch"
    play: str = "procedures"

    def __post_init__(self):
        seed = self.seed if self.seed is not None else self.drill.drill.seed
        loaded = self.drill.loaded
        if self.play == "trainees":
            loaded = replace(loaded, scenario=loaded.scenario.model_copy(update={"run": []}))
        elif self.play != "procedures":
            raise ValueError(f"play: {self.play!r}, expected 'procedures' or 'trainees'")
        self.sim = Simulation(loaded, seed, env=self.env)
        self.env = self.sim.env
        self.live_runs: list[Any] = []

    # -- injects ------------------------------------------------------------------------------
    def arm(self) -> None:
        """Start the processes of the timed and conditional injects (call before :meth:`run`)."""
        self.env.process(self._arm())

    def _arm(self):
        # one instant later than the engine's own start-up processes, so a leak that the scenario
        # starts at t = 0 exists before an inject at t = 0 changes it
        yield self.env.timeout(0)
        for inj in self.drill.drill.injects:
            if inj.at is not None:
                self.env.process(self._at(inj))
            elif inj.when is not None:
                self.env.process(self._when(inj))

    def _at(self, inj):
        if inj.at > self.env.now:
            yield self.env.timeout(inj.at - self.env.now)
        self.fire(inj.name, "time")

    def _when(self, inj):
        yield self.sim.watch_condition(self.drill.conditions[inj.name], None)
        self.fire(inj.name, "condition")

    def fire(self, name: str, trigger: str) -> str | None:
        """Fire inject *name* now; returns why it could not (unknown, already fired) or None."""
        inj = self.drill.inject(name)
        if inj is None:
            return f"no inject is called '{name}'"
        if name in self.fired:
            return f"inject '{name}' already fired at {self.fired[name]:.0f} s"
        sim, now = self.sim, self.env.now
        self.fired[name] = now
        sim.log.emit(now, "inject", name=name, fault=inj.fault, trigger=trigger, **inject_target(inj))
        faults = sim.faults
        if isinstance(inj, NewLeak):
            sim.start_leak(next(lk for lk in sim.scenario.leaks if lk.id == inj.leak))
        elif isinstance(inj, LeakChange):
            if inj.leak in sim.leak_state:
                sim.set_leak_scale(inj.leak, inj.scale, cause=f"inject {name}")
            else:
                sim.log.emit(now, "inject_no_effect", name=name, reason=f"leak '{inj.leak}' has not started")
        elif isinstance(inj, HatchJams):
            faults.jammed_hatches.add(inj.hatch)
        elif isinstance(inj, ValveStuck):
            faults.stuck_valves.add(inj.hatch)
        elif isinstance(inj, GaugeFails):
            faults.gauges[inj.of] = GaugeFault(failed=inj.failed, bias=inj.bias or 0.0, scale=inj.scale,
                                               readings_left=inj.readings)
        elif isinstance(inj, FalseAlarm):
            sim.raise_alarm(inj.alarm, list(inj.where), cause=f"false alarm (inject {name})")
        elif isinstance(inj, CrewDelayed):
            faults.crew_delays[inj.crew] = faults.crew_delays.get(inj.crew, 0.0) + inj.delay
        elif isinstance(inj, CrewIncapacitated):
            member = sim.crew[inj.crew]
            if member.status != INCAPACITATED:
                sim.set_status(member, INCAPACITATED, cause=f"inject {name}")
        elif isinstance(inj, VehicleUnavailable):
            faults.unavailable_vehicles.add(inj.vehicle)
        elif isinstance(inj, SupplyLost):
            sim.lose_supply(inj.supply)
        return None

    # -- running ------------------------------------------------------------------------------
    def run(self, control=None) -> RunResult:
        """Run the drill to its end (or until the trainer quits); returns the result, scored.

        Parameters
        ----------
        control : generator function of this run, optional
            The live (or replayed) command process, started beside the injects.
        """
        self.arm()
        if control is not None:
            self.env.process(control(self))
        result = self.sim.run()
        card = score(self, result)
        result.extra["scorecard"] = card
        result.summary["drill"] = {"name": self.drill.drill.name, "score": card["score"],
                                   "passed": card["passed"], "all_met": card["all_met"]}
        return result
