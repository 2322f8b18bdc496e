"""The station's discrete state and every action that changes it: hatches, valves, leaks, supplies, undocking.

Each action synchronises the atmosphere to the instant first (:meth:`AtmosphereCoupling.sync`),
changes the solver and the state here, logs the event, and then tells those who depend on the
change: crew waiting for a path (:meth:`sim.crew.Mover.notify_hatch_change`) and the crew's
exposure (:meth:`sim.exposure.Exposure.update`). Scripted leaks and events of the scenario come
through :meth:`StationActions.scripted`; procedures, drills and the leak hunt call the same actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.atmosphere import cda_from_leak_rate, hole_area_from_diameter, mixture_gas_constant
from sim.faults import Faults
from sim.station import initial_masses
from sim.station import zones as station_zones

if TYPE_CHECKING:
    import networkx as nx
    import simpy

    from sim.atmosphere.network import GasNetwork
    from sim.crew import CrewMember, Mover
    from sim.engine.coupling import AtmosphereCoupling
    from sim.exposure import Exposure
    from sim.results.events import EventLog
    from sim.scenario.scenario_model import Scenario
    from sim.scenario.station_model import Station

__all__ = ["StationActions"]


class StationActions:
    """Hatches, valves, leaks, gas supplies and vehicles of one run, and the actions on them.

    Parameters
    ----------
    env : simpy.Environment
    scenario : Scenario
    station : Station
    G : networkx.MultiGraph
        The station graph (compartments joined by hatches).
    net : GasNetwork
        Its hatch and valve states at the start.
    atmosphere : AtmosphereCoupling
    log : EventLog
    crew : dict
        Crew id -> :class:`~sim.crew.CrewMember` (read by :meth:`undock`).

    Attributes
    ----------
    hatch_open, valve_open : dict of str -> bool
        Every hatch's and equalization valve's state now.
    leak_state : dict
        Leak id -> ``{"at", "cda_m2" [m^2], "started" [s], "scale"}`` once it has started.
    leak_detected : dict
        Leak id -> (when [s], by what: ``known``, ``alarm``, ``measurement``).
    departed, departed_hatches : set of str
        Vehicles that have undocked, and their hatches.
    faults : Faults
        A drill's injected faults.
    mover, exposure
        Set by the coordinator: told of every change.
    """

    def __init__(self, env: simpy.Environment, scenario: Scenario, station: Station, G: nx.MultiGraph,
                 net: GasNetwork, atmosphere: AtmosphereCoupling, log: EventLog, crew: dict[str, CrewMember]):
        self.env = env
        self.scenario = scenario
        self.station = station
        self.G = G
        self.net = net
        self.atmosphere = atmosphere
        self.log = log
        self.crew = crew
        self.index = {n: i for i, n in enumerate(net.names)}
        self.edge_index = {h: j for j, h in enumerate(net.edge_names)}
        self.hatch_open = dict(zip(net.edge_names, map(bool, net.hatch_open), strict=True))
        self.valve_open = dict(zip(net.edge_names, map(bool, net.valve_open), strict=True))
        self.leak_cda: dict[str, float] = {}
        self.leak_state: dict[str, dict[str, Any]] = {}
        self.leak_detected: dict[str, tuple[float, str]] = {}
        self.departed: set[str] = set()
        self.departed_hatches: set[str] = set()
        self.faults = Faults()
        self._zones_cache: dict[tuple[bool, ...], list[set[str]]] = {}
        self.mover: Mover | None = None
        self.exposure: Exposure | None = None

    # -- leaks ------------------------------------------------------------------------------
    def _leak_cda(self, leak) -> float:
        i = self.index[leak.at]
        if leak.rate is not None:
            m0 = initial_masses(self.station)[i]
            R = float(mixture_gas_constant(m0 / m0.sum()))
            return float(cda_from_leak_rate(leak.rate, self.atmosphere.p0[i], self.net.temperature[i], R))
        area = leak.area if leak.area is not None else float(hole_area_from_diameter(leak.diameter))
        return leak.cd * area

    def start_leak(self, leak) -> None:
        """Open a leak now."""
        self.atmosphere.sync()
        cda = self._leak_cda(leak)
        self.leak_cda[leak.id] = cda
        self.leak_state[leak.id] = {"at": leak.at, "cda_m2": cda, "started": self.env.now, "scale": 1.0}
        self.atmosphere.solver.add_leak(leak.id, self.index[leak.at], cda)
        self.log.emit(self.env.now, "leak_start", leak=leak.id, at=leak.at, cda_m2=cda)
        if leak.known:
            self.leak_detected[leak.id] = (self.env.now, "known")
        self.exposure.update()

    def set_leak_scale(self, leak_id: str, scale: float, cause: str) -> None:
        """Multiply a leak's current effective area by *scale* (0 seals it)."""
        self.atmosphere.sync()
        state = self.leak_state.get(leak_id)
        if state is None:  # not started yet: applies when it starts
            self.leak_cda[leak_id] = self.leak_cda.get(leak_id, 1.0) * scale
            return
        state["cda_m2"] *= scale
        state["scale"] *= scale
        self.atmosphere.solver.set_leak_cda(leak_id, state["cda_m2"])
        self.log.emit(self.env.now, "leak_change", leak=leak_id, cda_m2=state["cda_m2"], cause=cause)
        self.exposure.update()

    # -- hatches and valves -------------------------------------------------------------------
    def set_hatch(self, hatch: str, is_open: bool, by: str | None = None) -> None:
        """Open or close a hatch now (the time it takes is the caller's business)."""
        self.atmosphere.sync()
        self.hatch_open[hatch] = is_open
        self.atmosphere.solver.set_hatch_open(self.edge_index[hatch], is_open)
        details = {"hatch": hatch, "state": "open" if is_open else "closed"}
        if by:
            details["by"] = by
        self.log.emit(self.env.now, "hatch", **details)
        self.mover.notify_hatch_change()
        self.exposure.update()

    def set_valve(self, hatch: str, is_open: bool, by: str | None = None) -> None:
        """Open or close a hatch's equalization valve now."""
        self.atmosphere.sync()
        self.valve_open[hatch] = is_open
        self.atmosphere.solver.set_valve_open(self.edge_index[hatch], is_open)
        details = {"hatch": hatch, "state": "open" if is_open else "closed"}
        if by:
            details["by"] = by
        self.log.emit(self.env.now, "valve", **details)
        self.exposure.update()

    def open_zones(self) -> list[set[str]]:
        """Groups of compartments joined through open hatches now (do not modify them).

        Computed once per hatch state: crew moves ask for it far more often than hatches change.
        """
        key = tuple(self.hatch_open.values())
        groups = self._zones_cache.get(key)
        if groups is None:
            groups = self._zones_cache[key] = station_zones(self.G, lambda h: self.hatch_open[h])
        return groups

    # -- gas supplies ---------------------------------------------------------------------------
    def set_supply(self, supply: str, into: str, rate: float, by: str | None = None) -> bool:
        """Start (rate > 0) or stop a make-up gas flow from *supply* into *into* [kg/s].

        Returns False (and logs why) when the supply has been lost.
        """
        self.atmosphere.sync()
        if rate > 0 and supply in self.faults.lost_supplies:
            self.log.emit(self.env.now, "supply_unavailable", supply=supply, by=by)
            return False
        self.atmosphere.solver.set_supply_flow(supply, self.index[into], rate)
        kind = "repress_start" if rate > 0 else "repress_stop"
        self.log.emit(self.env.now, kind, supply=supply, into=into, rate_kg_s=rate, by=by)
        return True

    def lose_supply(self, supply: str) -> None:
        """A gas supply is lost: any flow from it stops and it gives nothing more."""
        self.atmosphere.sync()
        self.faults.lost_supplies.add(supply)
        for i in self.station.gas_supply[supply].into:
            self.atmosphere.solver.set_supply_flow(supply, self.index[i], 0.0)

    def supply_empty(self, supply: str) -> bool:
        """Whether a gas supply has nothing left."""
        return float(np.sum(self.atmosphere.solver.supply_remaining(supply))) <= 0.0

    # -- vehicles ---------------------------------------------------------------------------------
    def undock(self, vehicle: str) -> None:
        """A vehicle leaves with whoever is aboard; its hatch is closed for good."""
        self.atmosphere.sync()
        aboard = [m for m in self.crew.values() if m.location == vehicle and m.aboard is None]
        for m in aboard:
            m.aboard = vehicle
            m.activity = f"departed in {vehicle}"
        self.departed.add(vehicle)
        for hid, hatch in self.station.hatches.items():
            if vehicle in hatch.between:
                self.departed_hatches.add(hid)
        self.log.emit(self.env.now, "undock", vehicle=vehicle, crew=[m.id for m in aboard])
        self.exposure.update()

    def vehicle_hatch(self, vehicle: str) -> str:
        """The hatch between a vehicle and the compartment it is docked to."""
        v = self.station.vehicles[vehicle]
        return next(h for h, x in self.station.hatches.items() if set(x.between) == {vehicle, v.docked_to})

    # -- the scenario's script --------------------------------------------------------------------
    def scripted(self):
        """simpy process: the scenario's leaks and scripted events, each at its time."""
        items = []
        for leak in self.scenario.leaks:
            items.append((leak.start, 0, "leak", leak))
        for i, event in enumerate(self.scenario.events):
            items.append((event.at, 1 + i, "event", event))
        for t, _, kind, item in sorted(items, key=lambda x: (x[0], x[1])):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            if kind == "leak":
                self.start_leak(item)
            elif item.leak is not None:
                self.set_leak_scale(item.leak, 0.0 if item.seal else item.scale, cause="scripted")
            elif item.hatch is not None:
                self.set_hatch(item.hatch, item.state == "open", by="scripted")
            else:
                self.set_valve(item.valve, item.state == "open", by="scripted")
