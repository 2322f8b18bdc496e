"""``safehaven sweep analyze``: Sobol' indices or Morris effects of a sweep's metric, with SALib.

A sweep made with ``--design saltelli`` gives first-order (``S1``), total (``ST``) and second-order
(``S2``) Sobol' indices; one made with ``--design morris`` gives the Morris ``mu_star`` (mean
absolute elementary effect), ``mu`` and ``sigma``. Every value comes with a bootstrap confidence
interval (SALib's ``num_resamples`` resamples, 95 % by default), written as ``low``/``high``
(``value -+ conf``, as SALib reports it).

The metric is a numeric column (``leaked_kg``), a pass/fail column (``checks_passed``,
``checks.<name>.passed``: analysed as 1 for pass, 0 for fail), or ``COLUMN=VALUE`` for a text
column (``outcome=evacuated``: 1 where the outcome is *evacuated*). With replicates, the metric of a
point is the mean of its replicates (a probability, for pass/fail).

Failed runs are never dropped silently. A point is *missing* when one of its runs failed, was not
run yet, or has no value of the metric (NaN: a Treserve never measured). Policies:

``refuse`` (default)
    Any missing point stops the analysis (exit 2) and says how many and which.
``conditional``
    Keep only the Saltelli blocks (``2 D + 2`` points sharing one base sample) or Morris
    trajectories (``D + 1`` points) in which no point is missing, and analyse those: indices of the
    metric *conditional on the runs succeeding*, from fewer samples (wider intervals). The count
    of blocks dropped is reported with the indices.

Morris effects are per unit of each field's CDF coordinate: moving a uniform field across its
whole range is a step of 1, so ``mu_star`` is in the metric's unit and comparable between fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UsageError

__all__ = ["POLICIES", "Analysis", "analyze", "plot_analysis"]

POLICIES = ("refuse", "conditional")
RESAMPLES = 1000
CONF_LEVEL = 0.95


@dataclass
class Analysis:
    """The result of :func:`analyze`.

    Attributes
    ----------
    method : ``sobol`` or ``morris``.
    metric : the metric as given (``leaked_kg``, ``outcome=evacuated``).
    table : a tidy pandas DataFrame: ``index`` (S1, ST, S2 / mu_star, mu, sigma), ``parameter``,
        ``parameter2`` (S2 only, else empty), ``value``, ``conf`` (half width), ``low``, ``high``.
    points, points_used : design points, and those analysed.
    runs_failed, points_missing : failed runs, and points left out or refused.
    blocks, blocks_used : Saltelli blocks or Morris trajectories, and those analysed.
    """

    method: str
    metric: str
    policy: str
    table: Any
    points: int
    points_used: int
    runs: int
    runs_failed: int
    points_missing: int
    blocks: int
    blocks_used: int
    conf_level: float = CONF_LEVEL
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {"method": self.method, "metric": self.metric, "policy": self.policy, "points": self.points,
                "points_used": self.points_used, "runs": self.runs, "runs_failed": self.runs_failed,
                "points_missing": self.points_missing, "blocks": self.blocks, "blocks_used": self.blocks_used,
                "conf_level": self.conf_level, "notes": self.notes, "indices": rows}


def _metric_values(df, metric: str):
    """The metric per run as floats (NaN where missing), and its description."""
    import pandas as pd

    column, _, value = metric.partition("=")
    if column not in df.columns:
        known = [c for c in df.columns if c in ("outcome", "checks_passed", "leaked_kg", "p_min_Pa", "treserve_s")
                 or c.startswith("checks.")]
        raise UsageError(f"--metric {metric}: no column {column!r} in the sweep; e.g. {', '.join(known[:8])}")
    x = df[column]
    if value:
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            raise UsageError(f"--metric {metric}: COLUMN=VALUE is for a text column; {column} is numeric")
        return np.where(x.isna(), np.nan, (x.astype(str) == value).astype(float))
    if pd.api.types.is_bool_dtype(x) or (x.dtype == object and x.dropna().map(type).eq(bool).all()
                                          and x.notna().any()):
        return np.array([np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else float(bool(v))
                         for v in x], dtype=float)
    if pd.api.types.is_numeric_dtype(x):
        return x.to_numpy(dtype=float)
    values = sorted(map(str, x.dropna().unique()))[:6]
    raise UsageError(f"--metric {metric}: {column} is text; name the value to analyse as COLUMN=VALUE, "
                     f"e.g. {column}={values[0] if values else 'VALUE'} (values: {', '.join(values)})")


def analyze(directory: str | Path, metric: str, policy: str = "refuse", *, resamples: int = RESAMPLES,
            conf_level: float = CONF_LEVEL, seed: int = 0) -> Analysis:
    """Sensitivity indices of *metric* over a saltelli or morris sweep (see the module docstring).

    Raises
    ------
    UsageError
        For a sweep of another design, an unknown metric, missing points under ``refuse``, a
        metric that does not vary (indices undefined), or no whole block under ``conditional``.
    """
    import warnings

    import pandas as pd

    from sim.sweep.design import design_from_settings, salib_problem
    from sim.sweep.store import SweepStore, load

    if policy not in POLICIES:
        raise UsageError(f"--failed {policy}: expected one of {', '.join(POLICIES)}")
    if resamples < 10:
        raise UsageError(f"--resamples must be >= 10, got {resamples}")
    store = SweepStore(directory)
    settings = store.meta()["settings"]
    kind = settings["design"]
    if kind not in ("saltelli", "morris"):
        raise UsageError(f"{directory}: sweep analyze needs a sweep made with --design saltelli or morris; "
                         f"this one is a {kind} design")
    design = design_from_settings(settings)
    specs = design.specs
    d = len(specs)
    df = load(directory)
    reps = design.replicates
    y_run = np.full(design.n_runs, np.nan)
    ok = np.zeros(design.n_runs, dtype=bool)
    run_ids = df["run_id"].to_numpy()
    y_run[run_ids] = _metric_values(df, metric)
    ok[run_ids] = (df["status"] == "ok").to_numpy()
    runs_failed = int((df["status"] != "ok").sum())
    not_run = design.n_runs - len(df)
    y_run[~ok] = np.nan
    y = y_run.reshape(design.n_points, reps).mean(axis=1)  # NaN if any replicate is missing
    missing = np.isnan(y)
    size = 2 * d + 2 if kind == "saltelli" else d + 1
    n_blocks = design.n_points // size
    whole = ~missing.reshape(n_blocks, size).any(axis=1)
    notes = []
    if missing.any():
        why = (f"{runs_failed} runs failed" + (f", {not_run} not run yet" if not_run else "")
               + f"; {int(missing.sum())} of {design.n_points} points have no value of {metric}")
        if policy == "refuse":
            first = np.flatnonzero(missing)[:8].tolist()
            raise UsageError(f"{directory}: {why} (points {', '.join(map(str, first))}"
                             f"{' ...' if missing.sum() > 8 else ''}); indices need every point. Run them "
                             f"(`safehaven sweep resume {directory} --retry-failed`), or analyse the metric "
                             f"conditional on success with --failed conditional")
        notes.append(f"{why}: analysed conditional on success, {int(whole.sum())} of {n_blocks} "
                     f"{'blocks' if kind == 'saltelli' else 'trajectories'} whole")
    if whole.sum() < 2:
        raise UsageError(f"{directory}: fewer than two whole {'blocks' if kind == 'saltelli' else 'trajectories'} "
                         f"of {metric}: nothing to analyse")
    keep = np.repeat(whole, size)
    y_used = y[keep]
    if np.nanstd(y_used) == 0:
        raise UsageError(f"--metric {metric}: the metric is {y_used[0]:g} at every point analysed; it does not "
                         f"vary, so its sensitivity indices are undefined")
    problem = salib_problem(specs)
    names = [s.path for s in specs]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "saltelli":
            from SALib.analyze import sobol

            si = sobol.analyze(problem, y_used, calc_second_order=True, num_resamples=resamples,
                               conf_level=conf_level, seed=seed)
            for key in ("S1", "ST"):
                rows += [{"index": key, "parameter": n, "parameter2": "", "value": si[key][i],
                          "conf": si[f"{key}_conf"][i]} for i, n in enumerate(names)]
            for i in range(d):
                for j in range(i + 1, d):
                    rows.append({"index": "S2", "parameter": names[i], "parameter2": names[j],
                                 "value": si["S2"][i, j], "conf": si["S2_conf"][i, j]})
        else:
            from SALib.analyze import morris

            from sim.sweep.design import MORRIS_LEVELS

            x = design.unit[keep]
            si = morris.analyze(problem, x, y_used, num_resamples=resamples, conf_level=conf_level,
                                num_levels=MORRIS_LEVELS, seed=seed)
            for i, n in enumerate(names):
                rows.append({"index": "mu_star", "parameter": n, "parameter2": "", "value": si["mu_star"][i],
                             "conf": si["mu_star_conf"][i]})
                rows.append({"index": "mu", "parameter": n, "parameter2": "", "value": si["mu"][i], "conf": np.nan})
                rows.append({"index": "sigma", "parameter": n, "parameter2": "", "value": si["sigma"][i],
                             "conf": np.nan})
    table = pd.DataFrame(rows, columns=["index", "parameter", "parameter2", "value", "conf"])
    table["value"] = table["value"].astype(float)
    table["conf"] = table["conf"].astype(float)
    table["low"] = table["value"] - table["conf"]
    table["high"] = table["value"] + table["conf"]
    return Analysis("sobol" if kind == "saltelli" else "morris", metric, policy, table, design.n_points,
                    int(keep.sum()), design.n_runs, runs_failed, int(missing.sum()), n_blocks, int(whole.sum()),
                    conf_level, notes)


def plot_analysis(analysis: Analysis, path: str | Path) -> Path:
    """Draw the indices with their intervals to a PNG: S1 and ST bars per field (Sobol'), or
    mu_star against sigma with mu_star's interval (Morris)."""
    from matplotlib.figure import Figure

    from sim.text import literal_figure

    t = analysis.table
    fig = Figure(figsize=(8, 1.6 + 0.55 * max(2, t["parameter"].nunique())), layout="constrained")
    ax = fig.add_subplot()
    pct = f"{analysis.conf_level:.0%}"
    if analysis.method == "sobol":
        names = list(dict.fromkeys(t.loc[t["index"] == "S1", "parameter"]))
        pos = np.arange(len(names))
        for k, (key, colour) in enumerate((("S1", "tab:blue"), ("ST", "tab:orange"))):
            sel = t[t["index"] == key].set_index("parameter").loc[names]
            ax.barh(pos + (k - 0.5) * 0.38, sel["value"], height=0.36, xerr=sel["conf"], color=colour,
                    capsize=3, label={"S1": "first order S1", "ST": "total ST"}[key])
        pairs = t[t["index"] == "S2"]
        pos2 = len(names) + np.arange(len(pairs))
        ax.barh(pos2, pairs["value"], height=0.36, xerr=pairs["conf"], color="tab:gray", capsize=3,
                label="second order S2 (pair)")
        names = names + [f"{a} x {b}" for a, b in zip(pairs["parameter"], pairs["parameter2"], strict=True)]
        pos = np.concatenate([pos, pos2])
        ax.set_yticks(pos, names)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"Sobol' index of {analysis.metric} (bars: {pct} bootstrap interval)")
        ax.legend(loc="lower right", fontsize="small")
    else:
        sel_m = t[t["index"] == "mu_star"].set_index("parameter")
        sel_s = t[t["index"] == "sigma"].set_index("parameter")
        ax.errorbar(sel_m["value"], sel_s.loc[sel_m.index, "value"], xerr=sel_m["conf"], fmt="o", capsize=3)
        for name in sel_m.index:
            ax.annotate(name, (sel_m.loc[name, "value"], sel_s.loc[name, "value"]), textcoords="offset points",
                        xytext=(5, 4), fontsize="small")
        ax.set_xlabel(f"mu* of {analysis.metric} (per whole range of the field; bars: {pct} interval)")
        ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.set_xlim(left=min(0, ax.get_xlim()[0]))
        ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
    used = f"{analysis.points_used} of {analysis.points} points"
    ax.set_title(f"{'Sobol' if analysis.method == 'sobol' else 'Morris'} sensitivity of {analysis.metric} "
                 f"({used}, {analysis.runs_failed} failed runs, policy {analysis.policy})", fontsize="medium")
    literal_figure(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
