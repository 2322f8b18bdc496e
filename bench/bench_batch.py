"""Batch mode at scale: a 100,000-run and a 1,000,000-run sweep of ``iss-prk-closed`` (leak rate varied).

Each sweep runs as a user runs it, ``safehaven sweep scenarios/iss-prk-closed.yaml --vary
"leaks.prk-crack.rate=loguniform(0.1, 100) lb/day" --design random --n N --workers 2`` (the engine
chosen automatically: batch mode), in a separate process; the bench measures its wall time, runs/s,
and the peak resident memory of the whole process tree
and its CPU time (both sampled from /proc every 0.2 s). Then, each in a fresh process, ``sim.sweep.load(DIR)`` and
``sim.sweep.load(DIR, columns=[...])``: time and peak RSS. Equality: a sample of members (the ends
of the range and random ones) is run alone through the ordinary engine and compared column by
column with the batch's rows: the largest relative difference of any number, and whether every
text and flag is equal. Prints a table with the load average beside it and writes
``bench/results/batch.json``. Targets (issue 12): 100,000 runs in <= 60 s on 2 cores; the
1,000,000-run sweep runs and loads within memory; members equal single runs within 1e-9.

    python bench/bench_batch.py [--n 100000] [--large 1000000 | --large 0] [--check 40]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "iss-prk-closed.yaml"
RATE = "leaks.prk-crack.rate"
SPEC = f"{RATE}=loguniform(0.1, 100) lb/day"
SAFEHAVEN = Path(sys.executable).with_name("safehaven")


def _tree(root: int, cpu: dict[int, float]) -> int:
    """Resident memory of *root* and all its descendants now [bytes]; their CPU time so far [s]
    goes into *cpu* (per process, the largest seen: a process that has exited keeps its last)."""
    parent: dict[int, int] = {}
    ticks: dict[int, float] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                parent[int(d.name)] = int(fields[1])
                ticks[int(d.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for c, pp in parent.items():
            if pp == p and c not in tree:
                tree.add(c)
                frontier.append(c)
    for pid in tree:
        cpu[pid] = max(cpu.get(pid, 0.0), ticks.get(pid, 0.0))
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _measured(cmd: list[str], log: Path) -> dict:
    """Run *cmd*; its wall time [s], the peak resident memory of its process tree [MB] and the CPU
    time of the tree [s] (sampled, so the last 0.2 s of each process may be missing)."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        peak = [0]
        cpu: dict[int, float] = {}

        def sample():
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree(proc.pid, cpu))
                time.sleep(0.2)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        code = proc.wait()
        watcher.join()
    wall = time.perf_counter() - t0
    return {"exit": code, "seconds": round(wall, 2), "peak_rss_mb": round(peak[0] / 2**20, 1),
            "cpu_s": round(sum(cpu.values()), 1)}


def _load_cmd(directory: Path, columns: list[str] | None) -> list[str]:
    code = ("import sys, time, sim.sweep; t = time.perf_counter(); "
            f"df = sim.sweep.load({str(directory)!r}{'' if columns is None else f', columns={columns!r}'}); "
            "print(len(df), len(df.columns), round(time.perf_counter() - t, 2))")
    return [sys.executable, "-c", code]


def _sweep(n: int, out: Path, logs: Path) -> dict:
    cmd = [str(SAFEHAVEN), "sweep", str(SCENARIO), "--vary", SPEC, "--design", "random", "--n", str(n),
           "--seed", "1", "--workers", "2", "--out", str(out)]
    run = _measured(cmd, logs / f"sweep-{n}.log")
    text = (logs / f"sweep-{n}.log").read_text()
    run["engine"] = "batch" if "engine: batch mode" in text else "single"
    run["runs_per_s"] = round(n / run["seconds"], 1)
    full = _measured(_load_cmd(out, None), logs / f"load-{n}.log")
    cols = _measured(_load_cmd(out, ["p_min_Pa", "reserve_floor_t_s"]), logs / f"load-cols-{n}.log")
    shape = (logs / f"load-{n}.log").read_text().split()
    parts = len(list((out / "parts").glob("part-*.parquet")))
    size = sum(p.stat().st_size for p in (out / "parts").glob("part-*.parquet"))
    return {"n": n, "sweep": run, "load": full, "load_columns": cols, "rows": int(shape[0]) if shape else None,
            "columns": int(shape[1]) if len(shape) > 1 else None, "parts": parts,
            "parts_mb": round(size / 2**20, 1)}


def _equality(out: Path, check: int) -> dict:
    """Largest relative difference between batch rows and single runs of a sample of members."""
    import numpy as np

    import sim.sweep
    from sim.scenario.yamlio import load_yaml
    from sim.sweep.metrics import metrics_row  # noqa: F401  (rows are metrics rows)
    from sim.sweep.worker import run_one

    df = sim.sweep.load(out)
    rate = df[RATE].to_numpy()
    picks = {int(np.argmin(rate)), int(np.argmax(rate))}
    picks |= set(np.random.default_rng(0).choice(len(df), size=min(check, len(df)), replace=False).tolist())
    alarms = df["n_alarms"].to_numpy()
    picks |= {int(np.flatnonzero(alarms == a)[0]) for a in np.unique(alarms)}  # every count of alarms
    doc = load_yaml(SCENARIO)
    worst, differ, compared = 0.0, [], 0
    for i in sorted(picks):
        row = run_one(doc, 1, i, (f"{RATE}={float(rate[i])!r} lb/day",))
        for k, v in row.items():
            if k not in df.columns:
                differ.append(f"{i}:{k} missing")
                continue
            got = df[k].iloc[i]
            got = got.item() if hasattr(got, "item") else got
            compared += 1
            if isinstance(v, float) or (v is None and isinstance(got, float)):
                v = math.nan if v is None else v
                if math.isnan(v) and math.isnan(got):
                    continue
                if math.isfinite(v) and math.isfinite(got) and v != got:
                    worst = max(worst, abs(v - got) / max(abs(v), abs(got)))
                elif v != got:
                    differ.append(f"{i}:{k} {got!r} vs {v!r}")
            elif got != v:
                differ.append(f"{i}:{k} {got!r} vs {v!r}")
    return {"members": len(picks), "values": compared, "max_rel_error": worst, "differing": differ[:10],
            "alarm_counts": sorted(int(a) for a in np.unique(alarms))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=1_000_000, help="the large sweep's runs (0: skip it)")
    ap.add_argument("--check", type=int, default=40, help="members run alone to compare")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "batch.json")
    ap.add_argument("--keep", type=Path, help="keep the sweep directories here")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    result = {"scenario": str(SCENARIO.relative_to(ROOT)), "varied": SPEC,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "sweeps": []}
    try:
        for n in [args.n] + ([args.large] if args.large else []):
            load_before = os.getloadavg()
            row = _sweep(n, work / f"s{n}", work)
            row["loadavg_before"] = [round(x, 2) for x in load_before]
            row["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            if n == args.n:
                row["equality"] = _equality(work / f"s{n}", args.check)
            result["sweeps"].append(row)
            if args.keep is None:
                shutil.rmtree(work / f"s{n}", ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"batch-mode sweeps of {result['scenario']}, {SPEC}, 2 workers")
    print(f"{'runs':>9} {'engine':>7} {'sweep s':>8} {'runs/s':>8} {'CPU s':>7} {'peak MB':>8} "
          f"{'load s':>7} {'load MB':>8} {'cols s':>7} {'cols MB':>8} {'parts':>6} {'loadavg':>16}")
    for r in result["sweeps"]:
        s, ld, lc = r["sweep"], r["load"], r["load_columns"]
        print(f"{r['n']:9d} {s['engine']:>7} {s['seconds']:8.1f} {s['runs_per_s']:8.0f} {s['cpu_s']:7.1f} "
              f"{s['peak_rss_mb']:8.0f} {ld['seconds']:7.1f} {ld['peak_rss_mb']:8.0f} {lc['seconds']:7.1f} "
              f"{lc['peak_rss_mb']:8.0f} {r['parts']:6d} {'/'.join(f'{x:.1f}' for x in r['loadavg_before']):>16}")
    eq = result["sweeps"][0].get("equality")
    if eq:
        print(f"equality: {eq['members']} members run alone ({eq['values']} values): max relative error "
              f"{eq['max_rel_error']:.3g} (target <= 1e-9), texts and flags differing: {len(eq['differing'])}; "
              f"alarm counts seen {eq['alarm_counts']}")
    first = result["sweeps"][0]["sweep"]
    print(f"{args.n} runs in {first['seconds']:.1f} s (target <= 60 s on 2 cores); CPU {first['cpu_s']:.0f} s, "
          f"i.e. {first['cpu_s'] / 2:.0f} s on 2 otherwise idle cores; read with the load average beside it")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
