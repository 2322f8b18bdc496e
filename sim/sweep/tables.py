"""The end-of-sweep summary: outcome fractions per bin of each varied parameter (pandas)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bin_labels", "bin_text", "outcome_category", "outcome_table"]

MAX_LEVELS = 10
"""A parameter with at most this many distinct values is tabulated per value, not binned."""


def outcome_category(df) -> Any:
    """Per row: ``failed`` for a failed run, else the outcome, suffixed `` (checks failed)`` when a
    check failed (so the categories answer "did it go well" at a glance)."""
    out = df["outcome"].astype(object).where(df["status"] == "ok", "failed")
    bad = (df["status"] == "ok") & (df["checks_passed"].astype(object) == False)  # noqa: E712
    return out.where(~bad, out.astype(str) + " (checks failed)")


def bin_labels(values, log: bool, bins: int = 5):
    """Values cut into *bins* intervals (log-spaced when *log*), or kept as is when few distinct."""
    import pandas as pd

    x = pd.Series(values)
    if x.nunique() <= MAX_LEVELS or not np.issubdtype(x.dtype, np.number):
        return x.astype(object)
    lo, hi = float(x.min()), float(x.max())
    if log and lo > 0:
        edges = np.logspace(np.log10(lo), np.log10(hi), bins + 1)
    else:
        edges = np.linspace(lo, hi, bins + 1)
    # pandas widens the first interval below the smallest value when it includes it (0.1 shows as
    # 0.099); here the intervals are the sampled range's own edges, the smallest value in the first
    # (bin_text names it closed: [lo, e1])
    edges[0], edges[-1] = lo, hi
    edges = np.unique(edges)
    codes = pd.cut(x, edges, include_lowest=True, labels=False).fillna(-1).astype(int)  # -1: no value
    intervals = pd.IntervalIndex.from_breaks(edges, closed="right")
    return pd.Series(pd.Categorical.from_codes(codes.to_numpy(), categories=intervals, ordered=True), index=x.index)


def bin_text(label: Any, lowest: bool = False) -> str:
    """A bin as people read it: interval ends to 4 significant digits (``(0.117, 3.85]``), never the
    float noise of the computed edges; a single value as it is. *lowest*: the first bin of
    :func:`bin_labels`, which holds its left end (``[0.1, 0.398]``)."""
    import pandas as pd

    if isinstance(label, pd.Interval):
        lo = "[" if lowest or label.closed in ("left", "both") else "("
        hi = "]" if label.closed in ("right", "both") else ")"
        return f"{lo}{label.left:.4g}, {label.right:.4g}{hi}"
    if isinstance(label, float):
        return f"{label:.6g}"
    return str(label)


def outcome_table(df, params: dict[str, dict[str, Any]], bins: int = 5):
    """One row per (parameter, bin): the number of runs and the fraction in each outcome category.

    Parameters
    ----------
    df : pandas.DataFrame
        As :func:`sim.sweep.load` returns.
    params : dict
        Varied path -> ``{"unit": str, "log": bool}`` (the sweep's ``params`` settings).
    """
    import pandas as pd

    cat = outcome_category(df)
    categories = sorted(cat.dropna().astype(str).unique())
    rows = []
    for path, info in params.items():
        labels = bin_labels(df[path], info.get("log", False), bins)
        first = labels.cat.categories[0] if hasattr(labels, "cat") else None
        for label, idx in labels.groupby(labels, observed=True, sort=True).groups.items():
            c = cat.loc[idx].astype(str)
            row = {"parameter": path + (f" [{info['unit']}]" if info.get("unit") else ""),
                   "bin": bin_text(label, lowest=label == first),
                   "runs": len(idx)}
            row |= {k: float((c == k).mean()) for k in categories}
            rows.append(row)
    return pd.DataFrame(rows, columns=["parameter", "bin", "runs", *categories])
