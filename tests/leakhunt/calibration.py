"""Synthetic records for the calibration test and the benchmark: a known leak, read through gauges."""

from __future__ import annotations

import numpy as np

from sim.api import load
from sim.engine import simulate
from sim.leakhunt.synthetic import record_from_run

STATION = """\
name: Calibration pair
temperature: 295 K
compartments:
  module: {volume: 40 m^3}
  tunnel: {volume: 5 m^3}
  node: {volume: 20 m^3}
# the tunnel is closed off all along; module and node share a zone until their hatch closes half-way
hatches:
  module-tunnel: {between: [module, tunnel], open: false}
  module-node: {between: [module, node]}
gauges:
  module-p: {at: module, resolution: 0.1 mmHg, noise: 0.03 mmHg, every: 120 s}
  tunnel-p: {at: tunnel, resolution: 0.1 mmHg, noise: 0.03 mmHg, every: 120 s}
  node-p: {at: node, resolution: 0.1 mmHg, noise: 0.03 mmHg, every: 120 s}
"""


def scenario_text(site: str, rate_lb_day: float, hours: float, phase_h: float) -> str:
    return f"""\
name: calibration
station: station.yaml
duration: {hours} h
output: {{every: 120 s}}
leaks: [{{id: leak, at: {site}, rate: {rate_lb_day!r} lb/day}}]
events: [{{at: {hours / 2!r} h, hatch: module-node, state: closed}}]
cabin_temperature:
  of:
    station: {{amplitude: 1 K, period: 24 h, phase: {phase_h!r} h}}
"""


def synthetic_case(directory, seed: int, hours: float = 6.0):
    """(record, true site, true Cd·A [m^2]) for one seed: site, rate and temperature phase drawn from it."""
    rng = np.random.default_rng(seed)
    site = ("module", "tunnel", "node")[seed % 3]
    rate = float(np.exp(rng.uniform(np.log(0.5), np.log(5.0))))
    phase = float(rng.uniform(0, 24))
    (directory / "station.yaml").write_text(STATION)
    path = directory / f"case-{seed}.yaml"
    path.write_text(scenario_text(site, round(rate, 4), hours, round(phase, 3)))
    result = simulate(load(path), seed=seed)
    cda = result.summary["leaks"]["leak"]["cda_m2"]
    return record_from_run(result, name=f"seed {seed}"), site, cda
