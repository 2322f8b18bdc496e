"""Numerical robustness through the engine: a random station (1e-3 to 1e4 m^3, holes larger than
hatches) driven by a hypothesis state machine through :class:`sim.engine.Simulation` — hatches and
valves opened and closed, leaks started and scaled, compartments pumped to vacuum and repressed, with
env time advanced between rules. After every step: per-species mass balance from the solver's ledger
to 1e-9 relative, pressures finite and >= 0; at the end the run finishes with a documented outcome.

tests/atmosphere has the solver-level machine; this one goes through the engine's public controls.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sim.atmosphere import SolverError
from sim.engine import Simulation
from sim.scenario.crossref import check_scenario, check_station
from sim.scenario.load import LoadedScenario
from sim.scenario.scenario_model import Leak, Scenario
from sim.scenario.yamlio import parse_yaml

OUTCOMES = {"crew_incapacitated", "evacuated", "crew_impaired", "sheltering", "resumed", "procedures_done",
            "procedures_running", "completed"}
"""The outcomes :meth:`sim.engine.Simulation.outcome` documents."""
STATS = {"machines": 0, "steps": 0, "solver_failures": 0}
"""Counts for tools/reliability_report.py."""


@st.composite
def stations(draw):
    n = draw(st.integers(2, 5))
    vols = draw(st.lists(st.floats(1e-3, 1e4), min_size=n, max_size=n))
    lines = ["name: Fuzz", "compartments:"] + [f"  c{i}: {{volume: {v!r}}}" for i, v in enumerate(vols)]
    lines.append("hatches:")
    for i in range(1, n):
        j = draw(st.integers(0, i - 1))
        area = draw(st.sampled_from([0.01, 0.5, 1.3]))
        valve = draw(st.sampled_from([None, 1e-4, 1e-2]))
        v = f", valve: {valve!r}" if valve else ""
        lines.append(f"  h{i}: {{between: [c{j}, c{i}], area: {area!r}, open: {str(draw(st.booleans())).lower()}{v}}}")
    lines += ["gas_supply:", "  tank: {N2: 200 kg, O2: 60 kg, into: [c0, c1], max_rate: 1 kg/s}"]
    return "\n".join(lines) + "\n"


class EngineMachine(RuleBasedStateMachine):
    """Drive one Simulation by its public controls at random times."""

    @initialize(station=stations(), hatch_model=st.sampled_from(["merge", "orifice"]),
                duration=st.sampled_from([1800.0, 3600.0]))
    def build(self, station, hatch_model, duration):
        text = (f"name: machine\nduration: {duration!r}\nsolver: {{hatch_model: {hatch_model}}}\n"
                "station:\n" + "".join(f"  {line}\n" for line in station.splitlines()))
        doc = parse_yaml(text, "machine.yaml")
        sc = Scenario.model_validate(doc.data)
        assert not check_station(sc.station, doc, ("station",)) and not check_scenario(sc, sc.station, doc)
        self.sim = Simulation(LoadedScenario(sc, sc.station, None))
        self.sim.env.process(self.sim._monitor())
        self.n, self.hatches = len(self.sim.names), list(self.sim.edge_index)
        self.valves = [h for h in self.hatches if sc.station.hatches[h].valve is not None]
        self.leaks: list[str] = []
        self.failed = False
        STATS["machines"] += 1

    def _now(self):
        return self.sim.env.now

    @precondition(lambda self: not self.failed)
    @rule(dt=st.sampled_from([0.0, 1.0, 10.0, 60.0, 600.0, 1800.0]))
    def advance(self, dt):  # [s]
        until = min(self._now() + dt, self.sim.end)
        try:
            if until > self._now():
                self.sim.env.run(until=until)
            self.sim.sync()
        except SolverError:
            self.failed = True  # a documented result: status "failed" with a message
            STATS["solver_failures"] += 1

    @precondition(lambda self: not self.failed)
    @rule(k=st.integers(0, 9), is_open=st.booleans())
    def hatch(self, k, is_open):
        self.sim.set_hatch(self.hatches[k % len(self.hatches)], is_open, by="machine")

    @precondition(lambda self: not self.failed)
    @rule(k=st.integers(0, 9), is_open=st.booleans())
    def valve(self, k, is_open):
        if self.valves:
            self.sim.set_valve(self.valves[k % len(self.valves)], is_open, by="machine")

    @precondition(lambda self: not self.failed)
    @rule(c=st.integers(0, 9), area=st.sampled_from([1e-6, 1e-4, 0.1, 2.0, 10.0]))
    def start_leak(self, c, area):  # [m^2]; 2 and 10 m^2 holes are larger than any hatch
        leak = Leak(id=f"leak{len(self.leaks)}", at=f"c{c % self.n}", area=area)
        self.sim.start_leak(leak)
        self.leaks.append(leak.id)

    @precondition(lambda self: not self.failed and self.leaks)
    @rule(k=st.integers(0, 9), scale=st.sampled_from([0.0, 0.1, 2.0, 100.0]))
    def scale_leak(self, k, scale):
        self.sim.set_leak_scale(self.leaks[k % len(self.leaks)], scale, cause="machine")

    @precondition(lambda self: not self.failed)
    @rule(into=st.sampled_from(["c0", "c1"]), rate=st.sampled_from([0.0, 1e-3, 0.1, 1.0]))
    def repress(self, into, rate):  # [kg/s]
        self.sim.set_supply("tank", into, rate, by="machine")

    @precondition(lambda self: not self.failed)
    @rule(c=st.integers(0, 9))
    def pump_to_vacuum(self, c):
        """A huge hole in one compartment, an hour, then sealed: it ends near vacuum."""
        leak = Leak(id=f"pump{len(self.leaks)}", at=f"c{c % self.n}", area=5.0)
        self.sim.start_leak(leak)
        self.leaks.append(leak.id)
        self.advance(600.0)
        if not self.failed:
            self.sim.set_leak_scale(leak.id, 0.0, cause="machine")

    @invariant()
    def balanced_and_sane(self):
        if not hasattr(self, "sim"):
            return
        STATS["steps"] += 1
        s = self.sim.solver
        p, pp = s.pressure(), s.partial_pressures()
        assert np.all(np.isfinite(p)) and np.all(p >= 0), p
        assert np.all(np.isfinite(pp)) and np.all(pp >= 0), pp
        residual = np.abs(s.ledger.residual(s.masses().sum(0)))
        assert residual.max() < 1e-9, residual

    def teardown(self):
        if hasattr(self, "sim") and not self.failed:
            try:
                if self._now() < self.sim.end:  # simpy refuses run(until=now)
                    self.sim.env.run(until=self.sim.end)
                self.sim.sync()
            except SolverError:
                STATS["solver_failures"] += 1
            assert self.sim.outcome() in OUTCOMES


EngineMachine.TestCase.settings = settings(max_examples=8, stateful_step_count=10, deadline=None, database=None,
                                           phases=[Phase.explicit, Phase.reuse, Phase.generate],
                                           suppress_health_check=[HealthCheck.too_slow])
TestEngineMachine = EngineMachine.TestCase
