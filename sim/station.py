"""The station as a graph: compartments are nodes, hatches are edges.

A validated :class:`~sim.scenario.station_model.Station` becomes a :class:`networkx.MultiGraph`
(two hatches may join the same pair of compartments) whose edge keys are hatch ids. The graph
holds what does not change during a run; what does (a hatch open or closed) is read through a
predicate, so "the station through open hatches" is a view, never a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import networkx as nx
import numpy as np

from sim.atmosphere import (
    GasNetwork,
    cda_from_leak_rate,
    masses_from_partial_pressures,
    mixture_gas_constant,
)
from sim.scenario.station_model import Station

__all__ = [
    "AREA",
    "CD",
    "KIND",
    "PASS_TIME",
    "SEGMENT",
    "TEMPERATURE",
    "TRAVERSE",
    "VALVE_AREA",
    "VOLUME",
    "build_graph",
    "gas_network",
    "hatch_ends",
    "initial_masses",
    "open_view",
    "seal_cda",
    "zones",
]

# Node attributes
VOLUME = "volume"            # [m^3]
TEMPERATURE = "temperature"  # [K]
KIND = "kind"                # "module" or "vehicle"
SEGMENT = "segment"
TRAVERSE = "traverse"        # [s]
# Edge attributes (edge key = hatch id)
AREA = "area"                # [m^2]
CD = "cd"                    # [-]
VALVE_AREA = "valve_area"    # [m^2], 0 where there is no valve
PASS_TIME = "pass_time"      # [s]


def build_graph(station: Station) -> nx.MultiGraph:
    """The station graph: one node per compartment or vehicle, one edge per hatch.

    Parameters
    ----------
    station : Station
        A validated station (ids already cross-checked).

    Returns
    -------
    networkx.MultiGraph
        Nodes carry :data:`VOLUME` [m^3], :data:`TEMPERATURE` [K], :data:`KIND`,
        :data:`SEGMENT`, :data:`TRAVERSE` [s] and, for vehicles, ``seats``, ``shelter`` and
        ``docked_to``; edges (key = hatch id) carry :data:`AREA` [m^2], :data:`CD`,
        :data:`VALVE_AREA` [m^2] and :data:`PASS_TIME` [s].

    Examples
    --------
    >>> from sim.scenario.station_model import Station
    >>> st = Station.model_validate({"name": "two", "compartments": {"a": {"volume": 10},
    ...     "b": {"volume": 1}}, "hatches": {"a-b": {"between": ["a", "b"]}}})
    >>> G = build_graph(st)
    >>> sorted(G.nodes), list(G.edges(keys=True))
    (['a', 'b'], [('a', 'b', 'a-b')])
    """
    G = nx.MultiGraph(name=station.name)
    for cid, comp in station.compartments.items():
        G.add_node(cid, **_node_attrs(station, comp), **{KIND: "module"})
    for vid, veh in station.vehicles.items():
        G.add_node(
            vid, **_node_attrs(station, veh), **{KIND: "vehicle"},
            seats=veh.seats, shelter=veh.shelter, docked_to=veh.docked_to,
        )
    for hid, hatch in station.hatches.items():
        u, v = hatch.between
        G.add_edge(
            u, v, key=hid,
            **{AREA: hatch.area, CD: hatch.cd, VALVE_AREA: hatch.valve or 0.0, PASS_TIME: hatch.pass_time},
        )
    return G


def _node_attrs(station: Station, comp) -> dict:
    return {
        VOLUME: comp.volume,
        TEMPERATURE: comp.temperature or station.temperature,
        SEGMENT: comp.segment,
        TRAVERSE: comp.traverse,
    }


def hatch_ends(G: nx.MultiGraph) -> dict[str, tuple[str, str]]:
    """Hatch id -> the two compartments it joins."""
    return {k: (u, v) for u, v, k in G.edges(keys=True)}


def open_view(G: nx.MultiGraph, passable: Callable[[str], bool]) -> nx.MultiGraph:
    """A read-only view of *G* keeping only the hatches for which ``passable(hatch_id)`` is true.

    The predicate is evaluated on every access, so the view follows hatch states as they change.
    """
    return nx.subgraph_view(G, filter_edge=lambda u, v, k: passable(k))


def zones(G: nx.MultiGraph, connected: Callable[[str], bool]) -> list[set[str]]:
    """Groups of compartments joined through hatches for which ``connected(hatch_id)`` is true."""
    return [set(c) for c in nx.connected_components(open_view(G, connected))]


def gas_network(
    station: Station,
    hatch_open: Mapping[str, bool] | None = None,
    valve_open: Mapping[str, bool] | None = None,
) -> GasNetwork:
    """The solver's view of the station: arrays in a fixed compartment and hatch order.

    Compartments come first in file order, then vehicles; hatches in file order. *hatch_open*
    and *valve_open* override the station's initial states by hatch id.
    """
    places = {**station.compartments, **station.vehicles}
    names = tuple(places)
    index = {name: i for i, name in enumerate(names)}
    hatches = station.hatches
    hatch_open = {h: x.open for h, x in hatches.items()} | dict(hatch_open or {})
    valve_open = {h: x.valve_open for h, x in hatches.items()} | dict(valve_open or {})
    return GasNetwork(
        names=names,
        volume=np.array([c.volume for c in places.values()]),
        temperature=np.array([c.temperature or station.temperature for c in places.values()]),
        edge_names=tuple(hatches),
        edge_u=np.array([index[h.between[0]] for h in hatches.values()], dtype=int),
        edge_v=np.array([index[h.between[1]] for h in hatches.values()], dtype=int),
        hatch_area=np.array([h.area for h in hatches.values()]),
        hatch_cd=np.array([h.cd for h in hatches.values()]),
        valve_area=np.array([h.valve or 0.0 for h in hatches.values()]),
        valve_cd=np.array([h.valve_cd for h in hatches.values()]),
        hatch_open=np.array([hatch_open[h] for h in hatches], dtype=bool),
        valve_open=np.array([valve_open[h] and hatches[h].valve is not None for h in hatches], dtype=bool),
        seal_cda=np.array([seal_cda(station, h) for h in hatches.values()]),
    )


def seal_cda(station: Station, hatch) -> float:
    """Effective area of a closed hatch's seal path [m^2]: ``seal`` as given, or ``seal_rate``
    converted as a choked flow from the station's default atmosphere to vacuum (0 if neither)."""
    if hatch.seal is not None:
        return hatch.seal
    if hatch.seal_rate is None:
        return 0.0
    a = station.atmosphere
    pp = np.array([a.N2, a.O2, a.CO2])
    m = masses_from_partial_pressures(pp[None, :], [1.0], [station.temperature])[0]
    R = float(mixture_gas_constant(m / m.sum()))
    return float(cda_from_leak_rate(hatch.seal_rate, pp.sum(), station.temperature, R))


def initial_masses(station: Station) -> np.ndarray:
    """Mass of N2, O2, CO2 in every compartment at t = 0, in :func:`gas_network` order [kg]."""
    places = {**station.compartments, **station.vehicles}
    default = station.atmosphere
    pp = np.empty((len(places), 3))
    for i, comp in enumerate(places.values()):
        own = comp.atmosphere
        pp[i] = [
            own.N2 if own and own.N2 is not None else default.N2,
            own.O2 if own and own.O2 is not None else default.O2,
            own.CO2 if own and own.CO2 is not None else default.CO2,
        ]
    V = np.array([c.volume for c in places.values()])
    T = np.array([c.temperature or station.temperature for c in places.values()])
    return masses_from_partial_pressures(pp, V, T)
