"""Solver snapshots (contract item 8): independent of the original, and computing exactly what it would."""

from __future__ import annotations

import numpy as np

from sim.atmosphere import GasNetwork, SolverOptions, ZonalSolver, masses_from_partial_pressures


def _solver():
    names = ("a", "b", "c")
    net = GasNetwork(names, np.array([20.0, 5.0, 40.0]), np.full(3, 295.0), ("ab", "bc"),
                     np.array([0, 1]), np.array([1, 2]), np.full(2, 0.5), np.full(2, 0.6), np.full(2, 1e-4),
                     np.full(2, 0.6), np.array([True, False]), np.array([False, True]))
    m0 = masses_from_partial_pressures(np.tile([79e3, 21e3, 0.4e3], (3, 1)), net.volume, net.temperature)
    s = ZonalSolver(net, m0, SolverOptions())
    s.add_leak("crack", 2, 2e-6)
    s.add_supply("tank", np.array([1.0, 2.0, 0.0]))
    s.set_supply_flow("tank", 0, 3e-4)  # empty after 10,000 s
    s.set_source("crew", 1, np.array([0.0, -1e-5, 1.2e-5]))
    s.advance(300.0)
    return s


def test_a_snapshot_advanced_leaves_the_original_as_it_was():
    s = _solver()
    before = (s.t, s.masses().copy(), s.ledger.leaked.copy(), dict(s.ledger.leaked_by_leak),
              s.supply_remaining("tank").copy(), list(s.events))
    twin = s.snapshot()
    twin.sample(np.linspace(300.0, 20000.0, 50))  # the tank runs dry on the way
    assert twin.supply_exhausted_at("tank") is not None and s.supply_exhausted_at("tank") is None
    assert s.t == before[0]
    np.testing.assert_array_equal(s.masses(), before[1])
    np.testing.assert_array_equal(s.ledger.leaked, before[2])
    assert s.ledger.leaked_by_leak.keys() == before[3].keys()
    np.testing.assert_array_equal(s.ledger.leaked_by_leak["crack"], before[3]["crack"])
    np.testing.assert_array_equal(s.supply_remaining("tank"), before[4])
    assert s.events == before[5]


def test_a_snapshot_computes_exactly_what_the_original_would():
    a, b = _solver(), _solver()
    times = np.linspace(300.0, 20000.0, 50)
    twin = a.snapshot()
    np.testing.assert_array_equal(twin.sample(times).partial_pressure, b.sample(times).partial_pressure)
    np.testing.assert_array_equal(twin.ledger.leaked, b.ledger.leaked)
    assert twin.events == b.events
