"""Benchmark of the leak hunt: ``estimate`` and ``hunt`` as ratios of their forward model's run time.

Run: ``python bench/bench_leakhunt.py [--json bench/results/leakhunt.json]``.

Cases:
  estimate-synthetic  a 24 h synthetic record (tests/leakhunt/calibration.py: three compartments,
                      three gauges every 2 min with 0.1 mmHg steps, a ±1 K daily swing), against one
                      forward-model run (the solver over the record, with its temperature log) and the
                      engine run that made the record
  estimate-iss        the 24 h ISS telemetry record (scenarios/records/iss-destiny-2019.yaml)
  hunt-iss            planning the three strategies for scenarios/hunts/iss-2-lb-day.yaml, against one
                      engine run of the written plan (its forward model)
The issue's targets: estimate on a 24 h record under 10 s, hunt on the ISS under 60 s. Wall-clock
times vary with the machine; the ratios are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from leakhunt.calibration import synthetic_case  # noqa: E402

from sim.api import load  # noqa: E402
from sim.engine import simulate  # noqa: E402
from sim.leakhunt.estimate import _expand, _select_gauges, estimate, temperature_schedule  # noqa: E402
from sim.leakhunt.forward import ForwardModel  # noqa: E402
from sim.leakhunt.plan import STRATEGIES, plan_hunt  # noqa: E402
from sim.scenario.hunt_load import load_hunt  # noqa: E402
from sim.scenario.record_load import load_record  # noqa: E402
from sim.station import gas_network  # noqa: E402


def _best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _forward_once(record):
    gauges, _ = _select_gauges(record)
    expanded = [_expand(g, record.duration) for g in gauges]
    fm = ForwardModel(record, gauges, [t for t, _, _ in expanded], temperature_schedule(record, gas_network(record.station)))
    site = next(iter(record.candidates))
    return lambda: fm.run(site, 1e-8)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t0 = time.perf_counter()
        record, _, _ = synthetic_case(d, 1, hours=24.0)
        engine_s = time.perf_counter() - t0
        est_s = _best(lambda: estimate(record), 2)
        fwd_s = _best(_forward_once(record))
        rows.append({"case": "estimate-synthetic", "seconds": est_s, "forward_run_s": fwd_s, "ratio": est_s / fwd_s,
                     "engine_run_s": engine_s, "ratio_to_engine": est_s / engine_s})
        iss = load_record(ROOT / "scenarios" / "records" / "iss-destiny-2019.yaml")
        est_s = _best(lambda: estimate(iss), 2)
        fwd_s = _best(_forward_once(iss))
        rows.append({"case": "estimate-iss", "seconds": est_s, "forward_run_s": fwd_s, "ratio": est_s / fwd_s})
        lh = load_hunt(ROOT / "scenarios" / "hunts" / "iss-2-lb-day.yaml")
        h = lh.hunt

        def plan_all():
            return {s: plan_hunt(lh.station, lh.prior, h.leak.rate, h.gauge.resolution, h.gauge.noise, h.confidence,
                                 h.crew.at, s, h.min_treserve) for s in STRATEGIES}

        hunt_s = _best(plan_all, 1)
        from sim.leakhunt.procedure_writer import plan_procedure, plan_scenario

        plan = plan_all()["all"]
        (d / "procedure.yaml").write_text(plan_procedure(plan, h.gauge.resolution, h.gauge.noise, "bench"))
        (d / "scenario.yaml").write_text(plan_scenario(str(lh.station_path), plan, h.leak.rate, h.crew.at, h.crew.count, "prk"))
        loaded = load(d / "scenario.yaml")
        run_s = _best(lambda: simulate(loaded), 1)
        rows.append({"case": "hunt-iss", "seconds": hunt_s, "forward_run_s": run_s, "ratio": hunt_s / run_s})
    print(f"{'case':22s} {'seconds':>9s} {'forward run s':>14s} {'ratio':>8s}")
    for r in rows:
        print(f"{r['case']:22s} {r['seconds']:9.3f} {r['forward_run_s']:14.4f} {r['ratio']:8.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
