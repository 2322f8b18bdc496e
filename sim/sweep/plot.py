"""``safehaven sweep plot DIR``: outcome probability against each varied parameter, and a metric
against two parameters as a heat map. PNG files; matplotlib without pyplot (no global state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.text import literal_figure

__all__ = ["plot_sweep"]


def _label(path: str, info: dict) -> str:
    return path + (f" [{info['unit']}]" if info.get("unit") else "")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def plot_sweep(directory: str | Path, out: str | Path | None = None, metric: str | None = None,
               bins: int = 8) -> list[Path]:
    """Draw the sweep's plots into *out* (default ``DIR/plots``); returns the files written.

    Parameters
    ----------
    metric : str, optional
        Column shown by the heat map (its mean per cell); default ``checks_passed`` (the fraction
        of runs whose checks all passed).

    Raises
    ------
    UsageError
        For an unknown metric, or a sweep with no finished run.
    """
    from matplotlib.figure import Figure

    from sim.errors import UsageError
    from sim.sweep.runner import params_of
    from sim.sweep.store import SweepStore, load
    from sim.sweep.tables import bin_labels, bin_text, outcome_category

    store = SweepStore(directory)
    params = params_of(store.meta())
    df = load(directory)
    if not len(df):
        raise UsageError(f"{directory}: no finished run to plot")
    metric = metric or "checks_passed"
    if metric not in df.columns:
        raise UsageError(f"--metric {metric}: no such column; e.g. checks_passed, p_min_Pa, treserve_s")
    out = Path(out) if out is not None else store.root / "plots"
    out.mkdir(parents=True, exist_ok=True)
    cat = outcome_category(df).astype(str)
    written = []
    numeric = [p for p, info in params.items() if info.get("type") in ("float", "int")]
    for path, info in params.items():
        fig = Figure(figsize=(7, 4.2), layout="constrained")
        ax = fig.add_subplot()
        labels = bin_labels(df[path], info.get("log", False), bins)
        groups = cat.groupby(labels, observed=True, sort=True)
        if path in numeric and hasattr(labels, "cat") and hasattr(labels.cat.categories, "mid"):
            x = np.array([iv.mid for iv in groups.size().index])
        elif path in numeric:
            x = np.array(groups.size().index, dtype=float)
        else:
            x = np.arange(len(groups.size()))
            ax.set_xticks(x, [bin_text(v, lowest=i == 0) for i, v in enumerate(groups.size().index)])
        for k in sorted(cat.unique()):
            ax.plot(x, groups.apply(lambda c, k=k: float((c == k).mean())).to_numpy(), "o-", label=k)
        if path in numeric and info.get("log") and np.all(x > 0):
            ax.set_xscale("log")
        ax.set_xlabel(_label(path, info))
        ax.set_ylabel("fraction of runs")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"Outcome against {path} ({len(df)} runs)")
        ax.legend(fontsize="small")
        f = out / f"outcome_vs_{_safe(path)}.png"
        literal_figure(fig)
        fig.savefig(f, dpi=110)
        written.append(f)
    if len(numeric) >= 2:
        a, b = numeric[:2]  # the first two numeric fields, in --vary order: a across, b up
        la = bin_labels(df[a], params[a].get("log", False), bins)
        lb = bin_labels(df[b], params[b].get("log", False), bins)
        if df[metric].dtype == object or df[metric].dtype.kind in "OUS":
            # a text metric (outcome): one map per value, of the fraction of runs that had it
            values = df[metric].astype(object).where(df["status"] == "ok", "failed").astype(str)
            layers = [(f"{metric} = {v}", f"{metric}_{v}", (values == v).astype(float))
                      for v in sorted(values.unique())]
        else:
            layers = [(f"mean {metric}", metric, df[metric].astype(float))]
        for label, name, series in layers:
            grid = series.groupby([la, lb], observed=False).mean().unstack()
            fig = Figure(figsize=(7, 5), layout="constrained")
            ax = fig.add_subplot()
            im = ax.imshow(grid.to_numpy(dtype=float).T, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(grid.index)), [bin_text(v, lowest=i == 0) for i, v in enumerate(grid.index)],
                          rotation=45, ha="right", fontsize="small")
            ax.set_yticks(range(len(grid.columns)), [bin_text(v, lowest=i == 0) for i, v in enumerate(grid.columns)],
                          fontsize="small")
            ax.set_xlabel(_label(a, params[a]))
            ax.set_ylabel(_label(b, params[b]))
            fig.colorbar(im, ax=ax, label=label if label.startswith("mean") else f"fraction of runs, {label}")
            ax.set_title(f"{label} against {a} and {b}")
            f = out / f"heatmap_{_safe(name)}_{_safe(a)}_{_safe(b)}.png"
            literal_figure(fig)
            fig.savefig(f, dpi=110)
            written.append(f)
    return written
