"""The zonal solver's plain-float path for a few zones computes exactly what its array path does.

A station has a handful of zones, where numpy's cost per call dominates; the solver then runs its
implicit flow step on plain floats. The two paths must agree bit for bit (the golden events depend
on it), in every branch of the orifice law (choked, subsonic, linear near equilibrium), with flow
either way along an edge and with several paths between the same two zones.
"""

import numpy as np
import pytest

import sim.atmosphere.zonal as zonal
from sim.atmosphere import GasNetwork, SolverOptions, ZonalSolver, masses_from_partial_pressures


def _network(rng, n):
    e = n + 1
    u = rng.integers(0, n, e)
    v = (u + 1 + rng.integers(0, n - 1, e)) % n
    u[-1], v[-1] = u[0], v[0]  # two paths between the same zones
    return GasNetwork(tuple(f"c{i}" for i in range(n)), rng.uniform(5.0, 100.0, n), rng.uniform(280.0, 300.0, n),
                      tuple(f"h{j}" for j in range(e)), u, v, np.full(e, 0.5), np.full(e, 0.6),
                      rng.choice([1e-3, 5e-3, 2e-2], e), np.full(e, 0.6), rng.random(e) < 0.3, rng.random(e) < 0.8,
                      rng.choice([0.0, 1e-6], e))


def _run(seed, monkeypatch, scalar_max):
    monkeypatch.setattr(zonal, "_SCALAR_MAX", scalar_max)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    net = _network(rng, n)
    pp = np.stack([rng.uniform(20e3, 80e3, n), rng.uniform(5e3, 22e3, n), rng.uniform(0.0, 800.0, n)], axis=1)
    pp[0] *= rng.choice([0.01, 0.5, 0.999])  # choked, subsonic or near equilibrium at first
    s = ZonalSolver(net, masses_from_partial_pressures(pp, net.volume, net.temperature), SolverOptions())
    s.add_leak("hole", int(rng.integers(0, n)), float(rng.uniform(1e-6, 1e-4)))
    if seed % 2:
        s.set_scrubber("cdra", 0, 0.01)
        s.set_source("o2", n - 1, [0.0, 2e-5, 0.0])
    out = [s.sample(np.linspace(0.0, 300.0, 31)).partial_pressure]
    s.set_valve_open(0, not s._valve_open[0])
    out.append(s.sample(np.linspace(301.0, 900.0, 13)).partial_pressure)
    L = s.ledger
    return s, np.concatenate([a.ravel() for a in out] + [L.leaked, L.scrubbed, L.sources, s.masses().ravel()])


@pytest.mark.parametrize("seed", range(12))
def test_scalar_path_equals_array_path_bit_for_bit(seed, monkeypatch):
    s_scalar, scalar = _run(seed, monkeypatch, 8)
    s_array, array = _run(seed, monkeypatch, 0)
    assert s_scalar._scalar and not s_array._scalar
    assert scalar.tobytes() == array.tobytes()
