"""Every speed figure of the engine's speed targets, measured with one interpreter, and compared.

Figures (each the best of N repeats, because the machine is shared and noise only ever adds time):

- per-run warm wall time of ``iss-prk-closed``, the flagship ``iss-prk-2026`` and
  ``iss-emergency-depress`` (loaded once, one warm-up run, then N runs) [s];
- whole-process wall time of ``safehaven validate`` and ``safehaven run`` on the flagship, and
  their CPU time (user + system, less sensitive to a shared machine's load) [s]; ``validate_cold``
  is ``validate`` as the first command after installing: an empty ``SAFEHAVEN_CACHE_DIR`` (no
  pint registry cache, no remembered quantities) [s];
- import time of ``import sim`` and of the console script's module ``sim.cli`` [s];
- bench case c (100/300/1,000 compartments): our many-zone solver's time and max relative error
  (the ZonalSolver's in a tree without it), and ``solve_ivp`` BDF's at rtol 1e-6, given
  ``jac_sparsity`` and, where the tree's bench provides it, an analytic sparse ``jac``; all against
  a tight Radau reference (``bench_atmosphere.py``); the cost per compartment and BDF's time over
  ours;
- sweep throughput of the flagship on 1 and 2 local worker processes [runs/s].

Usage::

    python bench/bench_speed.py                       # measure, compare with bench/baseline.json
    python bench/bench_speed.py --against PYTHON      # also measure PYTHON's Safehaven, alternating
    python bench/bench_speed.py --measure-only --json bench/baseline.json   # (re)write a baseline

The interpreter decides which Safehaven is measured (its ``sim`` package and its ``safehaven``
console script, next to it in the same ``bin/``), and with it the tree whose scenarios and
``bench/bench_atmosphere.py`` are used: each tree runs its own files, as it shipped them.
Results go to ``bench/results/speed.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent


def _tree() -> Path:
    """The checkout of the Safehaven being measured (where its ``sim`` package lives)."""
    import sim

    return Path(sim.__file__).resolve().parents[1]
SCENARIOS = {
    "iss-prk-closed": "scenarios/iss-prk-closed.yaml",
    "flagship": "scenarios/iss-prk-2026.yaml",
    "emergency-depress": "scenarios/iss-emergency-depress.yaml",
}
MANY_ZONES = (100, 300, 1000)

# name -> (unit, which way is better); the table's order
FIGURES = {
    "run.iss-prk-closed": ("s", "lower"),
    "run.flagship": ("s", "lower"),
    "run.emergency-depress": ("s", "lower"),
    "process.validate": ("s", "lower"),
    "process.run": ("s", "lower"),
    "process.validate_cpu": ("s", "lower"),
    "process.run_cpu": ("s", "lower"),
    "process.validate_cold": ("s", "lower"),
    "import.sim": ("s", "lower"),
    "import.sim.cli": ("s", "lower"),
    **{f"c{n}.{what}": (unit, better) for n in MANY_ZONES
       for what, unit, better in (("ours_s", "s", "lower"), ("ours_err", "1", "lower"), ("ours_ms_per_comp", "ms", "lower"),
                                  ("bdf_s", "s", "lower"), ("bdf_err", "1", "lower"), ("bdf_over_ours", "x", "higher"),
                                  ("bdf_jac_s", "s", "lower"), ("bdf_jac_err", "1", "lower"),
                                  ("bdf_jac_over_ours", "x", "higher"))},
    "sweep.1_worker": ("runs/s", "higher"),
    "sweep.2_workers": ("runs/s", "higher"),
    "sweep.2_over_1": ("x", "higher"),
}


# -- measuring (in the measured interpreter) ------------------------------------------------------
def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best_cpu(fn, repeat: int) -> float:
    """Least CPU time (user + system) the child processes *fn* runs took [s]: less sensitive to a
    shared machine's load than wall time, which also counts the waits for a core."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        fn()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def measure_runs(repeat: int) -> dict:
    import sim
    from sim.engine import simulate

    out = {}
    for key, path in SCENARIOS.items():
        loaded = sim.load(_tree() / path)
        first = simulate(loaded)
        out[f"run.{key}"] = _best(lambda loaded=loaded: simulate(loaded), repeat)
        out[f"events.{key}"] = hashlib.sha256("\n".join(first.events.lines()).encode()).hexdigest()[:12]
    return out


def measure_processes(repeat: int) -> dict:
    exe = Path(sys.executable).parent / "safehaven"
    work = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    flagship = str(_tree() / SCENARIOS["flagship"])
    # as an installed package runs: with bytecode caches (pip compiles them; an environment with
    # PYTHONDONTWRITEBYTECODE would recompile every module in every process), kept out of the tree
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env["SAFEHAVEN_CACHE_DIR"] = str(work / "cache")
    try:
        def call(*args, cache=None):
            run_env = env if cache is None else {**env, "SAFEHAVEN_CACHE_DIR": str(cache)}
            subprocess.run([str(exe), *args], check=True, stdout=subprocess.DEVNULL, cwd=work, env=run_env)

        def cold_validate():  # as the first command after installing: no pint cache, nothing remembered
            cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
            call("validate", flagship, cache=cache)

        def imp(module):
            subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=work, env=env)

        call("validate", flagship)  # warm the OS file cache, the bytecode and any cache Safehaven keeps
        call("run", flagship, "--out", str(work / "run"), "--force")
        return {
            "process.validate": _best(lambda: call("validate", flagship), repeat),
            "process.run": _best(lambda: call("run", flagship, "--out", str(work / "run"), "--force"), repeat),
            "process.validate_cpu": _best_cpu(lambda: call("validate", flagship), repeat),
            "process.run_cpu": _best_cpu(lambda: call("run", flagship, "--out", str(work / "run"), "--force"),
                                         repeat),
            "process.validate_cold": _best(cold_validate, max(1, repeat // 2)),
            "import.sim": _best(lambda: imp("sim"), repeat),
            "import.sim.cli": _best(lambda: imp("sim.cli"), repeat),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_many_zones(repeat: int) -> dict:
    sys.path.insert(0, str(_tree() / "bench"))
    import bench_atmosphere as ba

    # a tree without the many-zone solver (the baseline) runs its ZonalSolver, as it shipped
    run = getattr(ba, "run_many_zones", ba.run_ours)
    out = {}
    for n in MANY_ZONES:
        net, m0, leaks, times = ba.synthetic_case(n)
        t_ours, (p_ours, _) = ba.best_of(lambda net=net, m0=m0, leaks=leaks, times=times:
                                         run(net, m0, leaks, times), repeat)
        zs = ba._with_leaks(net, m0, leaks)
        rhs, y0, sparsity, p_of = ba.zone_rhs_factory(zs)
        atol_m = 1e-3 * (y0.reshape(-1, 3).sum(1).min() / max(p_of(y0[:, None]).max(), 1.0))
        ref = ba.run_ivp(rhs, y0, sparsity, p_of, times, "Radau", 1e-10, atol_m * 1e-4)
        t_bdf, p_bdf = ba.best_of(lambda: ba.run_ivp(rhs, y0, sparsity, p_of, times, "BDF", 1e-6, atol_m),
                                  max(1, repeat // 2), 60.0)
        out[f"c{n}.ours_s"], out[f"c{n}.ours_err"] = t_ours, ba.rel_err(p_ours, ref)
        out[f"c{n}.ours_ms_per_comp"] = 1e3 * t_ours / n
        out[f"c{n}.bdf_s"], out[f"c{n}.bdf_err"] = t_bdf, ba.rel_err(p_bdf, ref)
        out[f"c{n}.bdf_over_ours"] = t_bdf / t_ours
        if hasattr(ba, "zone_jac_factory"):
            jac = ba.zone_jac_factory(zs)
            t_jac, p_jac = ba.best_of(lambda jac=jac: ba.run_ivp(rhs, y0, sparsity, p_of, times, "BDF", 1e-6, atol_m,
                                                                  jac=jac), max(1, repeat // 2), 60.0)
            out[f"c{n}.bdf_jac_s"], out[f"c{n}.bdf_jac_err"] = t_jac, ba.rel_err(p_jac, ref)
            out[f"c{n}.bdf_jac_over_ours"] = t_jac / t_ours
    return out


def measure_sweep(n: int) -> dict:
    from sim.sweep import parse_vary, run_sweep

    spec = parse_vary("leaks.prk-crack.rate=loguniform(0.1, 100) lb/day")
    work = Path(tempfile.mkdtemp(prefix="bench-speed-sweep-"))
    out = {}
    try:
        for workers, key in ((1, "sweep.1_worker"), (2, "sweep.2_workers")):
            report = run_sweep(_tree() / SCENARIOS["flagship"], [spec], work / key, design="random", n=n, seed=1,
                               executor="process", workers=workers)
            out[key] = report.runs_per_second
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["sweep.2_over_1"] = out["sweep.2_workers"] / out["sweep.1_worker"]
    return out


def measure(parts: list[str], repeat: int, sweep_n: int) -> dict:
    fig: dict = {}
    if "runs" in parts:
        fig |= measure_runs(repeat)
    if "process" in parts:
        fig |= measure_processes(repeat)
    if "zones" in parts:
        fig |= measure_many_zones(max(1, repeat // 2))
    if "sweep" in parts:
        fig |= measure_sweep(sweep_n)
    import sim

    fig["meta"] = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                   "loadavg": os.getloadavg(),
                   "sim": str(Path(sim.__file__).parent), "repeat": repeat, "sweep_n": sweep_n,
                   "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return fig


# -- comparing (in the driving interpreter) -------------------------------------------------------
def _run_child(python: str, parts: list[str], repeat: int, sweep_n: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        path = Path(fh.name)
    try:
        subprocess.run([python, __file__, "--measure-only", "--parts", ",".join(parts), "--repeat", str(repeat),
                        "--sweep-n", str(sweep_n), "--json", str(path)], check=True, cwd=ROOT)
        return json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)


def _merge_best(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        if k in FIGURES and k in out and isinstance(v, float):
            better = FIGURES[k][1]
            out[k] = min(out[k], v) if better == "lower" else max(out[k], v)
        elif k not in out:
            out[k] = v
    return out


def _many_zone_ratios(fig: dict) -> dict:
    """BDF's time over ours from the best times kept (a best ratio of its own would favour noise)."""
    for n in MANY_ZONES:
        for bdf in ("bdf", "bdf_jac"):
            t_ours, t_bdf = fig.get(f"c{n}.ours_s"), fig.get(f"c{n}.{bdf}_s")
            if isinstance(t_ours, float) and isinstance(t_bdf, float):
                fig[f"c{n}.{bdf}_over_ours"] = t_bdf / t_ours
    return fig


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def render(base: dict, new: dict, base_label: str, new_label: str) -> str:
    lines = [f"{'figure':26} {'unit':>7} {base_label:>12} {new_label:>12} {'new/base':>9} {'speed-up':>9}"]
    lines.append("-" * len(lines[0]))
    for k, (unit, better) in FIGURES.items():
        b, n = base.get(k), new.get(k)
        ratio = speed = "-"
        if isinstance(b, float) and isinstance(n, float) and b > 0 and n > 0:
            ratio = f"{n / b:.3g}"
            if not k.endswith("_err"):
                speed = f"{(b / n if better == 'lower' else n / b):.3g}x"
        lines.append(f"{k:26} {unit:>7} {_fmt(b):>12} {_fmt(n):>12} {ratio:>9} {speed:>9}")
    for k in sorted(x for x in new if x.startswith("events.")):
        same = "same" if base.get(k) == new.get(k) else "changed*"
        lines.append(f"{k:26} {'':>7} {_fmt(base.get(k)):>12} {_fmt(new.get(k)):>12} {same:>9}")
    lines.append("events.*: a hash of the run's events.jsonl. *changed: the two trees log different events; "
                 "that is expected where commits\nbetween them add events on purpose. Byte identity of the "
                 "speed work is checked by tests/test_golden_events.py.")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="runs,process,zones,sweep", help="comma list of runs,process,zones,sweep")
    ap.add_argument("--repeat", type=int, default=7, help="repeats per figure; the best is kept")
    ap.add_argument("--rounds", type=int, default=1, help="alternate baseline/new this many times (best kept)")
    ap.add_argument("--sweep-n", type=int, default=200, help="runs per sweep throughput measurement")
    ap.add_argument("--json", type=Path, default=BENCH / "results" / "speed.json")
    ap.add_argument("--baseline", type=Path, default=BENCH / "baseline.json", help="stored baseline figures")
    ap.add_argument("--against", help="a baseline interpreter to measure now, alternating with this one")
    ap.add_argument("--measure-only", action="store_true", help="measure this interpreter, write --json, no table")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if args.measure_only:
        fig = measure(parts, args.repeat, args.sweep_n)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(fig, indent=1, sort_keys=True) + "\n")
        return 0
    new: dict = {}
    base: dict = {} if args.against else json.loads(args.baseline.read_text())
    for _ in range(args.rounds):
        if args.against:
            base = _merge_best(base, _run_child(args.against, parts, args.repeat, args.sweep_n))
        new = _merge_best(new, _run_child(sys.executable, parts, args.repeat, args.sweep_n))
    base, new = _many_zone_ratios(base), _many_zone_ratios(new)
    table = render(base, new, "baseline", "new")
    print(f"best of {args.repeat} repeats x {args.rounds} round(s); sweep of {args.sweep_n} flagship runs")
    for label, fig in (("baseline", base), ("new", new)):
        la = fig.get("meta", {}).get("loadavg")
        if la:
            print(f"load average (1, 5, 15 min) at the end of the {label} measurement: " + ", ".join(f"{x:.2f}" for x in la))
    print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"baseline": base, "new": new}, indent=1, sort_keys=True) + "\n")
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
