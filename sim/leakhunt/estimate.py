"""``safehaven estimate``: a leak's size, place and reserve time from a pressure record, with intervals.

Method (docs/leak-hunt.md):

1. The forward model (:mod:`sim.leakhunt.forward`) is the atmosphere solver run over the record's
   hatch history with a leak of effective area C_d·A in a candidate compartment. Candidates whose
   modelled readings are identical for every gauge (they shared a zone with the same gauges all
   along) form one group: the record cannot tell them apart.
2. Each gauge's reading is modelled as ``alpha_g · F_g(t; site, C_d·A) · T_g(t)/T0_g`` with its own
   unknown scale alpha_g (integrated out), the cabin temperature from a temperature log where there
   is one (p ∝ T at fixed mass), and the interval likelihood of its resolution and noise
   (:mod:`sim.leakhunt.likelihood`). Where a compartment has a ppN2 analyser its total-pressure
   gauge is not used: N2 is neither breathed nor made up, so its partial pressure falls only by the
   leak (and moves with temperature), while oxygen make-up and metabolism move the total.
3. Flat prior on C_d·A from 0 to the record's ``max_rate`` (at the station's pressure), candidate
   weights as given (default equal). The posterior of C_d·A is computed on a grid per group (the
   solver is run at 9 nodes across the window where the likelihood lives and log F interpolated
   between them); a group's evidence is the integral of its likelihood against the prior, which
   gives each candidate's probability.
4. From the C_d·A posterior: the rate at the end of the record (kg/day, lb/day) at the leak's
   modelled pressure, the equivalent hole diameter for the record's C_d, and the reserve time to the
   station's floor at that rate from the volume of the leak's zone at the end.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from sim.atmosphere import GAMMA, choked_mass_flux
from sim.leakhunt.forward import ForwardModel
from sim.leakhunt.likelihood import gauge_loglik, noise_guess
from sim.leakhunt.record import GaugeSeries, LeakRecord

__all__ = ["LB_PER_DAY", "MMHG", "EstimateResult", "UnusableRecord", "estimate"]

MMHG = 133.322
"""1 mmHg [Pa]."""
LB_PER_DAY = 0.45359237 / 86400.0
"""1 lb/day [kg/s]."""
_C_TEST = 1e-9
"""Leak area of the sensitivity run [m^2] (~0.05 lb/day at 1 atm): small enough to be linear."""
_N_NODES = 3
BETA_GRID = np.linspace(0.0, 1.5, 16)
"""Grid of a fitted temperature coupling (flat prior): 0 = the gas ignores the logged swing."""
TEMPERATURE_STEP = 300.0
"""Step [s] in which the forward model applies the record's temperature logs (the engine's default)."""
_N_GRID = 61


class UnusableRecord(ValueError):
    """The record holds too little to estimate anything (the message says what is missing)."""


@dataclass
class GaugeFit:
    """One gauge as used in the fit."""

    series: GaugeSeries
    t: np.ndarray
    y: np.ndarray
    tau: np.ndarray      # extra factor on the model (ones: the forward model applies the temperature)
    temperature_log: str | None
    expanded: bool
    betas: np.ndarray = field(default_factory=lambda: np.array([0.0]))  # coupling grid of a factor log


@dataclass
class EstimateResult:
    """What :func:`estimate` found; :meth:`to_json` is ``estimate.json``."""

    record: LeakRecord
    fits: list[GaugeFit]
    report: dict
    grid: np.ndarray              # C_d·A grid of the most probable group [m^2]
    density: np.ndarray           # its posterior density [1/m^2]
    model_best: list[np.ndarray]  # per gauge, the fitted model at the posterior median (scaled)
    group_grids: list             # [(sites, grid, density, probability)]

    def to_json(self) -> dict:
        return self.report


def _expand(g: GaugeSeries, duration: float) -> tuple[np.ndarray, np.ndarray, bool]:
    t, y = g.t, g.y
    inside = t <= duration + 1e-9
    t, y = t[inside], y[inside]
    if g.every is None or len(t) == 0:
        return t, y, False
    grid = t[0] + g.every * np.arange(math.floor((duration - t[0]) / g.every + 1e-9) + 1)
    idx = np.searchsorted(t, grid, side="right") - 1
    return grid, y[idx], True


def _log_for(record: LeakRecord, net, index: dict, i: int, in_solver: bool = True):
    """The temperature log standing for compartment *i*: its own, else one of its zone at the
    record's start, else the station's; None when there is none. *in_solver* picks among the logs
    applied in the forward model (coupling 1) or among the others."""
    logs = [x for x in record.temperatures if (x.coupling == 1.0) == in_solver]
    name = net.names[i]
    own = next((x for x in logs if x.at == name), None)
    if own is not None:
        return own
    zone = _initial_zone(net, i, record)
    return (next((x for x in logs if x.at in index and index[x.at] in zone), None)
            or next((x for x in logs if x.at == "station"), None))


def _initial_zone(net, i: int, record: LeakRecord) -> set[int]:
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(net.n))
    for j, h in enumerate(net.edge_names):
        if record.hatch_initial.get(h, False):
            G.add_edge(int(net.edge_u[j]), int(net.edge_v[j]))
    return nx.node_connected_component(G, i)


def temperature_schedule(record: LeakRecord, net, step: float = TEMPERATURE_STEP):
    """Update instants [s] and per-compartment temperatures [K] from the record's logs, or None.

    Each value is the log's at the middle of its step (as the engine applies ``cabin_temperature``);
    compartments without a log keep the station file's temperature.
    """
    if not any(x.coupling == 1.0 for x in record.temperatures):
        return None
    index = {n: k for k, n in enumerate(net.names)}
    n_steps = max(1, math.ceil(record.duration / step - 1e-9))
    starts = step * np.arange(n_steps)
    mids = np.minimum(starts + 0.5 * step, record.duration)
    T = np.tile(net.temperature.astype(float), (n_steps, 1))
    for i in range(net.n):
        log = _log_for(record, net, index, i)
        if log is not None:
            T[:, i] = np.interp(mids, log.t, log.T)
    return starts, T


def _select_gauges(record: LeakRecord) -> tuple[list[GaugeSeries], list[str]]:
    notes = []
    n2_at = {g.at for g in record.gauges if g.reads == "N2"}
    used = []
    for g in record.gauges:
        if g.reads == "total" and g.at in n2_at:
            notes.append(f"gauge {g.id} (total pressure in {g.at}) not used: ppN2 is logged there, and oxygen "
                         "make-up and metabolism move the total pressure")
            continue
        used.append(g)
    return used, notes


def estimate(record: LeakRecord) -> EstimateResult:
    """Estimate the leak of *record*; see the module docstring for the method."""
    t_start = time.perf_counter()
    gauges, notes = _select_gauges(record)
    expanded = [_expand(g, record.duration) for g in gauges]
    from sim.station import gas_network

    net = gas_network(record.station)
    schedule = temperature_schedule(record, net)
    fm = ForwardModel(record, gauges, [t for t, _, _ in expanded], schedule)
    index = {n: k for k, n in enumerate(net.names)}
    fits = []
    for g, (t, y, exp) in zip(gauges, expanded, strict=True):
        log = _log_for(record, net, index, index[g.at]) if schedule is not None else None
        tau, betas = np.ones_like(t), np.array([0.0])
        if log is None:
            # a log with another coupling: a factor on the model, 1 + beta (T/T0 - 1)
            log = _log_for(record, net, index, index[g.at], in_solver=False)
            if log is not None:
                tau = np.interp(t, log.t, log.T) / float(net.temperature[index[g.at]])
                betas = BETA_GRID if log.coupling is None else np.array([log.coupling])
        tlog = f"{log.source} ({log.at})" if log is not None else None
        fits.append(GaugeFit(g, t, y, tau, tlog, exp, betas))
    if any(len(f.t) < 2 for f in fits):
        bad = next(f.series.id for f in fits if len(f.t) < 2)
        raise UnusableRecord(f"gauge {bad}: fewer than two readings inside the record")
    sites = list(record.candidates)
    flat = fm.run(sites[0], 0.0, temperature=False)
    runs_test = {s: fm.run(s, _C_TEST, temperature=False) for s in sites}
    sens = {s: [np.log(r / b) / _C_TEST for r, b in zip(runs_test[s].gauge, flat.gauge, strict=True)] for s in sites}
    base = fm.run(sites[0], 0.0) if schedule is not None else flat
    groups: list[list[str]] = []
    for s in sites:
        for grp in groups:
            ref = sens[grp[0]]
            if all(np.allclose(a, b, rtol=1e-6, atol=1e-30) for a, b in zip(sens[s], ref, strict=True)):
                grp.append(s)
                break
        else:
            groups.append([s])
    st = record.station
    p_station = st.atmosphere.N2 + st.atmosphere.O2 + st.atmosphere.CO2
    R_station = fm.gas_constant(sites[0])
    flux_station = float(choked_mass_flux(p_station, st.temperature, R_station, GAMMA))
    c_max = record.max_rate / flux_station
    sigma_eff = []
    for f in fits:
        q = f.series.resolution
        s = f.series.noise if f.series.noise is not None else noise_guess(f.y, q)
        sigma_eff.append(math.sqrt(s * s + q * q / 12.0))

    def evaluate(site, lo, hi):
        grid = np.linspace(lo, hi, _N_GRID)
        nodes = np.linspace(lo, hi, _N_NODES)
        node_runs = [fm.run(site, c) for c in nodes]
        ll = np.zeros(_N_GRID)
        sig_used, beta_used = [], []
        for gi, f in enumerate(fits):
            lnF = np.log(np.stack([r.gauge[gi] for r in node_runs]))  # (nodes, N)
            m = np.empty((_N_GRID, len(f.t)))
            for k in range(len(f.t)):
                m[:, k] = np.interp(grid, nodes, lnF[:, k])
            m = np.exp(m)
            lb, sb = [], []
            for beta in f.betas:
                lg, su = gauge_loglik(f.y, m * (1.0 + beta * (f.tau - 1.0)), f.series.resolution, f.series.noise)
                lb.append(lg)
                sb.append(su)
            lb, sb = np.array(lb), np.array(sb)  # (betas, grid)
            ll += logsumexp(lb, axis=0) - math.log(len(f.betas))
            w = np.exp(lb - lb.max(0))
            sig_used.append((w * sb).sum(0) / w.sum(0))
            beta_used.append((w * f.betas[:, None]).sum(0) / w.sum(0))
        return dict(lo=lo, hi=hi, grid=grid, nodes=nodes, node_runs=node_runs, ll=ll, sigma=sig_used, beta=beta_used)

    states = []
    for grp in groups:
        sg = sens[grp[0]]
        observed = any(np.any(np.abs(x) > 0) for x in sg)
        lo, hi = _window(fits, base, sg, sigma_eff, c_max) if observed else (0.0, c_max)
        states.append((grp, observed, evaluate(grp[0], lo, hi)))
    # the window of a group must hold its likelihood (20 log units down at both ends) wherever that
    # can matter: an edge more than 50 log units below the best group's maximum cannot
    best_top = max(ev["ll"].max() for _, _, ev in states)
    group_results = []
    for grp, observed, ev in states:
        for _attempt in range(8):
            if not observed:
                break
            ll, lo, hi = ev["ll"], ev["lo"], ev["hi"]
            top, width = ll.max(), hi - lo
            at_lo = ll[0] > max(top - 20, best_top - 50) and lo > 0
            at_hi = ll[-1] > max(top - 20, best_top - 50) and hi < c_max
            if not (at_lo or at_hi):
                break
            if at_hi and int(np.argmax(ll)) == len(ll) - 1:  # move to where the maximum was found at its edge
                lo, hi = hi - 0.5 * width, hi + 2.0 * width
            elif at_lo and int(np.argmax(ll)) == 0:
                lo, hi = lo - 2.0 * width, lo + 0.5 * width
            else:  # widen
                lo, hi = lo - width * at_lo, hi + width * at_hi
            ev = evaluate(grp[0], max(0.0, lo), min(c_max, hi))
            best_top = max(best_top, ev["ll"].max())
        if observed and ev["ll"].max() > best_top - 50:
            # zoom on the posterior, so the grid resolves it (a coarse grid would widen its quantiles)
            g, d = ev["grid"], np.exp(ev["ll"] - ev["ll"].max())
            mean = float(np.trapezoid(g * d, g) / np.trapezoid(d, g))
            sd = math.sqrt(max(float(np.trapezoid((g - mean) ** 2 * d, g) / np.trapezoid(d, g)), 0.0))
            if 0 < sd < (ev["hi"] - ev["lo"]) / 16:
                ev = evaluate(grp[0], max(0.0, mean - 10 * sd), min(c_max, mean + 10 * sd))
        ll, lo, hi, grid = ev["ll"], ev["lo"], ev["hi"], ev["grid"]
        # evidence: integral of the likelihood against the flat prior on [0, c_max]
        log_z = logsumexp(ll) + math.log((hi - lo) / (_N_GRID - 1)) - math.log(c_max) if hi > lo else ll.max()
        dens = np.exp(ll - ll.max())
        dens /= np.trapezoid(dens, grid) if hi > lo else 1.0
        p_end = np.stack([r.p_end for r in ev["node_runs"]])
        group_results.append(dict(sites=grp, observed=observed, grid=grid, ll=ll, density=dens, log_z=log_z,
                                  nodes=ev["nodes"], node_runs=ev["node_runs"], p_end=p_end, sigma=ev["sigma"],
                                  beta=ev["beta"]))

    # candidate probabilities
    log_post = []
    for gr in group_results:
        prior = sum(record.candidates[s] for s in gr["sites"])
        log_post.append(gr["log_z"] + math.log(prior) if prior > 0 else -math.inf)
    log_post = np.array(log_post)
    pg = np.exp(log_post - logsumexp(log_post))
    site_prob = {}
    for gr, p in zip(group_results, pg, strict=True):
        prior = sum(record.candidates[s] for s in gr["sites"])
        for s in gr["sites"]:
            site_prob[s] = float(p * record.candidates[s] / prior) if prior > 0 else 0.0
    observed = [k for k, gr in enumerate(group_results) if gr["observed"]]
    if not observed:
        raise UnusableRecord("no gauge sees any candidate compartment: the record says nothing about the leak")
    best = max(observed, key=lambda k: pg[k])  # the numbers are for a place some gauge sees
    gb = group_results[best]
    # the fitted curves at the posterior median, each gauge's scale at its least-squares value
    c_med = _quantiles(gb["grid"], gb["density"], [0.5])[0]
    model_best, alphas, betas = [], [], []
    k_med = int(np.argmin(np.abs(gb["grid"] - c_med)))
    for gi, f in enumerate(fits):
        beta = float(gb["beta"][gi][k_med])
        lnF = np.log(np.stack([r.gauge[gi] for r in gb["node_runs"]]))
        at_med = np.exp([np.interp(c_med, gb["nodes"], lnF[:, k]) for k in range(lnF.shape[1])])
        m = at_med * (1.0 + beta * (f.tau - 1.0))
        a = float((m * f.y).sum() / (m * m).sum())
        model_best.append(a * m)
        alphas.append(a)
        betas.append(beta)
    # the record's pressures are the model's scaled by the gauges' factor: take it from a gauge that
    # shares the leak's zone at the end, else the mean of all
    i_site = fm.index[gb["sites"][0]]
    zone = next(z for z in gb["node_runs"][0].zones_end if i_site in z)  # the hatches at the end: any run
    near = [a for a, f in zip(alphas, fits, strict=True) if fm.index[f.series.at] in zone]
    scale = float(np.mean(near or alphas))
    report = _report(record, fm, fits, gb, group_results, pg, site_prob, notes, c_max, flux_station, scale)
    for gi, f in enumerate(fits):
        beta, a = betas[gi], alphas[gi]
        res = f.y - model_best[gi]
        r1 = float(np.corrcoef(res[:-1], res[1:])[0, 1]) if len(res) > 3 and np.std(res) > 0 else 0.0
        report["gauges"][gi]["temperature_coupling"] = beta if f.temperature_log and len(f.betas) > 1 else None
        report["gauges"][gi]["residual_lag1_correlation"] = r1
        if r1 > 0.5:
            inflate = math.sqrt((1 + r1) / (1 - r1)) if r1 < 1 else math.inf
            report["statements"].append(
                f"gauge {f.series.id}: the residuals are correlated (lag-1 r = {r1:.2f}), which the independent-noise "
                f"likelihood does not model: its interval is too narrow, by a factor of about {inflate:.1f}")
    report["forward_runs"] = fm.runs
    report["elapsed_s"] = round(time.perf_counter() - t_start, 3)
    report["_elapsed_note"] = "wall-clock time of the estimate; varies with the machine"
    grids = [(gr["sites"], gr["grid"], gr["density"], float(p)) for gr, p in zip(group_results, pg, strict=True)]
    return EstimateResult(record, fits, report, gb["grid"], gb["density"], model_best, grids)


def _window(fits, base, sg, sigma_eff, c_max):
    """Where the likelihood of C_d·A lives, from a linearized weighted least-squares fit."""
    # ln y_g ≈ ln a_g + ln m0 + c s: unknowns ln a_g per gauge and the shared c; exact for a closed
    # zone's exponential decay, where a first-order fit in y would be biased by the curvature
    rows, rhs = [], []
    ng = len(fits)
    for gi, f in enumerate(fits):
        m0 = base.gauge[gi] * (1.0 + float(np.mean(f.betas)) * (f.tau - 1.0))
        w = np.maximum(f.y, 1e-300) / sigma_eff[gi]  # the error of ln y is sigma / y
        cols = np.zeros((len(f.t), ng + 1))
        cols[:, gi] = w
        cols[:, ng] = sg[gi] * w
        rows.append(cols)
        rhs.append(np.log(np.maximum(f.y, 1e-300) / m0) * w)
    A, b = np.vstack(rows), np.concatenate(rhs)
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    cov = np.linalg.pinv(A.T @ A)
    c_hat = sol[ng]
    se = math.sqrt(max(cov[ng, ng], 0.0))
    se = max(se, 1e-6 * c_max)
    lo = max(0.0, c_hat - 12 * se)
    hi = min(c_max, max(c_hat + 12 * se, lo + 24 * se))
    if hi <= lo:
        lo, hi = 0.0, c_max
    return lo, hi


def _quantiles(grid, dens, qs):
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    return [float(np.interp(q, cdf, grid)) for q in qs]


def _report(record, fm, fits, gb, groups, pg, site_prob, notes, c_max, flux_station, scale):
    st = record.station
    site = gb["sites"][0]
    i = fm.index[site]
    grid, dens, ll = gb["grid"], gb["density"], gb["ll"]
    q025, q50, q975, q95 = _quantiles(grid, dens, [0.025, 0.5, 0.975, 0.95])
    # can a zero leak be told apart? likelihood ratio of C_d·A = 0 against the best, 95 % (chi2_1 3.84)
    zero_in = grid[0] == 0.0 and 2.0 * (ll.max() - ll[0]) < 3.84
    T_site = float(fm.net.temperature[i])
    R = fm.gas_constant(site)
    p_end_nodes = gb["p_end"][:, i] * scale  # the record's pressure, not the nominal one

    def rate(c):
        p_end = float(np.interp(c, gb["nodes"], p_end_nodes))
        return c * float(choked_mass_flux(p_end, T_site, R, GAMMA)), p_end

    V_zone = fm.zone_volume_end(site, gb["node_runs"][0])
    floor = st.limits.reserve_floor

    def treserve(c):
        mdot, p_end = rate(c)
        if mdot <= 0:
            return math.inf
        dpdt = mdot * R * T_site / V_zone
        return max(p_end - floor, 0.0) / dpdt

    def diameter(c):
        return math.sqrt(4.0 * c / (math.pi * record.cd))

    lo_c, hi_c = (0.0, q95) if zero_in else (q025, q975)
    interval = "one-sided 95 %: [0, 95th percentile]" if zero_in else "equal-tailed 95 %"
    rates = [rate(c)[0] for c in (q50, lo_c, hi_c)]
    statements = []
    if zero_in:
        statements.append(f"a leak below {rates[2] / LB_PER_DAY:.2g} lb/day ({rates[2] * 86400:.2g} kg/day) cannot be "
                          "told from zero in this record")
    else:
        statements.append(f"a leak of {rates[1] / LB_PER_DAY:.3g}–{rates[2] / LB_PER_DAY:.3g} lb/day (95 %) is seen")
    if len(gb["sites"]) > 1:
        statements.append(f"the record cannot tell apart {', '.join(gb['sites'])}: the same gauges saw them alike "
                          "throughout (one zone)")
    for gr, p in zip(groups, pg, strict=True):
        if not gr["observed"]:
            statements.append(
                f"no gauge sees {', '.join(gr['sites'])}: the record neither shows nor excludes a leak there; its "
                f"probability ({p:.2f}) is what is left when the observed compartments show less leak than the prior "
                f"(up to {record.max_rate / LB_PER_DAY:g} lb/day) allows; the numbers above are for {site}")
    if not any(f.temperature_log for f in fits):
        statements.append("no temperature log: temperature changes are not corrected (±1 K moves p by ±0.34 %)")
    gauges = []
    for gi, f in enumerate(fits):
        g = f.series
        k = int(np.argmin(np.abs(grid - q50)))
        gauges.append({
            "id": g.id, "at": g.at, "reads": g.reads, "readings_used": len(f.t),
            "expanded_on_change": f.expanded, "resolution_Pa": g.resolution,
            "resolution_mmHg": round(g.resolution / MMHG, 6),
            "noise_Pa": float(gb["sigma"][gi][k]), "noise": "given" if g.noise is not None else "estimated (posterior mean)",
            "temperature_log": f.temperature_log,
        })
    groups_out = []
    for gr, p in zip(groups, pg, strict=True):
        g025, g50, g975 = _quantiles(gr["grid"], gr["density"], [0.025, 0.5, 0.975])
        groups_out.append({"sites": gr["sites"], "probability": float(p), "observed": gr["observed"],
                           "cda_median_m2": g50, "cda_95_m2": [g025, g975]})
    t_lo, t_hi = treserve(hi_c), treserve(lo_c)
    return {
        "record": record.name,
        "station": st.name,
        "duration_s": record.duration,
        "method": ("forward model: the zonal atmosphere solver over the record's hatch history (3 runs per "
                   "candidate group, log-interpolated); interval likelihood of the gauges' steps and noise; "
                   "flat prior on Cd*A up to max_rate; per-gauge scale and unknown noise integrated out"),
        "most_probable": max(site_prob, key=lambda c: site_prob[c]),
        "numbers_for": gb["sites"],  # the most probable group some gauge sees: what the numbers below are for
        "site_probability": dict(sorted(site_prob.items(), key=lambda kv: -kv[1])),
        "groups": groups_out,
        "cda": {"median_m2": q50, "interval_m2": [lo_c, hi_c], "interval": interval, "zero_excluded": not zero_in,
                "median_mm2": q50 * 1e6, "interval_mm2": [lo_c * 1e6, hi_c * 1e6]},
        "rate_at_end": {"kg_per_day": [r * 86400 for r in rates], "lb_per_day": [r / LB_PER_DAY for r in rates],
                        "order": ["median", "low", "high"], "pressure_Pa": rate(q50)[1]},
        "hole_diameter_mm": {"median": diameter(q50) * 1e3, "interval": [diameter(lo_c) * 1e3, diameter(hi_c) * 1e3],
                             "cd": record.cd},
        "treserve_s": {"median": treserve(q50), "interval": [t_lo, t_hi], "floor_Pa": floor,
                       "zone_volume_m3": V_zone},
        "prior": {"max_rate_lb_per_day": record.max_rate / LB_PER_DAY, "cda_max_m2": c_max,
                  "candidates": record.candidates},
        "gauges": gauges,
        "statements": statements,
        "notes": notes,
    }
