"""Benchmark of the zonal atmosphere solver against scipy's solve_ivp.

Run: ``python bench/bench_atmosphere.py [--json out.json] [--quick]``.

Cases (solver level, no scenario files):
  a  ISS-like network (22 modules, all hatches open), PrK leak 2 lb/day, 24 h, output 60 s
  b  the same, 1-inch hole in Destiny, 1 h, output 10 s
  c  synthetic stations of 100/300/1000 compartments (random tree + extra edges, half the
     hatches closed with valves open, a few leaks), 1 h, output 10 s
Baselines: solve_ivp (BDF, LSODA) on (i) the zone-level equations the solver integrates and,
for a and b, (ii) the per-compartment network with every open hatch as an orifice.
Errors are max |p - p_ref| / p_ref over the samples and compartments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import coo_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.atmosphere import (
    R_SPECIES,
    GasNetwork,
    SolverOptions,
    ZonalSolver,
    cda_from_leak_rate,
    hole_area_from_diameter,
    masses_from_partial_pressures,
    orifice_mass_flow,
)

ISS_VOLUMES = dict(zvezda=75, prk=5, zarya=71.5, poisk=14.8, rassvet=17.4, nauka=70, prichal=18.8, pma1=8,
                   unity=57.8, destiny=106, quest=34, tranquility=63.7, cupola=8, leonardo=70, beam=16,
                   harmony=70, columbus=75, kibo=126.7, elm=39.4, pma2=8, pma3=8, dragon=9.3)
ISS_TREE = ["zvezda-prk", "zvezda-zarya", "zvezda-poisk", "zvezda-nauka", "nauka-prichal", "zarya-rassvet",
            "zarya-pma1", "pma1-unity", "unity-destiny", "unity-quest", "unity-tranquility", "tranquility-cupola",
            "tranquility-leonardo", "tranquility-beam", "destiny-harmony", "harmony-columbus", "harmony-kibo",
            "kibo-elm", "harmony-pma2", "harmony-pma3", "pma2-dragon"]
T0 = 295.0
PP_AIR = np.array([79.0e3, 21.3e3, 0.4e3])  # [Pa]
LB = 0.45359237


def network(names, volumes, edges, hatch_open, valve_open):
    e = len(edges)
    return GasNetwork(tuple(names), np.asarray(volumes, float), np.full(len(names), T0), tuple(f"h{j}" for j in range(e)),
                      np.array([u for u, _ in edges], int), np.array([v for _, v in edges], int),
                      np.full(e, 0.5), np.full(e, 0.6), np.full(e, 1e-4), np.full(e, 0.6),
                      np.asarray(hatch_open, bool), np.asarray(valve_open, bool))


def iss_case(which):
    names = list(ISS_VOLUMES)
    idx = {k: i for i, k in enumerate(names)}
    edges = [(idx[a], idx[b]) for a, b in (s.split("-") for s in ISS_TREE)]
    net = network(names, list(ISS_VOLUMES.values()), edges, np.ones(len(edges)), np.zeros(len(edges)))
    m0 = masses_from_partial_pressures(np.tile(PP_AIR, (len(names), 1)), net.volume, net.temperature)
    R0 = float((m0.sum(0) @ R_SPECIES) / m0.sum())
    if which == "a":
        leaks = [("prk", idx["prk"], float(cda_from_leak_rate(2 * LB / 86400, PP_AIR.sum(), T0, R0)))]
        return net, m0, leaks, np.arange(0.0, 86400.0 + 1, 60.0)
    leaks = [("hole", idx["destiny"], float(0.6 * hole_area_from_diameter(0.0254)))]
    return net, m0, leaks, np.arange(0.0, 3600.0 + 1, 10.0)


def synthetic_case(n, seed=1):
    rng = np.random.default_rng(seed)
    edges = [(int(rng.integers(0, i)), i) for i in range(1, n)]
    extra = max(1, n // 50)
    for _ in range(extra):
        u, v = rng.choice(n, 2, replace=False)
        edges.append((int(u), int(v)))
    e = len(edges)
    hatch_open = rng.random(e) < 0.5
    net = network([f"m{i}" for i in range(n)], rng.uniform(5, 120, n), edges, hatch_open, ~hatch_open)
    pp = np.tile(PP_AIR, (n, 1)) * rng.uniform(0.97, 1.0, (n, 1))
    m0 = masses_from_partial_pressures(pp, net.volume, net.temperature)
    leaks = [(f"leak{k}", int(c), float(cda_from_leak_rate(rng.uniform(0.5, 5) * LB / 86400, 101e3, T0)))
             for k, c in enumerate(rng.choice(n, max(2, n // 100), replace=False))]
    return net, m0, leaks, np.arange(0.0, 3600.0 + 1, 10.0)


def run_ours(net, m0, leaks, times):
    s = ZonalSolver(net, m0, SolverOptions())
    for lid, c, cda in leaks:
        s.add_leak(lid, c, cda)
    out = s.sample(times)
    return out.pressure, s


def best_of(fn, repeats, budget=20.0):
    best, res, t_start = np.inf, None, time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - t_start > budget:
            break
    return best, res


def zone_rhs_factory(s: ZonalSolver):
    """The zone-level equations the ZonalSolver integrates (flows, leaks), as an ODE RHS."""
    s._refresh()
    nz = s._nz
    zu, zv, cu, cv, cda = s._fe
    a_z, Sref, Tref = s._a_z, s._Sref, s._Tref

    def rhs(_, y):
        m = np.maximum(y.reshape(nz, 3), 0.0)
        M = m.sum(1)
        R = (m @ R_SPECIES) / np.where(M > 0, M, 1.0)
        p = (m @ R_SPECIES) / Sref
        fwd = p[zu] >= p[zv]
        upz = np.where(fwd, zu, zv)
        F = orifice_mass_flow(cda, np.where(fwd, p[zu], p[zv]), np.where(fwd, p[zv], p[zu]),
                              np.where(fwd, Tref[cu], Tref[cv]), R[upz])
        flux = F[:, None] * m[upz] / np.where(M[upz] > 0, M[upz], 1.0)[:, None]
        d = -(a_z * np.sqrt(R))[:, None] * m
        down = np.where(fwd, zv, zu)
        for sp in range(3):
            d[:, sp] += np.bincount(down, flux[:, sp], nz) - np.bincount(upz, flux[:, sp], nz)
        return d.ravel()

    # sparsity: species of a zone couple to its own species and to neighbours'
    rows, cols = [np.arange(nz)], [np.arange(nz)]
    for a, b in ((zu, zv), (zv, zu)):
        rows.append(a)
        cols.append(b)
    r, c = np.concatenate(rows), np.concatenate(cols)
    rr = (3 * r[:, None, None] + np.arange(3)[None, :, None] + 0 * np.arange(3)[None, None, :]).ravel()
    cc = (3 * c[:, None, None] + 0 * np.arange(3)[None, :, None] + np.arange(3)[None, None, :]).ravel()
    sparsity = coo_matrix((np.ones(len(rr)), (rr, cc)), shape=(3 * nz, 3 * nz)).tocsc()
    p_of = lambda Y: ((Y.T.reshape(-1, nz, 3) @ R_SPECIES) / Sref)[:, s._zone_of]
    return rhs, s._Mzs.ravel().copy(), sparsity, p_of


def network_rhs_factory(net, m0, leaks):
    """Per-compartment network, every open hatch (and open valve) an orifice."""
    n = net.n
    cda = np.where(net.hatch_open, net.hatch_cd * net.hatch_area, 0) + np.where(net.valve_open, net.valve_cd * net.valve_area, 0)
    u, v = net.edge_u[cda > 0], net.edge_v[cda > 0]
    cda = cda[cda > 0]
    kc = np.zeros(n)
    K = (2 / 2.4) ** 3
    for _, c, a in leaks:
        kc[c] += a * K * np.sqrt(1.4 / net.temperature[c]) * net.temperature[c] / net.volume[c]  # * sqrt(R)
    T, V = net.temperature, net.volume

    def rhs(_, y):
        m = np.maximum(y.reshape(n, 3), 0.0)
        M = m.sum(1)
        R = (m @ R_SPECIES) / np.where(M > 0, M, 1.0)
        p = (m @ R_SPECIES) * T / V
        fwd = p[u] >= p[v]
        up = np.where(fwd, u, v)
        F = orifice_mass_flow(cda, np.where(fwd, p[u], p[v]), np.where(fwd, p[v], p[u]), T[up], R[up])
        flux = F[:, None] * m[up] / np.where(M[up] > 0, M[up], 1.0)[:, None]
        d = -(kc * np.sqrt(R))[:, None] * m
        down = np.where(fwd, v, u)
        for sp in range(3):
            d[:, sp] += np.bincount(down, flux[:, sp], n) - np.bincount(up, flux[:, sp], n)
        return d.ravel()

    r = np.concatenate([np.arange(n), u, v])
    c = np.concatenate([np.arange(n), v, u])
    rr = (3 * r[:, None, None] + np.arange(3)[None, :, None] + 0 * np.arange(3)[None, None, :]).ravel()
    cc = (3 * c[:, None, None] + 0 * np.arange(3)[None, :, None] + np.arange(3)[None, None, :]).ravel()
    sparsity = coo_matrix((np.ones(len(rr)), (rr, cc)), shape=(3 * n, 3 * n)).tocsc()
    p_of = lambda Y: (Y.T.reshape(-1, n, 3) @ R_SPECIES) * T / V
    return rhs, m0.ravel().copy(), sparsity, p_of


def run_ivp(rhs, y0, sparsity, p_of, times, method, rtol, atol):
    kw = dict(jac_sparsity=sparsity) if method != "LSODA" else {}
    sol = solve_ivp(rhs, (times[0], times[-1]), y0, method=method, t_eval=times, rtol=rtol, atol=atol, **kw)
    if not sol.success:
        return None
    return p_of(sol.y)


def rel_err(p, p_ref):
    return float(np.max(np.abs(p - p_ref) / p_ref))


def bench_case(label, net, m0, leaks, times, repeats, network_baseline, ivp_budget):
    sim_s = times[-1] - times[0]
    t_ours, (p_ours, _solver) = best_of(lambda: run_ours(net, m0, leaks, times), repeats)
    # reference: tight Radau on the zone-level equations
    rhs, y0, sparsity, p_of = zone_rhs_factory(_with_leaks(net, m0, leaks))
    atol_m = 1e-3 * (y0.reshape(-1, 3).sum(1).min() / max(p_of(y0[:, None]).max(), 1.0))  # ~1e-3 Pa in mass
    ref = run_ivp(rhs, y0, sparsity, p_of, times, "Radau", 1e-10, atol_m * 1e-4)
    rows = [dict(case=label, method="zonal (ours)", n=net.n, sim_s=sim_s, wall_s=t_ours, speed=sim_s / t_ours,
                 err=rel_err(p_ours, ref) if ref is not None else None)]
    baselines = [("zone", rhs, y0, sparsity, p_of)]
    if network_baseline:
        baselines.append(("network", *network_rhs_factory(net, m0, leaks)))
    for kind, rhs_, y0_, sp_, pof_ in baselines:
        for method in ("BDF", "LSODA"):
            t_ivp, p_ivp = best_of(lambda: run_ivp(rhs_, y0_, sp_, pof_, times, method, 1e-6, atol_m), max(1, repeats // 3), ivp_budget)
            rows.append(dict(case=label, method=f"solve_ivp {method} ({kind})", n=net.n, sim_s=sim_s, wall_s=t_ivp,
                             speed=sim_s / t_ivp, err=rel_err(p_ivp, ref) if (p_ivp is not None and ref is not None) else None,
                             ratio=t_ivp / t_ours))
    return rows


def _with_leaks(net, m0, leaks):
    s = ZonalSolver(net, m0)
    for lid, c, cda in leaks:
        s.add_leak(lid, c, cda)
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip n=1000 baselines")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 7
    rows = []
    for which in ("a", "b"):
        net, m0, leaks, times = iss_case(which)
        rows += bench_case(which, net, m0, leaks, times, repeats, True, 60.0)
    for n in (100, 300, 1000):
        net, m0, leaks, times = synthetic_case(n)
        rows += bench_case(f"c{n}", net, m0, leaks, times, max(1, repeats // 3),
                           False, 60.0) if not (args.quick and n == 1000) else [
            dict(case=f"c{n}", method="zonal (ours)", n=n, sim_s=3600.0,
                 wall_s=(w := best_of(lambda: run_ours(net, m0, leaks, times), 1)[0]), speed=3600.0 / w, err=None)]
    for r in rows:
        r["us_per_sim_s_per_comp"] = 1e6 * r["wall_s"] / r["sim_s"] / r["n"]
    render(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


def render(rows):
    cols = ["case", "method", "n", "wall_s", "speed", "ratio", "err", "us_per_sim_s_per_comp"]
    fmt = lambda k, v: "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
    try:
        from rich.console import Console
        from rich.table import Table
        t = Table(title="atmosphere solver: simulated s per wall s (speed), ratio = t_ivp / t_ours")
        for c in cols:
            t.add_column(c)
        for r in rows:
            t.add_row(*(fmt(c, r.get(c)) for c in cols))
        Console().print(t)
    except ImportError:
        print(" | ".join(cols))
        for r in rows:
            print(" | ".join(fmt(c, r.get(c)) for c in cols))


if __name__ == "__main__":
    main()
