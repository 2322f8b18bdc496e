"""Benchmark of the atmosphere solvers against scipy's solve_ivp.

Run: ``python bench/bench_atmosphere.py [--json out.json] [--quick] [--sizes 100,300,1000,3000]``.

Cases (solver level, no scenario files):
  a  ISS-like network (22 modules, all hatches open), PrK leak 2 lb/day, 24 h, output 60 s
  b  the same, 1-inch hole in Destiny, 1 h, output 10 s
  c  synthetic stations of 100/300/1000 compartments (random tree + extra edges, half the
     hatches closed with valves open, a few leaks), 1 h, output 10 s
Ours: the ZonalSolver for a and b; for c the ManyZoneSolver (its defaults, rtol 3e-6 and
atol 0.1 Pa per step), with the ZonalSolver's row kept for comparison.
Baselines: solve_ivp (BDF, LSODA) on (i) the zone-level equations the solver integrates and,
for a and b, (ii) the per-compartment network with every open hatch as an orifice. For c, BDF
twice: with ``jac_sparsity`` (scipy's grouped finite differences) and with an analytic sparse
``jac=`` (the orifice flows' pressure slopes carrying the upstream composition, and the leaks:
the matrix the ManyZoneSolver's stages use, assembled in full).
Errors are max |p - p_ref| / p_ref over the samples and compartments, the reference Radau at
rtol 1e-10 on the zone equations. The table also gives the cost per compartment
(``ms_per_comp``) and the machine's load average; the JSON goes to bench/results/atmosphere.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import coo_matrix, csc_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.atmosphere import (
    GAMMA,
    R_SPECIES,
    GasNetwork,
    ManyZoneSolver,
    SolverOptions,
    ZonalSolver,
    cda_from_leak_rate,
    hole_area_from_diameter,
    masses_from_partial_pressures,
    orifice_mass_flow,
)
from sim.atmosphere.flow import _orifice_core

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


def run_ours(net, m0, leaks, times, cls=ZonalSolver):
    s = cls(net, m0, SolverOptions() if cls is ZonalSolver else None)
    for lid, c, cda in leaks:
        s.add_leak(lid, c, cda)
    out = s.sample(times)
    return out.pressure, s


def run_many_zones(net, m0, leaks, times):
    """Case c with the many-zone solver at its default options."""
    return run_ours(net, m0, leaks, times, ManyZoneSolver)


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


def zone_jac_factory(s: ZonalSolver):
    """Analytic sparse Jacobian of ``zone_rhs_factory``'s equations, for ``solve_ivp(jac=...)``.

    d(dm_js/dt)/dm_ir = sum_e inc_je y_s,up(e) dF_e/dp_i R_r / Sref_i (flows carry the upstream
    composition), minus the leak rate on the diagonal. Left out, as in the ManyZoneSolver's
    stages: the slopes of the mixture gas constant and of the upstream composition (they are
    of the order of the composition differences, and a Newton iteration only needs the stiff part).
    """
    s._refresh()
    nz = s._nz
    zu, zv, cu, cv, cda = s._fe
    a_z, Sref, Tref = s._a_z, s._Sref, s._Tref
    sp = np.arange(3)

    def jac(_, y):
        m = np.maximum(y.reshape(nz, 3), 0.0)
        M = m.sum(1)
        R = (m @ R_SPECIES) / np.where(M > 0, M, 1.0)
        p = (m @ R_SPECIES) / Sref
        fwd = p[zu] >= p[zv]
        up = np.where(fwd, zu, zv)
        _, dhi, dlo = _orifice_core(np.maximum(p[zu], p[zv]), np.minimum(p[zu], p[zv]), GAMMA, 0.999)
        c = cda * np.sqrt(2 * GAMMA / ((GAMMA - 1) * R[up] * np.where(fwd, Tref[cu], Tref[cv])))
        dFu = np.where(fwd, c * dhi, -c * dlo)
        dFv = np.where(fwd, c * dlo, -c * dhi)
        y_up = m[up] / np.where(M[up] > 0, M[up], 1.0)[:, None]
        rows, cols, vals = [3 * np.arange(nz)[:, None] + sp], [3 * np.arange(nz)[:, None] + sp], [-(a_z * np.sqrt(R))[:, None] * np.ones(3)]
        for j, sign in ((zv, 1.0), (zu, -1.0)):
            for i, dF in ((zu, dFu), (zv, dFv)):
                # (edge, s, r) entries: row (j, s), column (i, r)
                rows.append(np.broadcast_to((3 * j)[:, None, None] + sp[None, :, None], (len(j), 3, 3)))
                cols.append(np.broadcast_to((3 * i)[:, None, None] + sp[None, None, :], (len(j), 3, 3)))
                vals.append(sign * y_up[:, :, None] * (dF / Sref[i])[:, None, None] * R_SPECIES[None, None, :])
        return csc_matrix((np.concatenate([v.ravel() for v in vals]),
                           (np.concatenate([r.ravel() for r in rows]), np.concatenate([c.ravel() for c in cols]))),
                          shape=(3 * nz, 3 * nz))

    return jac


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


def run_ivp(rhs, y0, sparsity, p_of, times, method, rtol, atol, jac=None):
    kw = dict(jac=jac) if jac is not None else dict(jac_sparsity=sparsity) if method != "LSODA" else {}
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


def many_zone_case(n, repeats, ivp_budget=120.0, with_zonal=True):
    """Case c at n compartments: the many-zone solver, the ZonalSolver and BDF, one reference."""
    net, m0, leaks, times = synthetic_case(n)
    sim_s = times[-1] - times[0]
    label = f"c{n}"
    t_ours, (p_ours, s) = best_of(lambda: run_many_zones(net, m0, leaks, times), repeats)
    zs = _with_leaks(net, m0, leaks)
    rhs, y0, sparsity, p_of = zone_rhs_factory(zs)
    jac = zone_jac_factory(zs)
    atol_m = 1e-3 * (y0.reshape(-1, 3).sum(1).min() / max(p_of(y0[:, None]).max(), 1.0))  # ~1e-3 Pa in mass
    ref = run_ivp(rhs, y0, sparsity, p_of, times, "Radau", 1e-10, atol_m * 1e-4)
    base = dict(case=label, n=n, zones=s._nz, flow_edges=s._n_flow, sim_s=sim_s)
    rows = [dict(base, method="many-zone (ours)", wall_s=t_ours, err=rel_err(p_ours, ref))]
    if with_zonal:
        t_z, (p_z, _) = best_of(lambda: run_ours(net, m0, leaks, times), repeats)
        rows.append(dict(base, method="zonal", wall_s=t_z, err=rel_err(p_z, ref), ratio=t_z / t_ours))
    for kind, j in (("jac_sparsity", None), ("analytic jac", jac)):
        t_ivp, p_ivp = best_of(lambda j=j: run_ivp(rhs, y0, sparsity, p_of, times, "BDF", 1e-6, atol_m, jac=j),
                               max(1, repeats // 2), ivp_budget)
        rows.append(dict(base, method=f"solve_ivp BDF rtol 1e-6 ({kind})", wall_s=t_ivp,
                         err=rel_err(p_ivp, ref) if p_ivp is not None else None, ratio=t_ivp / t_ours))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "atmosphere.json",
                    help="write the results here (default bench/results/atmosphere.json)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, case c at 100 and 300 only")
    ap.add_argument("--sizes", default="100,300,1000", help="compartments of case c, comma-separated")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 7
    sizes = [int(x) for x in args.sizes.split(",") if x]
    if args.quick:
        sizes = [n for n in sizes if n <= 300]
    load_before = os.getloadavg()
    rows = []
    for which in ("a", "b"):
        net, m0, leaks, times = iss_case(which)
        rows += bench_case(which, net, m0, leaks, times, repeats, True, 60.0)
    for n in sizes:
        rows += many_zone_case(n, max(3, repeats // 2))
    for r in rows:
        r["speed"] = r["sim_s"] / r["wall_s"]
        r["ms_per_comp"] = 1e3 * r["wall_s"] / r["n"]
    load = (load_before, os.getloadavg())
    render(rows, load)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "loadavg_before_after": load,
                                     "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
    print(f"written {args.json}")
    return rows


def render(rows, load=None):
    """A plain fixed-width table (it must stay readable in a log and a narrow terminal)."""
    cols = [("case", 5), ("method", 40), ("n", 5), ("zones", 5), ("wall_s", 8), ("speed", 8), ("ratio", 6),
            ("err", 8), ("ms_per_comp", 11)]
    fmt = lambda v: "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
    print("atmosphere solvers: wall_s [s]; speed = simulated s per wall s; ratio = wall_s / ours' wall_s;")
    print("err = max rel. pressure error against Radau rtol 1e-10; ms_per_comp = wall ms per compartment")
    print(" ".join(f"{c:>{w}}" if c != "method" else f"{c:<{w}}" for c, w in cols))
    for r in rows:
        print(" ".join(f"{fmt(r.get(c)):>{w}}" if c != "method" else f"{fmt(r.get(c)):<{w}}" for c, w in cols))
    if load is not None:
        print(_load_text(load))


def _load_text(load):
    before, after = (", ".join(f"{x:.2f}" for x in la) for la in load)
    return f"load average (1, 5, 15 min): before {before}, after {after}"


if __name__ == "__main__":
    main()
