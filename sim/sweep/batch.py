"""Batch mode: the members of an atmosphere-only sweep integrated together, as one array.

A sweep whose scenario has no crew, procedures, timeline or scripted events, and whose design
varies only the sizes of its leaks, runs the same course in every member: the engine's
caution-and-warning monitor looks ahead over batches of polls on the closed-form atmosphere,
stops at a poll where an alarm changes, and goes on. This module carries out that course for many
members at once (:class:`~sim.atmosphere.ensemble.EnsembleAtmosphere` holds their atmospheres),
member by member exactly as :class:`sim.engine.Simulation` would: the same look-ahead batches,
the same real-solver steps to a trip, the same dP/dt history, reserve-floor interpolation and
minimum tracking, so each member's trip and alarm times are its own. Its rows are the single
runs' rows (the tests compare them through ``safehaven sweep`` and the Python API).

Exact or not at all:

* :func:`ineligible` decides from the loaded scenario and the varied fields whether the batch can
  reproduce the ordinary runs, and says in one line why not;
* a member whose solver would leave the closed form (the frozen gas constant's error control
  rejects a step) or whose state is not finite is run alone, by the ordinary engine;
* in every chunk the first member is also run alone, and its row must equal the batch's row
  (1e-9 relative on numbers, exactly otherwise), or the whole chunk runs member by member.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BLOCK", "BatchResult", "batch_columns", "ineligible", "integrate", "leak_values", "manifest", "rows_equal",
           "run_batch_chunk"]

BLOCK = 2048
"""Members integrated together in one array (bounds memory: ~60 MB of samples per look-ahead)."""
_LOOKAHEAD_POLLS = 360  # the engine's look-ahead batch (sim.engine.monitor.LOOKAHEAD_POLLS)
_LEAK_FIELDS = ("rate", "area", "diameter", "cd")
_FIXED_CHECKS = ("outcome", "leak_repaired", "hatch_closed", "nobody_incapacitated", "nobody_impaired",
                 "crew_in_shelter", "all_crew_in_shelter")
"""Check kinds whose result is the same in every member of an eligible scenario (no crew, no
repairs, no hatch events, outcome ``completed``); ``min_pressure`` is computed per member."""


# -- eligibility ------------------------------------------------------------------------------
def _leak_path(path: str, leaks) -> tuple[int, str] | None:
    """(leak index, field) of a ``leaks.<id or index>.<field>`` path, or None."""
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "leaks" or parts[2] not in _LEAK_FIELDS:
        return None
    for i, leak in enumerate(leaks):
        if leak.id == parts[1]:
            return i, parts[2]
    if parts[1].isdigit() and int(parts[1]) < len(leaks):
        return int(parts[1]), parts[2]
    return None


def _on_grid(times: np.ndarray, step: float) -> bool:
    return bool(np.all(np.mod(times, step) == 0) and np.all(np.abs(times) < 2.0**52))


def ineligible(loaded, paths: list[str]) -> str | None:
    """Why batch mode cannot reproduce this sweep's runs exactly (one line), or None when it can.

    Parameters
    ----------
    loaded : LoadedScenario
        The sweep's scenario with the first point's values.
    paths : list of str
        The varied fields.
    """
    from sim.results.series import sample_times
    from sim.station import gas_network

    sc, st = loaded.scenario, loaded.station
    if sc.crew:
        return "the scenario has crew (their moves, breathing and hazards are run member by member)"
    if sc.run or sc.timeline:
        return "the scenario runs procedures (their steps depend on each run's alarms and readings)"
    if sc.events:
        return "the scenario has scripted events (batch mode takes leaks that start at 0 and nothing else)"
    if sc.cabin_temperature is not None:
        return "the scenario changes cabin temperatures"
    if sc.solver.thermo != "isothermal" or sc.solver.hatch_model != "merge":
        return f"the solver is {sc.solver.thermo} with {sc.solver.hatch_model} hatches (batch mode: isothermal, merge)"
    if not sc.leaks:
        return "the scenario has no leak"
    if any(leak.start != 0 for leak in sc.leaks):
        return "a leak starts after 0 s (batch mode takes leaks that start at 0)"
    unsupported = [c.expect for c in sc.checks if c.expect != "min_pressure" and c.expect not in _FIXED_CHECKS]
    if unsupported:
        return f"a check of kind {unsupported[0]!r} needs the full series of each run"
    for path in paths:
        if _leak_path(path, sc.leaks) is None:
            return f"it varies {path} (batch mode varies only leaks.<id>.{{{', '.join(_LEAK_FIELDS)}}})"
    hatch_open = {h: s == "open" for h, s in sc.initial.hatches.items()}
    valve_open = {h: s == "open" for h, s in sc.initial.valves.items()}
    net = gas_network(st, hatch_open, valve_open)
    from sim.atmosphere.ensemble import zone_labels

    z = zone_labels(net)
    cda = np.where(net.valve_open, net.valve_cd * net.valve_area, 0.0) + np.where(net.hatch_open, 0.0, net.seal_cda)
    if np.any((cda > 0) & (z[net.edge_u] != z[net.edge_v])):
        return "gas flows between zones (an open valve or a closed hatch's seal), which needs the implicit flow solver"
    a = st.alarms
    times = sample_times(sc.duration, sc.output.every)
    if not (float(a.poll).is_integer() and a.poll > 0 and _on_grid(times[times < sc.duration], a.poll)
            and math.isfinite(sc.duration) and sc.duration < 2.0**52):
        return "the output times are not on the alarm poll grid (batch mode needs output.every a multiple of the poll)"
    return None


def leak_values(loaded, specs, columns: dict[str, list[Any]]) -> dict[int, dict[str, np.ndarray]]:
    """Per leak index, the varied fields' values of every run in SI, from the design's columns.

    The conversion is pint's, on arrays, which gives the same floats as the loader's for each text.
    """
    from sim.scenario.paths import quantity_kinds
    from sim.units import KINDS, unit_registry

    out: dict[int, dict[str, np.ndarray]] = {}
    for s in specs:
        i, field = _leak_path(s.path, loaded.scenario.leaks)
        values = np.asarray(columns[s.path], dtype=float)
        kinds = sorted(quantity_kinds(s.path))
        if s.unit and kinds:
            si = KINDS[kinds[0]].si_unit or "1"
            values = np.asarray(unit_registry().Quantity(values, s.unit).to(si).magnitude, dtype=float)
        out.setdefault(i, {})[field] = values
    return out


# -- the course of every member ------------------------------------------------------------------
@dataclass
class BatchResult:
    """What the summary of each member needs, one entry per member (compartment order ``n``).

    ``diverged`` members left the closed form (or went non-finite): run them alone.
    """

    cda: np.ndarray           # (B, L) [m^2]
    p_min: np.ndarray         # (B, n) [Pa]
    p_min_t: np.ndarray       # (B, n) [s]
    p_end: np.ndarray         # (B, n) [Pa]
    floor_t: np.ndarray       # (B, n) [s], NaN when never below the reserve floor
    leaked: np.ndarray        # (B, 3) [kg]
    leaked_by_leak: np.ndarray  # (B, L, 3) [kg]
    n_alarms: np.ndarray      # (B,)
    detected_t: np.ndarray    # (B,) first rapid_depress alarm [s], NaN if none
    diverged: np.ndarray      # (B,) bool


def _leak_cda(loaded, values: dict[int, dict[str, np.ndarray]], n: int) -> np.ndarray:
    """Effective areas (B, L) [m^2] as :meth:`sim.engine.Simulation._leak_cda` computes them."""
    from sim.atmosphere import cda_from_leak_rate, hole_area_from_diameter, mixture_gas_constant
    from sim.atmosphere.flow import R_SPECIES
    from sim.station import gas_network, initial_masses

    sc, st = loaded.scenario, loaded.station
    net = gas_network(st)
    index = {c: i for i, c in enumerate(net.names)}
    m0 = initial_masses(st)
    p0 = (m0 * R_SPECIES).sum(axis=1) * net.temperature / net.volume
    out = np.empty((n, len(sc.leaks)))
    for j, leak in enumerate(sc.leaks):
        v = values.get(j, {})
        i = index[leak.at]
        rate = v.get("rate", None if leak.rate is None else np.full(n, leak.rate))
        if rate is not None:
            R = float(mixture_gas_constant(m0[i] / m0[i].sum()))
            out[:, j] = cda_from_leak_rate(rate, p0[i], net.temperature[i], R)
            continue
        cd = v.get("cd", np.full(n, leak.cd))
        if "area" in v or (leak.area is not None and "diameter" not in v):
            area = v.get("area", np.full(n, leak.area if leak.area is not None else np.nan))
        else:
            d = v.get("diameter", np.full(n, leak.diameter if leak.diameter is not None else np.nan))
            area = hole_area_from_diameter(d)
        out[:, j] = cd * area
    return out


def integrate(loaded, cda: np.ndarray, block: int = BLOCK) -> BatchResult:
    """Every member's course (see the module docstring); *cda* (B, L) [m^2] per member and leak."""
    parts = [_integrate_block(loaded, cda[i:i + block]) for i in range(0, len(cda), block)]
    return BatchResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in BatchResult.__dataclass_fields__))


def _integrate_block(loaded, cda: np.ndarray) -> BatchResult:
    from sim.atmosphere import SolverOptions
    from sim.atmosphere.ensemble import EnsembleAtmosphere
    from sim.atmosphere.flow import R_SPECIES
    from sim.results.series import sample_times
    from sim.station import gas_network, initial_masses

    sc, st = loaded.scenario, loaded.station
    B = len(cda)
    hatch_open = {h: s == "open" for h, s in sc.initial.hatches.items()}
    valve_open = {h: s == "open" for h, s in sc.initial.valves.items()}
    net = gas_network(st, hatch_open, valve_open)
    index = {c: i for i, c in enumerate(net.names)}
    m0 = initial_masses(st)
    p0 = (m0 * R_SPECIES).sum(axis=1) * net.temperature / net.volume
    ens = EnsembleAtmosphere(net, m0, B, SolverOptions(thermo=sc.solver.thermo, hatch_model=sc.solver.hatch_model))
    for cid, comp in (st.compartments | st.vehicles).items():  # the engine's order
        if comp.life_support is not None and comp.life_support.co2_scrub:
            ens.add_scrubber(index[cid], comp.life_support.co2_scrub)
    for cid, comp in (st.compartments | st.vehicles).items():
        if comp.life_support is not None and comp.life_support.o2_supply > 0:
            ens.add_source(index[cid], np.array([0.0, comp.life_support.o2_supply, 0.0]))
    nz = ens.nz
    a, floor, end = st.alarms, st.limits.reserve_floor, float(sc.duration)
    poll = float(a.poll)
    window = a.dpdt_window - 1e-9
    lag = 1
    while not lag * poll >= window:  # the newest poll at least one window older is this many back
        lag += 1
    ref_dt = lag * poll
    samples = sample_times(sc.duration, sc.output.every)

    # t = 0: the first leak's sync records the sample at 0 before any leak opens (nothing moves)
    p_now = ens.zone_p(ens.M)
    zmin = p_now.copy()
    zmin_t = np.zeros((B, nz))
    for j, leak in enumerate(sc.leaks):
        ens.add_leak(leak.id, index[leak.at], cda[:, j])
    hist = np.zeros((B, lag, nz))
    active = np.zeros((B, 3), bool)
    n_alarms = np.zeros(B)
    detected = np.full(B, np.nan)
    floor_z = np.full((B, nz), np.nan)
    p_end = np.full((B, nz), np.nan)
    diverged = ~np.all(cda > 0, axis=1)  # a zero-sized leak is never open: left to the ordinary engine
    t_b = np.zeros(B)
    done = np.zeros(B, bool)
    course = np.zeros(B, dtype=np.int64)  # which sequence of trip times the member followed
    courses: dict[tuple[int, float], int] = {}
    first = True

    def conditions(p, o2, co2, dpdt):
        """The engine's alarm conditions in one zone, in ALARMS order (each shaped like p)."""
        return dpdt < a.rapid_depress, co2 > a.ppCO2_high, (o2 < a.ppO2_low) & (p > 0)

    def lowest(p, valid):
        """Per row the lowest valid sample and its index (the first of equals, as argmin)."""
        pm = np.where(valid, p, np.inf)
        k = np.argmin(pm, axis=1)
        return pm[np.arange(len(pm)), k], k

    def observe(r, z, lows, when):
        """The engine's _observe: a strictly lower pressure replaces the minimum and its time."""
        better = lows < zmin[r, z]
        zmin[r, z] = np.where(better, lows, zmin[r, z])
        zmin_t[r, z] = np.where(better, when, zmin_t[r, z])

    def first_below(p, valid, r, z):
        """Per row: any valid sample below the floor (the zone not yet crossed), and the first."""
        below = (p < floor) & valid & np.isnan(floor_z[r, z])[:, None]
        return below.any(axis=1), np.argmax(below, axis=1)

    def cross(r, z, hit, t, pk, t0, q0, known):
        """The engine's crossing instant, interpolated from the poll before (_crossing_time)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            interp = t0 + (t - t0) * (q0 - floor) / (q0 - pk)
        crossed = np.where(~known | (q0 <= floor) | (q0 == pk), t, interp)
        floor_z[r, z] = np.where(hit, crossed, floor_z[r, z])

    shared = ens.shared_zones
    steps = np.arange(_LOOKAHEAD_POLLS)
    while True:
        rows = np.flatnonzero(~done & ~diverged)
        if not len(rows):
            break
        b = len(rows)
        tb, ts = t_b[rows], ens.t[rows]
        # the polls of each member's look-ahead: now + poll * arange, before the horizon (the end; at
        # 0 s the scripted process's end) and never past the end. Times are whole seconds below 2^52,
        # so every sum and difference of them here is exact, as the engine computes it.
        if first:
            Jb = np.ones(b, dtype=np.int64)
        else:
            Jb = np.minimum(_LOOKAHEAD_POLLS, np.ceil((end - tb) / poll)).astype(np.int64)
        J = int(Jb.max())
        last = Jb - 1
        valid = None if np.all(Jb == J) else steps[:J] < Jb[:, None]
        if first or np.all(tb - ts == poll):
            rows_dts = None
            dts = (tb[0] + poll * steps[:J]) - ts[0]  # one row for all (their polls follow their last)
        else:
            rows_dts = (tb[:, None] + poll * steps[:J]) - ts[:, None]
            dts = None
        h = (tb + poll * last) - ts
        m_h, lk_h, by_h = ens.local(rows, h)
        # the look-ahead itself leaves the closed form where the frozen gas constant's error is too large
        diverged[rows] |= (h > 0) & (ens.drift_error(rows, m_h, h) > 1.0)
        has_ref = None if np.all(tb >= ref_dt) else (tb[:, None] + poll * steps[:J]) >= ref_dt
        has_prev = tb > 0
        # each zone on representative rows: every member for a zone a leak reaches; for a zone no
        # leak reaches, one member per course (the times at which it tripped so far): its state, its
        # history and its polls are those of every member of the course, to the bit
        if shared.any():
            _, rep0, inv0 = np.unique(course[rows], return_index=True, return_inverse=True)
            groups = (rep0, inv0.reshape(-1))
        zones = []
        sound: list = [None, None, None]
        for z in range(nz):
            if shared[z]:
                rep, inv = groups
            else:
                rep = inv = None  # every member
            sel = slice(None) if rep is None else rep
            p, o2, co2 = ens.sample(rows[sel], dts if rows_dts is None else rows_dts[sel], z)
            hz = hist[rows[sel], :, z]
            # dP/dt over the alarm window: the poll lag polls back, from this batch or the history
            dpdt = np.empty_like(p)
            n0 = min(lag, J)
            np.subtract(p[:, :n0], hz[:, :n0], out=dpdt[:, :n0])
            if J > lag:
                np.subtract(p[:, lag:], p[:, :J - lag], out=dpdt[:, lag:])
            dpdt /= ref_dt
            if has_ref is not None:
                dpdt = np.where(has_ref[sel], dpdt, 0.0)
            for a_i, bit in enumerate(conditions(p, o2, co2, dpdt)):
                if rep is None:
                    sound[a_i] = bit if sound[a_i] is None else sound[a_i] | bit
                elif bit.any():
                    sound[a_i] = bit[inv] if sound[a_i] is None else sound[a_i] | bit[inv]
            zones.append((rep, inv, p, hz))
        act = active[rows]
        changed = None
        for a_i in range(3):
            if sound[a_i] is None:
                if not act[:, a_i].any():
                    continue
                c = np.broadcast_to(act[:, a_i, None], (b, J))
            elif not act[:, a_i].any():
                c = sound[a_i]
            else:
                c = sound[a_i] != act[:, a_i, None]
            changed = c if changed is None else changed | c
        if changed is None:
            trip = np.zeros(b, bool)
        else:
            if valid is not None:
                changed = changed & valid
            trip = changed.any(1)
        k = np.zeros(b, dtype=np.int64)
        if trip.any():
            k[trip] = np.argmax(changed[trip], axis=1)

        def member(zone, q):
            """One zone's samples (len(q), J) and its history (len(q), lag) for members q."""
            rep, inv, p, hz = zone
            if rep is None:
                return p[q], hz[q]
            return p[inv[q]], hz[inv[q]]

        # members where nothing changed: adopt the look-ahead
        q = np.flatnonzero(~trip)
        if len(q):
            r = rows[q]
            ens.commit(r, m_h[q], lk_h[q], by_h[q], (tb + poll * last)[q])
            for z, zone in enumerate(zones):
                rep, inv, p, hz = zone
                mi = q if rep is None else inv[q]
                lows, kmin = lowest(p, None if valid is None else (valid if rep is None else valid[rep]))
                observe(r, z, lows[mi], tb[q] + poll * kmin[mi])
                fresh = np.isnan(floor_z[r, z])
                if fresh.any():
                    cand = np.flatnonzero(fresh & (np.min(p, axis=1)[mi] < floor))
                    if len(cand):
                        pc, hc = member(zone, q[cand])
                        vc = None if valid is None else valid[q[cand]]
                        below = (pc < floor) if vc is None else (pc < floor) & vc
                        kk = np.argmax(below, axis=1)
                        ok = below.any(axis=1)
                        ac = np.arange(len(cand))
                        Pc = np.concatenate([hc, pc], axis=1)
                        t0 = np.where(kk > 0, tb[q[cand]] + poll * np.maximum(kk - 1, 0), tb[q[cand]] - poll)
                        cross(r[cand], z, ok, tb[q[cand]] + poll * kk, Pc[ac, lag + kk], t0, Pc[ac, lag + kk - 1],
                              (kk > 0) | has_prev[q[cand]])
                # the history: the last lag polls of (history, this batch)
                if np.all(Jb[q] >= lag):
                    take = Jb[q][:, None] - lag + np.arange(lag)
                    hist[r, :, z] = p[mi[:, None], take]
                else:
                    pm, hm = member(zone, q)
                    take = Jb[q][:, None] + np.arange(lag)
                    hist[r, :, z] = np.take_along_axis(np.concatenate([hm, pm], axis=1), take, axis=1)
            t_b[r] = tb[q] + poll * last[q] + poll

        # members where an alarm changes at poll k: the engine's way to that poll, then the poll
        q = np.flatnonzero(trip)
        if len(q):
            r = rows[q]
            kq = k[q]
            nq = len(q)
            ar = np.arange(nq)
            polls = tb[q][:, None] + poll * steps[:J]
            t_trip = tb[q] + poll * kq
            pz, Pz = [], []
            for zone in zones:
                pm, hm = member(zone, q)
                pz.append(pm)
                Pz.append(np.concatenate([hm, pm], axis=1))
            before = steps[:J] < kq[:, None]
            if valid is not None:
                before &= valid[q]
            for z in range(nz):
                hit, kf = first_below(pz[z], before, r, z)
                if hit.any():
                    t0 = np.where(kf > 0, polls[ar, np.maximum(kf - 1, 0)], tb[q] - poll)
                    cross(r, z, hit, polls[ar, kf], Pz[z][ar, lag + kf], t0, Pz[z][ar, lag + kf - 1],
                          (kf > 0) | has_prev[q])
            # sync: the samples due up to the trip, from the real solver, then a local step to the trip
            due = np.isin(polls, samples) & (polls > ts[q][:, None]) & (steps[:J] <= kq[:, None])
            has_due = np.flatnonzero(due.any(1))
            if len(has_due):
                s_ = has_due
                for z in range(nz):
                    lows, kmin = lowest(pz[z][s_], due[s_])
                    observe(r[s_], z, lows, polls[s_, kmin])
                d = J - 1 - np.argmax(due[s_][:, ::-1], axis=1)
                hd = polls[s_, d] - ts[q][s_]
                m_d, lk_d, by_d = ens.local(r[s_], hd)
                diverged[r[s_]] |= (hd > 0) & (ens.drift_error(r[s_], m_d, hd) > 1.0)
                ens.commit(r[s_], m_d, lk_d, by_d, polls[s_, d])
            h2 = t_trip - ens.t[r]
            s_ = np.flatnonzero(h2 > 0)
            if len(s_):
                m2, lk2, by2 = ens.local(r[s_], h2[s_])
                err = ens.drift_error(r[s_], m2, h2[s_])
                diverged[r[s_]] |= ~(err <= 1.0)
                ens.commit(r[s_], m2, lk2, by2, t_trip[s_])
            # the poll at the trip, on the real state (_poll_now)
            ppr = ens.zone_pp(ens.M[r])
            pr = ppr.sum(-1)
            sr = np.zeros((nq, 3), bool)
            for z in range(nz):
                ref = Pz[z][ar, kq]
                dr = np.where(t_trip >= ref_dt, (pr[:, z] - ref) / ref_dt, 0.0)
                sr |= np.stack(conditions(pr[:, z], ppr[:, z, 1], ppr[:, z, 2], dr), axis=1)
                observe(r, z, pr[:, z], t_trip)
            newly = sr & ~active[r]
            n_alarms[r] += newly.sum(1)
            detected[r] = np.where(np.isnan(detected[r]) & newly[:, 0], t_trip, detected[r])
            active[r] = sr
            for z in range(nz):
                pq = Pz[z][ar, lag + kq - 1]
                hit = (pr[:, z] < floor) & np.isnan(floor_z[r, z])
                cross(r, z, hit, t_trip, pr[:, z], t_trip - poll, pq, (kq > 0) | has_prev[q])
                take = kq[:, None] + 1 + np.arange(lag - 1)  # the polls before, then the trip's
                hist[r, :, z] = np.concatenate([Pz[z][ar[:, None], take], pr[:, z, None]], axis=1)
            t_b[r] = t_trip + poll
            for m, t in zip(r.tolist(), t_trip.tolist(), strict=True):
                course[m] = courses.setdefault((int(course[m]), t), len(courses) + 1)
        done[rows] |= t_b[rows] >= end
        first = False

    # the end: the samples still due, from each member's last poll
    rows = np.flatnonzero(~diverged)
    if len(rows):
        i0 = np.searchsorted(samples, ens.t[rows], side="right")
        K = int((len(samples) - i0).max())
        kk = i0[:, None] + np.arange(K)
        valid = kk < len(samples)
        times = samples[np.minimum(kk, len(samples) - 1)]
        dts = times - ens.t[rows][:, None]
        last = valid.sum(1) - 1
        ar = np.arange(len(rows))
        for z in range(nz):
            p, _, _ = ens.sample(rows, dts, z)
            lows, kmin = lowest(p, valid)
            observe(rows, z, lows, times[ar, kmin])
            p_end[rows, z] = p[ar, last]
        h = dts[ar, last]
        m_h, lk_h, by_h = ens.local(rows, h)
        diverged[rows] |= (h > 0) & (ens.drift_error(rows, m_h, h) > 1.0)
        ens.commit(rows, m_h, lk_h, by_h, times[ar, last])
    diverged |= ~np.all(np.isfinite(ens.M), axis=(1, 2)) | ~np.isfinite(ens.leaked).all(1)
    zo = ens.zone_of
    lower = zmin[:, zo] < p0
    return BatchResult(
        cda=cda, p_min=np.where(lower, zmin[:, zo], p0), p_min_t=np.where(lower, zmin_t[:, zo], 0.0),
        p_end=p_end[:, zo], floor_t=floor_z[:, zo], leaked=ens.leaked, leaked_by_leak=ens.leaked_by_leak,
        n_alarms=n_alarms, detected_t=detected, diverged=diverged)


# -- rows --------------------------------------------------------------------------------------
def _r(x: float) -> float:
    """The summary's rounding (6 significant digits), as a metric (inf and nan as floats)."""
    x = float(x)
    if not math.isfinite(x):
        return x
    return float(f"{x:.6g}")


def _rounded(x: np.ndarray) -> np.ndarray:
    """:func:`_r` of every element, formatting each distinct value once."""
    x = np.asarray(x, float)
    u, inv = np.unique(x, return_inverse=True)
    return np.array([_r(v) for v in u])[inv.reshape(x.shape)] if len(u) else x


def _column_names(loaded) -> list[str]:
    names, seen = [], set()
    for i, c in enumerate(loaded.scenario.checks):
        name = str(c.name or c.expect or i)
        if f"checks.{name}.passed" in seen:
            name = f"{name}.{i}"
        seen.add(f"checks.{name}.passed")
        names.append(name)
    return names


def _optional(x: np.ndarray):
    """A number column where NaN means none (None in the summary): as the store would type it."""
    return [None] * len(x) if np.isnan(x).all() else x


def _fixed(v: Any, n: int):
    """A column holding one value in every row (the ordinary run's)."""
    if isinstance(v, bool):
        return np.full(n, v, dtype=bool)
    if isinstance(v, float):
        return np.full(n, v)
    return [v] * n


def batch_columns(loaded, result: BatchResult, template: dict[str, Any], run_ids) -> dict[str, Any]:
    """The sweep rows of the members as columns, from their results and one ordinary run's row
    (*template*: the columns every member shares, such as supplies, start pressures and fixed checks).

    Numbers are float arrays, flags bool arrays, texts lists; a number column where some member
    has none holds NaN there, and one where none has a value is a list of None: the store types
    each as it would type the same rows given one by one (:class:`sim.sweep.store.RowBlock`).
    """
    from sim.station import gas_network

    sc, st = loaded.scenario, loaded.station
    names = gas_network(st).names
    B = len(run_ids)
    cols: dict[str, Any] = {}
    pmin_r, pmint_r, pend_r = _rounded(result.p_min), _rounded(result.p_min_t), _rounded(result.p_end)
    floor_r = _rounded(result.floor_t)
    for i, name in enumerate(names):
        cols[f"compartments.{name}.p_min_Pa"] = pmin_r[:, i]
        cols[f"compartments.{name}.p_min_t_s"] = pmint_r[:, i]
        cols[f"compartments.{name}.p_end_Pa"] = pend_r[:, i]
        cols[f"compartments.{name}.reserve_floor_t_s"] = _optional(floor_r[:, i])
    low = result.p_min.min(axis=1)
    cols["p_min_Pa"] = _rounded(low)
    cols["p_min_at"] = [names[j] for j in np.argmin(result.p_min, axis=1).tolist()]
    cols["leaked_kg"] = _rounded(result.leaked.sum(axis=1))
    first_floor = np.where(np.isnan(floor_r), np.inf, floor_r).min(axis=1)
    cols["reserve_floor_t_s"] = np.where(np.isinf(first_floor), np.nan, first_floor)
    cols["n_alarms"] = result.n_alarms.astype(float)
    detected = _rounded(result.detected_t)
    for j, leak in enumerate(sc.leaks):
        key = f"leaks.{leak.id}"
        cols[f"{key}.cda_m2"] = _rounded(result.cda[:, j])
        by = _rounded(result.leaked_by_leak[:, j].sum(axis=1))
        cols[f"{key}.leaked_kg"] = by
        if not leak.known:
            cols[f"{key}.detected_s"] = _optional(detected)
            cols[f"{key}.detected_by"] = [None if math.isnan(v) else "alarm" for v in detected.tolist()]
        if template.get(f"{key}.isolated_s") is None:  # open to the station to the end: what it took meanwhile
            cols[f"{key}.open_to_station_kg"] = by
    passed_all = np.ones(B, bool)
    failed = np.zeros(B)
    index = {c: i for i, c in enumerate(names)}
    for c, name in zip(sc.checks, _column_names(loaded), strict=True):
        if c.expect == "min_pressure":
            lowest = low if c.of == "station" else result.p_min[:, index[c.of]]
            margin = lowest - c.above
            passed = margin > 0
            cols[f"checks.{name}.passed"] = passed
            cols[f"checks.{name}.margin"] = _rounded(margin)
        else:
            passed = np.full(B, bool(template[f"checks.{name}.passed"]))
        passed_all &= passed
        failed += ~passed
    cols["checks_passed"] = passed_all
    cols["checks_failed"] = failed
    unknown = [k for k in cols if k not in template]
    if unknown:
        raise KeyError(f"batch mode computes {unknown[0]!r}, which the ordinary row lacks")
    out: dict[str, Any] = {"run_id": np.asarray(run_ids, dtype=np.int64), "status": ["ok"] * B,
                           "error_kind": [None] * B, "error": [None] * B}
    for k, v in template.items():
        if k not in out:
            out[k] = cols[k] if k in cols else _fixed(v, B)
    return out


def _select(columns: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    return {k: v[keep] if isinstance(v, np.ndarray) else [v[i] for i in keep.tolist()] for k, v in columns.items()}


def _row(columns: dict[str, Any], i: int) -> dict[str, Any]:
    return {k: (v[i].item() if isinstance(v, np.ndarray) else v[i]) for k, v in columns.items()}


def rows_equal(a: dict[str, Any], b: dict[str, Any], rtol: float = 1e-9) -> str | None:
    """None when two rows agree (numbers within *rtol* relative, everything else exactly), else the
    first column that differs, with both values."""
    def missing(v):  # a number column stores None as NaN
        return v is None or (isinstance(v, float) and math.isnan(v))

    for k in dict.fromkeys([*a, *b]):
        x, y = a.get(k, "<missing>"), b.get(k, "<missing>")
        if missing(x) and missing(y):
            continue
        if isinstance(x, float) and isinstance(y, float) and not isinstance(x, bool) and not isinstance(y, bool):
            if (math.isnan(x) and math.isnan(y)) or x == y:
                continue
            if math.isfinite(x) and math.isfinite(y) and abs(x - y) <= rtol * max(abs(x), abs(y)):
                continue
            return f"{k}: {x!r} (batch) vs {y!r} (single)"
        if x != y or type(x) is not type(y):
            return f"{k}: {x!r} (batch) vs {y!r} (single)"
    return None


# -- a chunk of a sweep ----------------------------------------------------------------------------
def run_batch_chunk(job, doc, run_one, before_run):
    """The rows of a chunk of an eligible sweep (a RowBlock): its first run alone, the rest in batch.

    *run_one* and *before_run* are :func:`sim.sweep.worker.run_one` and the worker's test hook
    ``before_run(run_id, job.die_once)`` (passed in: the worker is the one that calls this module).
    """
    from sim.scenario.load import scenario_from_document
    from sim.sweep.design import Spec
    from sim.sweep.store import RowBlock

    run_ids = [r for r, _ in job.runs]
    for r in run_ids:  # the hook that kills a worker about to run a run: every run of the chunk counts
        before_run(r, job.die_once)
    single = [run_one(doc, job.root_seed, r, ov, job.die_once, job.spawn_key(r)) for r, ov in job.runs[:1]]
    template = single[0]
    if template["status"] != "ok" or len(job.runs) == 1:
        return single + [run_one(doc, job.root_seed, r, ov, job.die_once, job.spawn_key(r)) for r, ov in job.runs[1:]]
    loaded = scenario_from_document(doc, list(job.runs[0][1]))
    specs = [Spec.from_dict(s) for s in job.batch["specs"]]
    columns = {s.path: [_value(ov, s.path) for _, ov in job.runs] for s in specs}
    try:
        cda = _leak_cda(loaded, leak_values(loaded, specs, columns), len(run_ids))
        result = integrate(loaded, cda)
        block = batch_columns(loaded, result, template, run_ids)
        why = rows_equal(_row(block, 0), template)
    except (KeyError, ValueError) as exc:  # the ordinary row holds what batch mode does not know
        why = f"{type(exc).__name__}: {exc}"
    if why is not None:
        print(f"safehaven sweep: batch mode disagreed with the ordinary run of run {run_ids[0]} ({why}); "
              f"its chunk of {len(run_ids)} runs runs member by member", file=sys.stderr, flush=True)
        return single + [run_one(doc, job.root_seed, r, ov, job.die_once, job.spawn_key(r)) for r, ov in job.runs[1:]]
    alone = [template] + [run_one(doc, job.root_seed, *job.runs[b], job.die_once, job.spawn_key(job.runs[b][0]))
                          for b in np.flatnonzero(result.diverged).tolist() if b > 0]
    keep = np.flatnonzero(~result.diverged)
    keep = keep[keep > 0]
    return RowBlock(_select(block, keep), alone)


def _value(overrides, path: str) -> float:
    """The number of a run's ``PATH=NUMBER UNIT`` override (written with repr: exact)."""
    for o in overrides:
        key, _, text = o.partition("=")
        if key == path:
            return float(text.split()[0])
    raise KeyError(path)


def manifest(reason: str | None) -> dict[str, Any]:
    """The ``engine`` entry of sweep.json: which engine produces the rows, and why."""
    if reason is None:
        return {"mode": "batch", "reason": "an atmosphere-only scenario, only leak sizes varied"}
    return {"mode": "single", "reason": reason}
