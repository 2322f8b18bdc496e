"""Shared fixtures and builders for the atmosphere tests."""

import numpy as np
import pytest

from sim.atmosphere import R_SPECIES, GasNetwork, masses_from_partial_pressures

#: N2/O2 mass fractions whose mixture gas constant is air's 287.05 J/(kg K).
Y_N2_AIR = (287.05 - R_SPECIES[1]) / (R_SPECIES[0] - R_SPECIES[1])


def air_masses(p, V, T=295.0):
    """Species masses [kg] (n, 3) of 'air' (R = 287.05) at pressure p [Pa]."""
    V = np.atleast_1d(np.asarray(V, float))
    p = np.broadcast_to(np.asarray(p, float), V.shape)
    T = np.broadcast_to(np.asarray(T, float), V.shape)
    M = p * V / (287.05 * T)
    return np.stack([M * Y_N2_AIR, M * (1 - Y_N2_AIR), 0 * M], axis=1)


def make_network(volumes, edges=(), T=295.0, hatch_area=0.5, hatch_cd=0.6, valve_area=0.0, valve_cd=0.6,
                 hatch_open=None, valve_open=None):
    """Small GasNetwork from a list of volumes and (u, v) edges."""
    n, e = len(volumes), len(edges)
    edges = np.array(edges, int).reshape(e, 2)
    full = lambda x: np.broadcast_to(np.asarray(x, float), (e,)).copy()
    return GasNetwork(
        names=tuple(f"c{i}" for i in range(n)),
        volume=np.asarray(volumes, float),
        temperature=np.broadcast_to(np.asarray(T, float), (n,)).copy(),
        edge_names=tuple(f"h{j}" for j in range(e)),
        edge_u=edges[:, 0], edge_v=edges[:, 1],
        hatch_area=full(hatch_area), hatch_cd=full(hatch_cd),
        valve_area=full(valve_area), valve_cd=full(valve_cd),
        hatch_open=hatch_open, valve_open=valve_open,
    )


def scaled_error(y, y_true, rtol, atol):
    """scipy-style scaled error; the check is ``max() < 1``."""
    return np.abs(np.asarray(y) - y_true) / (atol + rtol * np.abs(y_true))


@pytest.fixture
def rng():
    return np.random.default_rng(20260101)


__all__ = ["Y_N2_AIR", "air_masses", "make_network", "masses_from_partial_pressures", "scaled_error"]
