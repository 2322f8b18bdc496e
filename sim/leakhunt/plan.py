"""``safehaven hunt``: plan a hatch-closure search for a leak, and compare strategies.

A step closes hatches, waits the window the expected change needs to show on the gauge, measures, reopens
and branches. The station graph of the ISS is a tree, so closing one hatch splits it in two parts;
the window is the time for a leak of the planned rate in a part of volume V to lower its pressure by

    Δ = 2 q + z √2 σ,   dp/dt = ṁ R T / V,   window = Δ / (dp/dt),

two steps of the gauge (so that one step of rounding or noise is never read as a leak) plus the noise of
the two readings at the chosen confidence (z its normal quantile). The window and the decision level
come from the atmosphere solver run on the isolated parts with and without the leak, so a docked
vehicle's life support (O2 make-up, CO2 scrubbing), which moves an isolated part's pressure, is in
them; the formula above is where the search for the window starts. Only one part is measured, the one
without the crew (their breathing moves the pressure of theirs): if it shows no drop, the leak is in
the other.

Strategies, on the same prior:

* ``split``: close the hatches between the segments (RS/USOS) first, then module by module (the leaf of
  the remaining candidates with the most prior mass);
* ``bisect``: close the one hatch that halves the prior mass of the candidates;
* ``all``: close every hatch, the crew in one module (the August 2020 weekend); one long step.

Times count the searcher's walk (each hatch's ``pass_time`` and each compartment's ``traverse``), each
hatch's ``close_time`` and ``open_time`` and the windows, as the engine runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy.stats import norm

from sim.atmosphere import R_SPECIES
from sim.scenario.station_model import Station
from sim.station import initial_masses

__all__ = ["STRATEGIES", "HuntPlan", "Node", "Unsplittable", "farthest_candidate", "plan_hunt"]

STRATEGIES = ("split", "bisect", "all")


class Unsplittable(ValueError):
    """The open hatches do not let one closed hatch split the candidates (the graph is not a tree there)."""


@dataclass
class Node:
    """One step of a plan, or a leaf (``site`` set) where the leak is located."""

    name: str
    site: str | None = None
    close: list[str] = field(default_factory=list)        # hatches closed, in order
    sides: list[str] = field(default_factory=list)        # where the searcher stands for each
    # (of, window [s], child phase, decision level [Pa/s]: a measured dP/dt below it means "the leak is here")
    measure: list[tuple[str, float, str, float]] = field(default_factory=list)
    otherwise: str | None = None                          # child phase when no measured part drops
    duration: float = 0.0                                 # of the step, by the plan's model [s]
    children: list[str] = field(default_factory=list)
    reopen: bool = True


@dataclass
class HuntPlan:
    strategy: str
    nodes: dict[str, Node]
    root: str
    times: dict[str, float]          # time to localize a leak in each candidate [s]
    steps: dict[str, int]
    prior: dict[str, float]
    feasible: bool
    violations: list[str]
    threshold_pa: float
    excluded: list[str] = field(default_factory=list)  # candidates behind hatches closed already

    def expected_time(self) -> float:
        return float(sum(self.prior[s] * self.times[s] for s in self.prior if self.prior[s] > 0))

    def worst_time(self) -> float:
        return float(max(self.times[s] for s in self.prior if self.prior[s] > 0))


class _Station:
    """The pieces of the station the planner needs."""

    def __init__(self, station: Station):
        self.st = station
        places = {**station.compartments, **station.vehicles}
        self.places = places
        self.G = nx.Graph()
        for cid in places:
            self.G.add_node(cid)
        for hid, h in station.hatches.items():
            if h.open:
                self.G.add_edge(*h.between, hatch=hid)
        m0 = initial_masses(station)
        names = list(places)
        self.p0 = {n: float((m0[i] * R_SPECIES).sum() * (places[n].temperature or station.temperature) / places[n].volume)
                   for i, n in enumerate(names)}
        self.R = float((m0.sum(0) @ R_SPECIES) / m0.sum())

    def volume(self, part) -> float:
        return float(sum(self.places[c].volume for c in part))

    def temperature(self, c) -> float:
        return self.places[c].temperature or self.st.temperature

    def walk(self, a: str, b: str) -> float:
        """The searcher's travel time through open hatches [s] (as the engine's movement model)."""
        if a == b:
            return 0.0

        def w(u, v, d):
            h = self.st.hatches[d["hatch"]]
            return h.pass_time + self.places[v].traverse

        return float(nx.dijkstra_path_length(self.G, a, b, weight=w))

    def parts_without(self, hatches) -> list[set]:
        H = self.G.copy()
        for hid in hatches:
            H.remove_edge(*self.st.hatches[hid].between)
        return [set(c) for c in nx.connected_components(H)]


def _part_responses(station: Station, closed: list[str], of: str, rate: float, times: np.ndarray):
    """Pressure of *of* [Pa] at *times* [s] after *closed* hatches close, without and with a leak of
    *rate* [kg/s] in its part: the atmosphere solver with the station's life support (a vehicle's O2
    make-up and CO2 scrubbing move an isolated part's pressure as much as a small leak)."""
    from sim.atmosphere import cda_from_leak_rate, make_solver, mixture_gas_constant
    from sim.station import gas_network

    open_ = {h: x.open and h not in closed for h, x in station.hatches.items()}
    net = gas_network(station, hatch_open=open_, valve_open={h: False for h in station.hatches})
    m0 = initial_masses(station)
    index = {n: i for i, n in enumerate(net.names)}
    out = []
    for leak in (False, True):
        solver = make_solver("zonal", net, m0)
        for cid, comp in (station.compartments | station.vehicles).items():
            if comp.life_support is not None:
                solver.set_scrubber(f"ls:{cid}", index[cid], comp.life_support.co2_scrub)
                if comp.life_support.o2_supply > 0:
                    solver.set_source(f"ls:{cid}", index[cid], np.array([0.0, comp.life_support.o2_supply, 0.0]))
        if leak:
            i = index[of]
            R = float(mixture_gas_constant(m0[i] / m0[i].sum()))
            p0 = float((m0[i] * R_SPECIES).sum() * net.temperature[i] / net.volume[i])
            solver.add_leak("leak", i, float(cda_from_leak_rate(rate, p0, net.temperature[i], R)))
        out.append(solver.sample(times).pressure[:, index[of]])
    return out[0], out[1]


def _window(station, closed, of, rate, need, guess, offset=0.0):
    """Shortest window [s] after which the leak's part has fallen by *need* [Pa] more than it would
    without the leak, and the decision level (midway between the two expected changes) [Pa/s].

    The measurement starts *offset* [s] after the part was closed off (a vehicle's scrubber has a
    transient of tens of minutes that the measurement must see as it will be)."""
    horizon = max(60.0, guess)
    for _ in range(12):
        tw = np.concatenate([[0.0], np.geomspace(1.0, horizon, 400)])
        base, leak = _part_responses(station, closed, of, rate, offset + tw)
        gap = (base - base[0]) - (leak - leak[0])
        k = np.flatnonzero(gap >= need)
        if len(k):
            k0 = int(k[0])
            f = (need - gap[k0 - 1]) / (gap[k0] - gap[k0 - 1]) if k0 > 0 else 0.0
            w = float(tw[k0 - 1] + f * (tw[k0] - tw[k0 - 1])) if k0 > 0 else float(tw[0])
            b = float(np.interp(w, tw, base)) - base[0]
            lk = float(np.interp(w, tw, leak)) - leak[0]
            return w, 0.5 * (b + lk) / w
        horizon *= 2.0
    raise Unsplittable(f"a leak of {rate * 86400:.3g} kg/day in {of}'s part does not show within {horizon / 3600:.0f} h")


def plan_hunt(station: Station, prior: dict[str, float], rate: float, resolution: float, noise: float,
              confidence: float, crew_at: str, strategy: str, min_treserve: float = 0.0,
              crew_count: int = 1) -> HuntPlan:
    """Plan a search with *strategy* for a leak of *rate* [kg/s] located with the probabilities *prior*.

    Raises
    ------
    ValueError
        If the station's open hatches do not form a tree over the candidates (a cut would not split).
    """
    S = _Station(station)
    # the search runs in the crew's part of the station (open hatches); a candidate behind a hatch that
    # is closed already is read directly, not searched for
    reach = nx.node_connected_component(S.G, crew_at)
    excluded = sorted(c for c in prior if prior[c] > 0 and c not in reach)
    S.G = S.G.subgraph(reach).copy()
    S.places = {c: v for c, v in S.places.items() if c in reach}
    prior = {c: (w if c in reach else 0.0) for c, w in prior.items()}
    total = sum(prior.values())
    prior = {c: w / total for c, w in prior.items()} if total > 0 else prior
    z = float(norm.ppf(confidence))
    threshold = 2.0 * resolution + z * math.sqrt(2.0) * noise
    T = station.temperature
    floor = station.limits.reserve_floor
    nodes: dict[str, Node] = {}
    times: dict[str, float] = {}
    steps: dict[str, int] = {}
    violations: list[str] = []
    counter = [0]

    def dpdt(part) -> float:
        return rate * S.R * T / S.volume(part)

    def window(part) -> float:
        return threshold / dpdt(part)

    def check_reserve(parts, label):
        crew_part = next(p for p in parts if crew_at in p)
        p0 = S.p0[crew_at]
        reserve = (p0 - floor) / dpdt(crew_part)
        if reserve < min_treserve:
            violations.append(f"{label}: a leak in the crew's part ({S.volume(crew_part):.4g} m^3) leaves "
                              f"{reserve / 3600:.2f} h of reserve, below the minimum {min_treserve / 3600:.2f} h")

    def new_name(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def leaf(site, t, k):
        name = f"found_{site}"
        nodes[name] = Node(name, site=site)
        times[site] = t
        steps[site] = k
        return name

    def choose_cut(cands: set) -> str:
        sub = S.G.subgraph(cands)
        mass = {c: prior.get(c, 0.0) for c in cands}
        bridges = [S.G.edges[u, v]["hatch"] for u, v in nx.bridges(sub)]
        if not bridges:
            raise Unsplittable(f"no single hatch splits {sorted(cands)}: the open hatches must form a tree")
        if strategy == "split":
            segs = {S.places[c].segment for c in cands}
            if len(segs) > 1:  # the segment boundary first
                for hid in bridges:
                    a, b = station.hatches[hid].between
                    if S.places[a].segment != S.places[b].segment:
                        return hid
            leaves = [c for c in cands if sub.degree(c) == 1]
            best = max(leaves, key=lambda c: (mass[c], -list(S.places).index(c)))
            return next(S.G.edges[best, n]["hatch"] for n in sub.neighbors(best))
        # bisect: the bridge whose cut halves the candidates' prior mass (ties: smaller windows)
        total = sum(mass.values())

        def score(hid):
            H = sub.copy()
            H.remove_edge(*station.hatches[hid].between)
            a = next(iter(nx.connected_components(H)))
            ma = sum(mass[c] for c in a)
            # rounded: either side of the same cut must score the same, whichever a set's (hash-seeded)
            # order makes the first component
            imbalance = round(abs(2 * ma - total) / total, 9) if total else 0.0
            return (imbalance, -min(len(a), len(cands) - len(a)), hid)

        return min(bridges, key=score)

    def side_near_crew(hid, at):
        a, b = station.hatches[hid].between
        return a if S.walk(crew_at, a) <= S.walk(crew_at, b) else b

    def build(cands: set, t0: float, at: str, k: int) -> str:
        cands = {c for c in cands if prior.get(c, 0.0) > 0 or len(cands) == 1}
        if len(cands) == 1:
            return leaf(next(iter(cands)), t0, k)
        name = new_name("step")
        node = Node(name)
        nodes[name] = node
        hid = choose_cut(cands)
        side = side_near_crew(hid, at)
        parts = S.parts_without([hid])
        check_reserve(parts, f"{strategy} {name} (close {hid})")
        a_part, b_part = parts
        # measure the part without the crew (their breathing moves the pressure of theirs: 7 people lower
        # a closed 75 m^3 module by ~0.5 mmHg/h, more than a small leak); the other is known by elimination
        measured, other = (b_part, a_part) if crew_at in a_part else (a_part, b_part)
        of = sorted(measured & set(S.places), key=list(S.places).index)[0]
        w, level = _window(station, [hid], of, rate, threshold, window(measured))
        close_t = station.hatches[hid].close_time
        open_t = station.hatches[hid].open_time
        dt = S.walk(at, side) + close_t + w + open_t
        node.close, node.sides = [hid], [side]
        c_in, c_out = cands & measured, cands & other
        child_in = build(c_in, t0 + dt, side, k + 1) if c_in else None
        child_out = build(c_out, t0 + dt, side, k + 1) if c_out else None
        node.measure = [(of, w, child_in or child_out, level)]
        node.otherwise = child_out or child_in
        node.duration = dt
        node.children = [c for c in (child_in, child_out) if c]
        return name

    def build_all(cands: set) -> str:
        name = "step1"
        node = Node(name, reopen=False)
        nodes[name] = node
        hids = [h for h in station.hatches if station.hatches[h].open]
        # farthest first, standing on the side nearer the crew, so the way back stays open
        order = sorted(hids, key=lambda h: -min(S.walk(crew_at, x) for x in station.hatches[h].between))
        t, at = 0.0, crew_at
        isolated_at: dict[str, float] = {}
        for hid in order:
            side = side_near_crew(hid, crew_at)
            t += S.walk(at, side) + station.hatches[hid].close_time
            for c in station.hatches[hid].between:
                isolated_at[c] = t  # the last of its hatches to close isolates it
            S.G.remove_edge(*station.hatches[hid].between)
            at = side
            node.close.append(hid)
            node.sides.append(side)
        for hid in order:
            S.G.add_edge(*station.hatches[hid].between, hatch=hid)
        parts = [{c} for c in S.places]
        check_reserve(parts, f"all (crew in {crew_at})")
        # every part but the crew's is measured (their breathing moves theirs); the crew's is known by
        # elimination (when the crew's compartment is no candidate, the one with the longest window is)
        rank = list(S.places).index  # ties in station order, not in a set's (hash-seeded) order
        cl = sorted(cands, key=lambda c: (window({c}), rank(c)))
        last = crew_at if crew_at in cands else cl[-1]
        measured = [c for c in cl if c != last]
        found = {c: _window(station, hids, c, rate, threshold, window({c}), t - isolated_at.get(c, 0.0))
                 for c in measured}
        w = max((x[0] for x in found.values()), default=0.0)
        for c in measured:
            node.measure.append((c, found[c][0], leaf(c, t + w, 1), found[c][1]))
        node.otherwise = leaf(last, t + w, 1)
        node.duration = t + w
        node.children = [m[2] for m in node.measure] + [node.otherwise]
        return name

    cands = {c for c in prior if prior[c] > 0}
    root = build_all(cands) if strategy == "all" else build(cands, 0.0, crew_at, 0)
    return HuntPlan(strategy, nodes, root, times, steps, prior, not violations, violations, threshold, excluded)


def farthest_candidate(station: Station, plan: HuntPlan, crew_at: str) -> str:
    """The searched candidate farthest from the crew (by walk), most probable first among equals: the
    written scenario's leak, so that the crew's own part is not the leaking one."""
    S = _Station(station)
    reach = nx.node_connected_component(S.G, crew_at)
    cands = [c for c in plan.prior if plan.prior[c] > 0 and c in reach]
    return max(cands, key=lambda c: (S.walk(crew_at, c), plan.prior[c]))


def crew_hours(plan: HuntPlan, crew_count: int) -> tuple[float, float]:
    """Expected and worst crew hours (every crew member is held while the hunt lasts) [h]."""
    return plan.expected_time() * crew_count / 3600, plan.worst_time() * crew_count / 3600


def air_lost(plan: HuntPlan, rate: float) -> tuple[float, float]:
    """Expected and worst gas lost to the leak while it is looked for [kg]."""
    return plan.expected_time() * rate, plan.worst_time() * rate


def windows_table(plan: HuntPlan) -> list[dict]:
    """Each step with the hatches it closes and its measurement windows, for the report."""
    out = []
    for n in plan.nodes.values():
        if n.site is None:
            out.append({"step": n.name, "close": n.close,
                        "measure": [{"of": of, "window_s": w, "decide_below_Pa_s": lv} for of, w, _, lv in n.measure],
                        "duration_s": n.duration})
    return out
