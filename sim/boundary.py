"""Where an outcome flips: bisection in one varied field, a contour search in two, a fitted
probability curve where the outcome is random.

The *event* is what the search locates the onset of: a check failing (``checks_passed``, a check's
name, or ``checks.<name>.passed``) or an outcome (``outcome=VALUE``). Along each varied field the
probability of the event is assumed monotone (more leak, more failure); the ends of the range must
disagree, else there is no boundary inside it and the search says so.

1-D, deterministic (``replicates`` 1): bisection (in log space for ``log``/``loguniform`` ranges)
until the bracket is narrower than ``2 tol`` relative; the boundary is the bracket's middle, its
interval the bracket itself (exact bounds: the event flips inside it).

1-D, random (``replicates`` R > 1): each probe runs R replicates, each run with a seed of its own
(``SeedSequence(seed, spawn_key=(k,))``, *k* counting the runs of the search), so the runs are the
independent Bernoulli trials the fit assumes. A majority bisection first narrows the range, then a logistic curve
``P(event) = 1 / (1 + exp(-(t - mu) / s))`` (t the field, or its log) is fitted to every run by
maximum likelihood; new probes go to ``mu -+ s`` until the 95 % interval of ``mu`` (from the
observed information) is within ``tol``, or the run budget is spent. The boundary is ``mu``
(P = 0.5), with its interval; the curve is drawn with its 95 % band (delta method).

2-D: bisection along the first field on lines of the second (its range's count, default 5), then
lines are added halfway between neighbours whose boundaries differ by more than a tenth of the
first field's range (in its scale), up to ``max_lines``: an adaptive contour.

The comparison with a grid. Deterministic: a grid locating the boundary as closely needs a
spacing of ``2 tol`` (relative to the boundary; in a log range, of the value), i.e.
``ceil(span / (2 tol)) + 1`` points per line. Random: a grid over the range with the same total
runs would learn less about ``mu`` per run; the Fisher information a run at ``t`` carries about
``mu`` is ``p (1 - p) / s^2``, so a grid needs ``runs x I(probes) / I(grid)`` runs (the mean
information of the search's runs over that of a uniform grid over the range, under the fitted
curve) for the same interval. The result states the runs used against that count.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError, Problem, UsageError
from sim.sweep.design import Spec, format_value

__all__ = ["BoundaryResult", "Event", "Probe", "find_boundary", "parse_event"]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Event:
    """What is located: ``column`` of a sweep row, and whether a row has the event."""

    text: str
    column: str
    value: str | None  # outcome=VALUE; None for a check (the event is its failure)

    def of(self, row: dict[str, Any]) -> bool:
        if self.value is not None:
            return str(row.get(self.column)) == self.value
        passed = row.get(self.column)
        if passed is None:
            raise UsageError(f"--metric {self.text}: the run has no {self.column}; known checks: "
                             f"{', '.join(k[7:-7] for k in row if k.startswith('checks.') and k.endswith('.passed'))}")
        return not bool(passed)

    @property
    def label(self) -> str:
        return f"P({self.column} = {self.value})" if self.value is not None else f"P({self.text} fails)"


def parse_event(text: str) -> Event:
    """``checks_passed``, ``checks.NAME.passed``, a check NAME, or ``outcome=VALUE``."""
    if "=" in text:
        column, value = (x.strip() for x in text.split("=", 1))
        if not column or not value:
            raise UsageError(f"--metric {text}: expected COLUMN=VALUE, e.g. outcome=evacuated")
        return Event(text, column, value)
    if text == "checks_passed" or (text.startswith("checks.") and text.endswith(".passed")):
        return Event(text, text, None)
    return Event(text, f"checks.{text}.passed", None)


@dataclass
class Probe:
    """One value (or point) tried: its runs and how many had the event."""

    x: tuple[float, ...]
    runs: int
    events: int
    line: int = 0

    @property
    def p(self) -> float:
        return self.events / self.runs


@dataclass
class BoundaryResult:
    """Where the event begins.

    Attributes
    ----------
    fields : the varied fields (the first is searched; the second gives the lines of a 2-D search).
    units : their units, as in the specs.
    boundary : per line, ``{"y", "value", "low", "high", "kind"}``; ``kind`` is ``bracket`` (exact
        bounds), ``fit`` (a 95 % interval of the fitted P = 0.5 point), or ``none`` with ``side``
        (``event`` or ``no event`` everywhere on the line) when it does not flip in the range.
    fit : per line with replicates, ``{"mu", "s", "cov"}`` of the logistic curve (in t).
    probes, runs : every probe; total runs.
    grid_runs : the runs of a grid locating the boundary as closely (see the module docstring).
    """

    event: Event
    fields: list[str]
    units: list[str]
    log: list[bool]
    replicates: int
    tol: float
    boundary: list[dict[str, Any]]
    probes: list[Probe]
    fits: list[dict[str, Any] | None] = field(default_factory=list)
    grid_runs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(p.runs for p in self.probes)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event.text, "probability_of": self.event.label, "fields": self.fields,
                "units": self.units, "log": self.log, "replicates": self.replicates, "tol": self.tol,
                "boundary": self.boundary, "runs": self.runs, "grid_runs": self.grid_runs,
                "ratio": self.runs / self.grid_runs if self.grid_runs else None,
                "fits": self.fits, "notes": self.notes,
                "probes": [{"x": list(p.x), "runs": p.runs, "events": p.events, "line": p.line} for p in self.probes]}


class _Runner:
    """Runs the scenario at a point, R replicates, in this process; counts events."""

    def __init__(self, scenario: Path, specs: list[Spec], event: Event, replicates: int, seed: int | None,
                 extra: list[str], max_runs: int):
        from sim.scenario.yamlio import load_yaml

        self.doc = load_yaml(scenario)
        self.specs, self.event, self.replicates, self.extra = specs, event, replicates, list(extra)
        from sim.scenario.load import scenario_from_document

        base = scenario_from_document(self.doc, self.extra)
        self.seed = base.scenario.seed if seed is None else int(seed)
        self.max_runs = max_runs
        self.probes: list[Probe] = []

    def __call__(self, x: tuple[float, ...], line: int = 0, replicates: int | None = None) -> Probe:
        from sim.sweep.worker import run_one

        reps = replicates or self.replicates
        if sum(p.runs for p in self.probes) + reps > self.max_runs:
            raise _Budget()
        overrides = [*self.extra, *(f"{s.path}={format_value(s, v)}" for s, v in zip(self.specs, x, strict=False))]
        events = 0
        first = sum(p.runs for p in self.probes)
        for r in range(reps):
            row = run_one(self.doc, self.seed, first + r, overrides)
            if row["status"] != "ok":
                if row.get("error_kind") == "input":
                    raise InputError(Problem(f"--vary {self.specs[0].path}", 0, "",
                                             f"the run at {', '.join(overrides)} does not load: {row['error']}"))
                raise UsageError(f"the run at {', '.join(overrides)} (replicate {r}) failed: {row['error']}; "
                                 f"the boundary cannot be located through a failed run")
            events += self.event.of(row)
        probe = Probe(tuple(x), reps, events, line)
        self.probes.append(probe)
        return probe


class _Budget(Exception):
    """The run budget is spent."""


def _to_t(x: float, log: bool) -> float:
    return math.log(x) if log else x


def _from_t(t: float, log: bool) -> float:
    return math.exp(t) if log else t


def _range(spec: Spec) -> tuple[float, float, bool, int | None]:
    if spec.kind in ("lin", "log"):
        lo, hi, count = spec.args
        return float(lo), float(hi), spec.kind == "log", int(count)
    if spec.kind in ("uniform", "loguniform"):
        return float(spec.args[0]), float(spec.args[1]), spec.kind == "loguniform", None
    raise UsageError(f"--vary {spec.path}: boundary needs a range: lin(lo, hi, n), log(lo, hi, n), "
                     f"uniform(lo, hi) or loguniform(lo, hi), with its unit")


def _halve(run, ta: float, tb: float, log: bool, line: int, y: tuple[float, ...],
           event_high: bool) -> tuple[float, float]:
    """One bisection step on the axis t (ln x on a log axis): keep the half whose ends differ by majority."""
    tm = 0.5 * (ta + tb)
    if (run((_from_t(tm, log), *y), line).p >= 0.5) == event_high:
        return ta, tm
    return tm, tb


def _bisect(run, lo: float, hi: float, log: bool, tol: float, line: int, y: tuple[float, ...]) -> dict[str, Any]:
    """Deterministic bisection on one line; *y* are the other fields' values."""
    a, b = run((lo, *y), line), run((hi, *y), line)
    if (a.p >= 0.5) == (b.p >= 0.5):
        return {"y": list(y), "value": None, "low": None, "high": None, "kind": "none",
                "side": "event" if a.p >= 0.5 else "no event"}
    ta, tb = _to_t(lo, log), _to_t(hi, log)
    event_high = b.p >= 0.5
    width = (lambda u, v: abs(v - u)) if log else (lambda u, v: abs(v - u) / max(abs(u), abs(v)))
    while width(ta, tb) > 2 * tol:
        ta, tb = _halve(run, ta, tb, log, line, y, event_high)
    low, high = sorted((_from_t(ta, log), _from_t(tb, log)))
    mid = _from_t(0.5 * (ta + tb), log)
    return {"y": list(y), "value": mid, "low": low, "high": high, "kind": "bracket",
            "event_above": bool(event_high)}


def _fit_logistic(t: np.ndarray, k: np.ndarray, n: np.ndarray):
    """Maximum likelihood of P = expit((t - mu) / s) [s may be negative: event below]; (mu, s, cov)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    span = max(float(np.ptp(t)), 1e-12)
    t0 = float(np.mean(t))

    increasing = np.corrcoef(t, k / n)[0, 1] >= 0 if np.ptp(k / n) > 0 and np.ptp(t) > 0 else True
    sign = 1.0 if increasing else -1.0

    def nll_signed(theta):
        mu, log_s = theta
        z = sign * (t - mu) / (math.exp(log_s) * span)
        p = np.clip(expit(z), 1e-12, 1 - 1e-12)
        return -float(np.sum(k * np.log(p) + (n - k) * np.log(1 - p)))

    best = min((minimize(nll_signed, [m0, ls0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10,
                                                                                   "maxiter": 4000})
                for m0 in (t0, float(np.median(t))) for ls0 in (-3.0, -1.0)), key=lambda r: r.fun)
    mu, log_s = best.x
    s = math.exp(log_s) * span * sign
    def ll(mu_, s_):  # for the observed information in (mu, s), by central differences
        z = (t - mu_) / s_
        p = np.clip(expit(z), 1e-12, 1 - 1e-12)
        return float(np.sum(k * np.log(p) + (n - k) * np.log(1 - p)))

    h = np.array([abs(s) * 1e-3, abs(s) * 1e-3])
    theta = np.array([mu, s])
    hess = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (ll(*(theta + ei + ej)) - ll(*(theta + ei - ej)) - ll(*(theta - ei + ej))
                          + ll(*(theta - ei - ej))) / (4 * h[i] * h[j])
    try:
        cov = np.linalg.inv(-hess)
        if not np.all(np.isfinite(cov)) or cov[0, 0] <= 0:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    return float(mu), float(s), cov


def _random_line(run, lo: float, hi: float, log: bool, tol: float, line: int, y: tuple[float, ...],
                 bisections: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Majority bisection, then a logistic fit refined by probes at mu -+ s."""
    a, b = run((lo, *y), line), run((hi, *y), line)
    if a.p == b.p and a.p in (0.0, 1.0):
        return ({"y": list(y), "value": None, "low": None, "high": None, "kind": "none",
                 "side": "event" if a.p == 1.0 else "no event"}, None)
    ta, tb = _to_t(lo, log), _to_t(hi, log)
    event_high = b.p >= a.p
    for _ in range(bisections):
        ta, tb = _halve(run, ta, tb, log, line, y, event_high)
    fit = None
    try:
        for _ in range(40):
            mine = [p for p in run.probes if p.line == line and tuple(p.x[1:]) == tuple(y)]
            t = np.array([_to_t(p.x[0], log) for p in mine])
            k = np.array([p.events for p in mine], dtype=float)
            n = np.array([p.runs for p in mine], dtype=float)
            mu, s, cov = _fit_logistic(t, k, n)
            fit = {"mu": mu, "s": s, "cov": cov.tolist()}
            se = math.sqrt(cov[0, 0]) if np.isfinite(cov[0, 0]) else math.inf
            half = Z95 * se
            rel = half if log else half / max(abs(mu), 1e-300)
            if rel <= tol:
                break
            t_lo, t_hi = _to_t(lo, log), _to_t(hi, log)
            for tp in (mu - abs(s), mu + abs(s)):
                run((_from_t(min(max(tp, t_lo), t_hi), log), *y), line)
    except _Budget:
        run.notes.append("the run budget (--max-runs) was spent before the interval reached --tol")
    if fit is None:
        return ({"y": list(y), "value": None, "low": None, "high": None, "kind": "none", "side": "unknown"}, None)
    mu, cov = fit["mu"], np.array(fit["cov"])
    se = math.sqrt(cov[0, 0]) if np.isfinite(cov[0, 0]) else math.inf
    return ({"y": list(y), "value": _from_t(mu, log), "low": _from_t(mu - Z95 * se, log) if se < math.inf else None,
             "high": _from_t(mu + Z95 * se, log) if se < math.inf else None, "kind": "fit",
             "event_above": bool(fit["s"] > 0)}, fit)


def _grid_points(lo: float, hi: float, log: bool, tol: float, boundary: float | None) -> int:
    """Points of a grid over [lo, hi] spaced ``2 tol`` relative to the boundary (log: to the value)."""
    if log:
        span = math.log(hi / lo)
    else:
        span = abs(hi - lo) / max(abs(boundary) if boundary else 0.0, 1e-300) if boundary else abs(hi - lo) / max(abs(lo), abs(hi))
    return math.ceil(span / (2 * tol)) + 1


def _grid_equivalent(fit: dict[str, Any], probes: list[Probe], lo: float, hi: float, log: bool) -> int:
    """Runs a uniform grid over the range needs for the same information about mu (random case)."""
    from scipy.special import expit

    mu, s = fit["mu"], fit["s"]

    def info(t):
        p = expit((np.asarray(t) - mu) / s)
        return p * (1 - p)

    t_probes = np.repeat([_to_t(p.x[0], log) for p in probes], [p.runs for p in probes])
    t_grid = np.linspace(_to_t(lo, log), _to_t(hi, log), 2001)
    mean_grid = float(np.mean(info(t_grid)))
    if mean_grid <= 0:
        return 0
    return math.ceil(len(t_probes) * float(np.mean(info(t_probes))) / mean_grid)


def find_boundary(scenario: str | Path, specs: list[Spec], event: Event, *, replicates: int = 1,
                  tol: float = 0.005, seed: int | None = None, overrides: list[str] | tuple[str, ...] = (),
                  max_runs: int = 2000, max_lines: int = 17, bisections: int = 6) -> BoundaryResult:
    """Locate the boundary of *event* over one or two varied fields (see the module docstring).

    Parameters
    ----------
    specs : one or two ranges (``lin``/``log``/``uniform``/``loguniform``, with units).
    replicates : runs per probe; more than 1 for a random outcome.
    tol : the relative half-width aimed at (0.005: the boundary within 0.5 %).
    max_runs : the budget of runs; max_lines : of a 2-D contour.

    Raises
    ------
    UsageError
        For a bad spec, a failed run, or settings out of range.
    """
    if not 1 <= len(specs) <= 2:
        raise UsageError("boundary takes one --vary (bisection) or two (a contour)")
    if replicates < 1:
        raise UsageError(f"--replicates must be >= 1, got {replicates}")
    if not 0 < tol < 0.5:
        raise UsageError(f"--tol must be between 0 and 0.5 (a relative width), got {tol}")
    if max_runs < 2:
        raise UsageError(f"--max-runs must be >= 2, got {max_runs}")
    from sim.sweep.runner import _check_units

    _check_units(specs)
    lo, hi, log, _ = _range(specs[0])
    run = _Runner(Path(scenario), specs, event, replicates, seed, list(overrides), max_runs)
    run.notes = []
    lines: list[tuple[float, ...]] = [()]
    if len(specs) == 2:
        ylo, yhi, ylog, count = _range(specs[1])
        count = count or 5
        if count < 2:
            raise UsageError(f"--vary {specs[1].path}: a contour needs at least 2 lines")
        ts = np.linspace(_to_t(ylo, ylog), _to_t(yhi, ylog), count)
        lines = [(_from_t(float(t), ylog),) for t in ts]
    results: dict[tuple[float, ...], dict[str, Any]] = {}
    fits: dict[tuple[float, ...], Any] = {}

    def do_line(y, index):
        if replicates == 1:
            results[y] = _bisect(run, lo, hi, log, tol, index, y)
        else:
            results[y], fits[y] = _random_line(run, lo, hi, log, tol, index, y, bisections)

    try:
        for i, y in enumerate(lines):
            do_line(y, i)
        if len(specs) == 2:
            scale = (math.log(hi / lo) if log else hi - lo) / 10
            while len(results) < max_lines:
                ys = sorted(results)
                gaps = []
                for y0, y1 in itertools.pairwise(ys):
                    v0, v1 = results[y0]["value"], results[y1]["value"]
                    if v0 is None and v1 is None:
                        continue
                    far = (v0 is None or v1 is None
                           or abs(_to_t(v1, log) - _to_t(v0, log)) > scale)
                    if far:
                        gaps.append((y0, y1))
                if not gaps:
                    break
                for y0, y1 in gaps[: max_lines - len(results)]:
                    ym = (_from_t(0.5 * (_to_t(y0[0], ylog) + _to_t(y1[0], ylog)), ylog),)
                    do_line(ym, len(results))
    except _Budget:
        run.notes.append(f"the run budget (--max-runs {max_runs}) was spent; the contour is incomplete")
    ys = sorted(results)
    grid = 0
    for y in ys:
        b, fit = results[y], fits.get(y)
        if fit is not None:
            grid += _grid_equivalent(fit, [p for p in run.probes if tuple(p.x[1:]) == y], lo, hi, log)
        else:
            grid += _grid_points(lo, hi, log, tol, b["value"]) * replicates
    return BoundaryResult(event, [s.path for s in specs], [s.unit for s in specs],
                          [log] + ([ylog] if len(specs) == 2 else []), replicates, tol,
                          [results[y] for y in ys], run.probes, [fits.get(y) for y in ys], grid, run.notes)


def curve(fit: dict[str, Any], t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitted P(event) at *t* with its 95 % band (delta method on the linear predictor)."""
    from scipy.special import expit

    mu, s = fit["mu"], fit["s"]
    cov = np.array(fit["cov"])
    eta = (t - mu) / s
    grad = np.stack([-1 / s * np.ones_like(t), -(t - mu) / s**2])  # d eta / d(mu, s)
    var = np.einsum("in,ij,jn->n", grad, cov, grad) if np.all(np.isfinite(cov)) else np.full_like(t, np.nan)
    se = np.sqrt(np.maximum(var, 0))
    return expit(eta), expit(eta - Z95 * se), expit(eta + Z95 * se)


def plot_boundary(result: BoundaryResult, path: str | Path) -> Path:
    """P(event) against the field with the fitted curve and band (1-D), or the contour (2-D)."""
    from matplotlib.figure import Figure

    from sim.text import literal_figure

    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    name0 = result.fields[0] + (f" [{result.units[0]}]" if result.units[0] else "")
    log = result.log[0]
    if len(result.fields) == 1:
        b = result.boundary[0]
        xs = np.array([p.x[0] for p in result.probes])
        ps = np.array([p.p for p in result.probes])
        ax.scatter(xs, ps, s=18 + 4 * np.array([p.runs for p in result.probes]), color="black", zorder=3,
                   label=f"probes ({result.runs} runs)")
        fit = result.fits[0] if result.fits else None
        if fit is not None:
            lo_t, hi_t = (_to_t(min(xs), log), _to_t(max(xs), log))
            t = np.linspace(lo_t, hi_t, 400)
            p, plo, phi = curve(fit, t)
            xx = np.array([_from_t(v, log) for v in t])
            ax.plot(xx, p, color="tab:red", label="fitted P (logistic)")
            ax.fill_between(xx, plo, phi, color="tab:red", alpha=0.2, label="95 % band")
        elif b["kind"] == "bracket":
            xmin, xmax = min(xs), max(xs)
            step = [0, 1] if b["event_above"] else [1, 0]
            ax.step([xmin, b["value"], xmax], [step[0], step[1], step[1]], where="post", color="tab:red",
                    label="P (deterministic: a step)")
        if b["value"] is not None:
            ax.axvline(b["value"], color="tab:blue", lw=1.2, label=f"boundary {b['value']:.4g}")
            if b["low"] is not None and b["high"] is not None:
                ax.axvspan(b["low"], b["high"], color="tab:blue", alpha=0.2, label="its interval")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel(name0)
        ax.set_ylabel(result.event.label)
    else:
        name1 = result.fields[1] + (f" [{result.units[1]}]" if result.units[1] else "")
        xs = [p.x[0] for p in result.probes]
        ys = [p.x[1] for p in result.probes]
        ev = [p.p >= 0.5 for p in result.probes]
        ax.scatter([x for x, e in zip(xs, ev, strict=True) if e], [y for y, e in zip(ys, ev, strict=True) if e],
                   marker="x", color="tab:red", label="probe: event")
        ax.scatter([x for x, e in zip(xs, ev, strict=True) if not e],
                   [y for y, e in zip(ys, ev, strict=True) if not e], marker="o", facecolors="none",
                   edgecolors="tab:green", label="probe: no event")
        pts = [b for b in result.boundary if b["value"] is not None]
        if pts:
            bx = np.array([b["value"] for b in pts])
            by = np.array([b["y"][0] for b in pts])
            err = np.array([[b["value"] - (b["low"] or b["value"]) for b in pts],
                            [(b["high"] or b["value"]) - b["value"] for b in pts]])
            ax.errorbar(bx, by, xerr=err, color="tab:blue", marker="s", ms=4, capsize=3, label="boundary")
        if result.log[1]:
            ax.set_yscale("log")
        ax.set_xlabel(name0)
        ax.set_ylabel(name1)
    if log:
        ax.set_xscale("log")
    ratio = (f"{result.runs} runs; a uniform grid for the same information: {result.grid_runs}"
             if result.replicates > 1 else f"{result.runs} runs; a grid as fine: {result.grid_runs}")
    ax.set_title(f"Where {result.event.text} flips ({ratio})", fontsize="medium")
    ax.legend(fontsize="small", loc="best")
    literal_figure(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
