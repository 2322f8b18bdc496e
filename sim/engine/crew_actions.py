"""What happens to crew members in the run: they move into a compartment and breathe there, their
status changes, they are trapped or where they were sent.

Walking itself (routes, queues at hatches, waiting when trapped) is :class:`sim.crew.Mover`; the
hazard model that decides a status is :class:`sim.crew.HazardMonitor`. Both act on the run only
through the operations here (and the coordinator that exposes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.crew import INCAPACITATED, SEVERITY, CrewMember

if TYPE_CHECKING:
    import networkx as nx
    import simpy

    from sim.crew import Mover
    from sim.engine.coupling import AtmosphereCoupling
    from sim.exposure import Exposure
    from sim.results.events import EventLog
    from sim.scenario.scenario_model import Physiology

__all__ = ["CrewActions"]


class CrewActions:
    """Crew members of one run: where they breathe, their status, whether they are stuck.

    Parameters
    ----------
    env : simpy.Environment
    G : networkx.MultiGraph
        The station graph (its nodes say which compartments are shelters).
    crew : dict
        Crew id -> :class:`~sim.crew.CrewMember`, in scenario order.
    index : dict
        Compartment id -> its index in the solver arrays.
    physiology : Physiology
        O2 consumption and CO2 production per person [kg/s].
    atmosphere : AtmosphereCoupling
    log : EventLog

    Attributes
    ----------
    mover, exposure
        Set by the coordinator (routes for :meth:`still_trapped`; the crewed volume to update).
    """

    def __init__(self, env: simpy.Environment, G: nx.MultiGraph, crew: dict[str, CrewMember],
                 index: dict[str, int], physiology: Physiology, atmosphere: AtmosphereCoupling, log: EventLog):
        self.env = env
        self.G = G
        self.crew = crew
        self.index = index
        self.physiology = physiology
        self.atmosphere = atmosphere
        self.log = log
        self.mover: Mover | None = None
        self.exposure: Exposure | None = None

    def breathe(self, member: CrewMember) -> None:
        """*member* takes up O2 and gives off CO2 in the compartment where they are now."""
        ph = self.physiology
        rates = np.array([0.0, -ph.o2_consumption, ph.co2_production])
        self.atmosphere.solver.set_source(f"crew:{member.id}", self.index[member.location], rates)

    def relocate(self, member: CrewMember, place: str, via: str | None = None) -> None:
        """*member* is now in *place* (they breathe there from now on)."""
        self.atmosphere.sync()
        member.location = place
        self.breathe(member)
        self.log.emit(self.env.now, "move", crew=member.id, to=place, via=via)
        node = self.G.nodes[place]
        if node.get("shelter") and member.sheltered_at is None:
            member.sheltered_at = self.env.now
            self.log.emit(self.env.now, "in_shelter", crew=member.id, vehicle=place)
        self.exposure.update()

    def set_status(self, member: CrewMember, status: str, cause: str) -> None:
        """Change a member's status; an incapacitated member stops whatever they were doing."""
        member.status = status
        if SEVERITY[status] > SEVERITY[member.worst_status]:
            member.worst_status = status
        self.log.emit(self.env.now, "status", crew=member.id, status=status, at=member.location, cause=cause)
        if status == INCAPACITATED and member.task is not None and member.task.is_alive:
            if member.task is not self.env.active_process:
                member.task.interrupt("incapacitated")

    def still_trapped(self, member: CrewMember) -> bool:
        """Whether *member* is trapped now: a move found no open path and none has opened since."""
        trapped = member.trapped
        return trapped is not None and member.location == trapped["at"] and \
            self.mover.route(member.location, trapped["to"]) is None

    @staticmethod
    def in_place(member: CrewMember) -> bool:
        """Whether *member* is where the last move sent them (true if never sent anywhere)."""
        return member.aboard is None and (member.destination is None or member.location == member.destination)
