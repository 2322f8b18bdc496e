"""Wall time of whole scenario runs (load excluded, run and summary included).

Usage: python bench/bench_scenarios.py [--repeat N] [--json OUT]

Prints a table and writes JSON (default bench/results/scenarios.json). Each scenario is loaded
once and run N times; the best and median wall times are reported, with simulated seconds per
wall second. Runs are single-threaded (one core).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import sim
from sim.engine import simulate

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [
    "scenarios/iss-prk-2026.yaml",
    "scenarios/iss-emergency-depress.yaml",
    "scenarios/two-volumes-valve.yaml",
]


def measure(path: str, repeat: int) -> dict:
    loaded = sim.load(ROOT / path)
    simulate(loaded)  # warm-up: imports, caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = simulate(loaded)
        times.append(time.perf_counter() - t0)
    duration = loaded.scenario.duration
    return {
        "scenario": path,
        "simulated_s": duration,
        "events": len(result.events),
        "best_s": min(times),
        "median_s": statistics.median(times),
        "realtime_factor": duration / min(times),
        "outcome": result.summary["outcome"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "scenarios.json")
    args = parser.parse_args()
    rows = [measure(p, args.repeat) for p in SCENARIOS]
    header = f"{'scenario':42} {'sim time':>9} {'events':>7} {'best s':>8} {'median s':>9} {'x real time':>12}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['scenario']:42} {r['simulated_s'] / 3600:8.1f}h {r['events']:7d} {r['best_s']:8.3f} "
              f"{r['median_s']:9.3f} {r['realtime_factor']:12,.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "repeat": args.repeat}
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
