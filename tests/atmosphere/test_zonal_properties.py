"""Property tests: random small networks keep the ledger balanced and pressures sane."""

import numpy as np
from conftest import make_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sim.atmosphere import SolverOptions, ZonalSolver, masses_from_partial_pressures

# no example database: nothing is written to .hypothesis/
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

volumes = st.floats(1e-3, 1e4).map(float)
areas = st.sampled_from([0.0, 1e-6, 1e-4, 1e-2, 0.5])


@st.composite
def networks(draw):
    n = draw(st.integers(1, 5))
    V = draw(st.lists(volumes, min_size=n, max_size=n))
    edges = [(draw(st.integers(0, i - 1)), i) for i in range(1, n)]
    if n > 2 and draw(st.booleans()):
        edges.append((0, n - 1))
    e = len(edges)
    net = make_network(
        V, edges,
        T=draw(st.lists(st.floats(250.0, 320.0), min_size=n, max_size=n)),
        hatch_area=draw(st.lists(areas, min_size=e, max_size=e)) or 0.5,
        valve_area=draw(st.lists(areas, min_size=e, max_size=e)) or 0.0,
        hatch_open=draw(st.lists(st.booleans(), min_size=e, max_size=e)) or None,
        valve_open=draw(st.lists(st.booleans(), min_size=e, max_size=e)) or None,
    )
    pp = np.array(draw(st.lists(st.tuples(st.floats(0, 1e5), st.floats(0, 3e4), st.floats(0, 2e3)),
                                min_size=n, max_size=n)))
    return net, masses_from_partial_pressures(pp, net.volume, net.temperature)


def check(s):
    p = s.pressure()
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert np.all(np.isfinite(s.partial_pressures())) and np.all(s.partial_pressures() >= 0)
    assert np.abs(s.ledger.residual(s.masses().sum(0))).max() < 1e-9
    assert np.all(s.masses() >= 0)


@settings(max_examples=10, **SETTINGS)
@given(networks(), st.sampled_from(["merge", "orifice"]), st.sampled_from(["isothermal", "adiabatic"]),
       st.data())
def test_random_network_ledger_balance(netm, hatch_model, thermo, data):
    net, m0 = netm
    s = ZonalSolver(net, m0, SolverOptions(hatch_model=hatch_model, thermo=thermo))
    n = net.n
    for k in range(data.draw(st.integers(0, 3))):
        s.add_leak(f"l{k}", data.draw(st.integers(0, n - 1)), data.draw(st.sampled_from([1e-8, 1e-5, 1e-2, 1.0])))
    if data.draw(st.booleans()):
        s.add_supply("tank", data.draw(st.lists(st.floats(0, 5.0), min_size=3, max_size=3)))
        s.set_supply_flow("tank", data.draw(st.integers(0, n - 1)), data.draw(st.floats(0, 1e-2)))
    if data.draw(st.booleans()):
        s.set_source("crew", data.draw(st.integers(0, n - 1)), np.array([0.0, -0.84, 1.0]) / 86400)
    if data.draw(st.booleans()):
        s.set_scrubber("cdra", data.draw(st.integers(0, n - 1)), data.draw(st.floats(0, 0.1)))
    times = np.cumsum(data.draw(st.lists(st.floats(0.0, 120.0), min_size=1, max_size=3)))
    s.sample(times)
    check(s)
    if net.n_edges:
        s.set_hatch_open(0, not s._hatch_open[0])
        s.set_valve_open(0, True)
        s.advance(s.t + 100.0)
        check(s)


class HatchMachine(RuleBasedStateMachine):
    """Open and close hatches and valves, start and scale leaks, repress, at random times."""

    @initialize(netm=networks(), hatch_model=st.sampled_from(["merge", "orifice"]))
    def build(self, netm, hatch_model):
        net, m0 = netm
        self.s = ZonalSolver(net, m0, SolverOptions(hatch_model=hatch_model))
        self.n, self.e = net.n, net.n_edges
        self.leaks = 0
        self.s.add_supply("n2o2", [50.0, 15.0, 0.0])

    @rule(j=st.integers(0, 10), is_open=st.booleans())
    def hatch(self, j, is_open):
        if self.e:
            self.s.set_hatch_open(j % self.e, is_open)

    @rule(j=st.integers(0, 10), is_open=st.booleans())
    def valve(self, j, is_open):
        if self.e:
            self.s.set_valve_open(j % self.e, is_open)

    @rule(c=st.integers(0, 10), cda=st.sampled_from([1e-7, 1e-4, 0.1, 2.0]))
    def start_leak(self, c, cda):
        self.s.add_leak(f"leak{self.leaks}", c % self.n, cda)
        self.leaks += 1

    @rule(k=st.integers(0, 10), scale=st.sampled_from([0.0, 0.5, 3.0]))
    def scale_leak(self, k, scale):
        if self.leaks:
            lid = f"leak{k % self.leaks}"
            self.s.set_leak_cda(lid, self.s._leaks[lid][1] * scale)

    @rule(c=st.integers(0, 10), rate=st.sampled_from([0.0, 1e-3, 0.1]))
    def repress(self, c, rate):
        self.s.set_supply_flow("n2o2", c % self.n, rate)

    @rule(dt=st.floats(0.0, 300.0))
    def wait(self, dt):  # [s]
        self.s.advance(self.s.t + dt)

    @invariant()
    def sane(self):
        if hasattr(self, "s"):
            check(self.s)


HatchMachine.TestCase.settings = settings(max_examples=10, stateful_step_count=10, **SETTINGS)
TestHatchMachine = HatchMachine.TestCase
