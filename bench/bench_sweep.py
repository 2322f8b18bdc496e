"""Sweep throughput: a 1,000-run sweep with the leak rate log-uniform over 0.1-100 lb/day.

Runs/s on 1 and 2 local worker processes and on a 2-worker Dask LocalCluster; prints a table and
writes JSON. Uses the flagship scenario ``scenarios/iss-prk-2026.yaml`` when it exists, else a PrK
leak on the ISS station (``tests/data/sweep/iss-leak.yaml``). Targets: 2 workers >= 1.8x one
worker; Dask within 15 % of the local pool.

    python bench/bench_sweep.py [--n 1000] [--json bench/bench_sweep.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "iss-prk-2026.yaml"
FALLBACK = ROOT / "tests" / "data" / "sweep" / "iss-leak.yaml"


def _leak_path(scenario: Path) -> str:
    from sim.scenario.load import load_scenario

    leaks = load_scenario(scenario).scenario.leaks
    rated = [leak.id for leak in leaks if leak.rate is not None] or [leak.id for leak in leaks]
    return f"leaks.{rated[0]}.rate"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "bench_sweep.json")
    args = ap.parse_args(argv)

    from sim.sweep import load, parse_vary, run_sweep

    scenario = FLAGSHIP if FLAGSHIP.exists() else FALLBACK
    spec = parse_vary(f"{_leak_path(scenario)}=loguniform(0.1, 100) lb/day")
    configs = [("process, 1 worker", {"executor": "process", "workers": 1}),
               ("process, 2 workers", {"executor": "process", "workers": 2}),
               ("dask LocalCluster, 2 workers", {"dask": "local", "workers": 2})]
    rows, tables = [], []
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        for name, kw in configs:
            out = work / name.replace(" ", "_").replace(",", "")
            report = run_sweep(scenario, [spec], out, design="random", n=args.n, seed=1, **kw)
            rows.append({"executor": name, "runs": report.ran, "failed": report.failed,
                         "seconds": round(report.seconds, 2), "runs_per_s": round(report.runs_per_second, 2)})
            tables.append(load(out).drop(columns=[]))
    finally:
        same = all(t.equals(tables[0]) for t in tables[1:])
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0]["runs_per_s"]
    for r in rows:
        r["speedup_vs_1"] = round(r["runs_per_s"] / base, 2)
    pool2 = rows[1]["runs_per_s"]
    result = {"scenario": str(scenario.relative_to(ROOT)), "varied": spec.path, "n": args.n,
              "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
              "rows": rows, "identical_tables": same,
              "scaling_2_over_1": round(pool2 / base, 2), "dask_vs_pool": round(rows[2]["runs_per_s"] / pool2, 2)}
    print(f"{args.n}-run sweep of {result['scenario']}, {spec.path} log-uniform 0.1-100 lb/day")
    print(f"{'executor':32} {'runs':>6} {'failed':>6} {'s':>8} {'runs/s':>8} {'x1':>6}")
    for r in rows:
        print(f"{r['executor']:32} {r['runs']:6d} {r['failed']:6d} {r['seconds']:8.2f} {r['runs_per_s']:8.2f} "
              f"{r['speedup_vs_1']:6.2f}")
    print(f"identical tables: {same}; 2 workers / 1: {result['scaling_2_over_1']}x (target >= 1.8); "
          f"Dask / pool: {result['dask_vs_pool']} (target >= 0.85)")
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
