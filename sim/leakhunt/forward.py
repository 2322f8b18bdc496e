"""The forward model of a leak record: the atmosphere solver run over the record's hatch history.

For a candidate compartment and an effective leak area C_d·A it gives what each gauge would read
(total pressure or ppN2) relative to its value without a leak at t = 0, and the state at the record's
end. Everything the solver models enters: zones formed by the open hatches, their merging and
splitting as hatches change, seal leakage across closed hatches. The solver is started from the
station's nominal atmosphere; a leak (choked, ∝ mass) and the orifice flows between zones are
homogeneous of degree one in the masses, so a record that starts at another pressure is the same
solution scaled, which the estimator's per-gauge scale factor absorbs exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.atmosphere import R_SPECIES, make_solver
from sim.leakhunt.record import LeakRecord
from sim.station import gas_network, initial_masses

__all__ = ["ForwardModel", "ForwardRun"]


@dataclass(frozen=True)
class ForwardRun:
    """One forward run.

    Attributes
    ----------
    gauge : list of ndarray  each gauge's modelled value at its times [Pa] (no temperature factor)
    p_end : ndarray (n,)  total pressure of every compartment at the end [Pa]
    zones_end : list of index arrays  the zones at the end (the hatch states then)
    """

    gauge: list[np.ndarray]
    p_end: np.ndarray
    zones_end: list


class ForwardModel:
    """Runs of the solver over one record's hatch history, for any leak site and C_d·A.

    Parameters
    ----------
    record : LeakRecord
    gauges : list of GaugeSeries
        The gauges to model (each one's ``at`` and ``reads``).
    times : list of ndarray
        Per gauge, the times [s] at which its value is wanted.
    temperature : (ndarray (k,), ndarray (k, n)), optional
        Update instants [s] and the temperature of every compartment from each on [K]; applied to
        the solver as the engine applies a scenario's ``cabin_temperature`` (p ∝ T at fixed mass,
        the leak's rate per unit mass ∝ sqrt(T)).
    """

    def __init__(self, record: LeakRecord, gauges: list, times: list[np.ndarray], temperature: tuple | None = None):
        st = record.station
        self.record = record
        self.net = gas_network(st, hatch_open=record.hatch_initial, valve_open={h: False for h in st.hatches})
        self.index = {n: i for i, n in enumerate(self.net.names)}
        self.edge = {h: j for j, h in enumerate(self.net.edge_names)}
        self.m0 = initial_masses(st)
        self.times = [np.asarray(t, float) for t in times]
        allt = np.concatenate([*self.times, [record.duration]])
        self.t_all = np.unique(allt)
        self._where = [np.searchsorted(self.t_all, t) for t in self.times]
        self._gauge_ix = [(self.index[g.at], g.reads) for g in gauges]
        self.runs = 0
        changes = [(float(te), 1, (hatch, is_open)) for te, hatch, is_open in record.hatch_events]
        if temperature is not None:
            changes += [(float(tk), 0, Tk) for tk, Tk in zip(*temperature, strict=True)]
        # temperature first at a shared instant, as the engine's temperature process runs first
        self.changes = sorted(changes, key=lambda c: (c[0], c[1]))
        self.hatch_changes = [c for c in self.changes if c[1] == 1]

    def run(self, site: str, cda: float, *, temperature: bool = True) -> ForwardRun:
        """Run the record with a leak of *cda* [m^2] in *site* (without the temperature logs: faster,
        for questions of topology such as which gauges see the site)."""
        self.runs += 1
        solver = make_solver("zonal", self.net, self.m0)
        if cda > 0:
            solver.add_leak("leak", self.index[site], cda)
        t = self.t_all
        p = np.empty((len(t), self.net.n))
        n2 = np.empty((len(t), self.net.n))
        k = 0
        for te, kind, change in self.changes if temperature else self.hatch_changes:
            # a sample at a change is taken before it, except at t = 0 (as in the engine)
            stop = int(np.searchsorted(t, te, side="right")) if te > 0 else 0
            if stop > k:
                s = solver.sample(t[k:stop])
                p[k:stop], n2[k:stop] = s.pressure, s.partial_pressure[..., 0]
                k = stop
            solver.advance(max(te, solver.t))
            if kind == 0:
                solver.set_temperatures(change)
            else:
                solver.set_hatch_open(self.edge[change[0]], change[1])
        if k < len(t):
            s = solver.sample(t[k:])
            p[k:], n2[k:] = s.pressure, s.partial_pressure[..., 0]
        gauge = [(p if reads == "total" else n2)[w, i] for (i, reads), w in zip(self._gauge_ix, self._where, strict=True)]
        end = int(np.searchsorted(t, self.record.duration))
        return ForwardRun(gauge, p[min(end, len(t) - 1)].copy(), solver.zones())

    def zone_volume_end(self, site: str, run: ForwardRun) -> float:
        """Free gas volume of the zone holding *site* at the record's end [m^3]."""
        i = self.index[site]
        zone = next(z for z in run.zones_end if i in z)
        return float(self.net.volume[zone].sum())

    def gas_constant(self, site: str) -> float:
        """Gas constant of the site's starting mixture [J/(kg K)]."""
        m = self.m0[self.index[site]]
        return float(m @ R_SPECIES / m.sum())
