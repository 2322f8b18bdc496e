"""Plots of a leak estimate: the fit against the readings with residuals, and the posterior."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.leakhunt.estimate import MMHG, EstimateResult

__all__ = ["plot_fit", "plot_posterior"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _hours(t: np.ndarray) -> np.ndarray:
    return np.asarray(t) / 3600.0


def plot_fit(result: EstimateResult, png_path: str | Path) -> Path:
    """Each gauge's readings (steps) and the fitted model at the posterior median, residuals below.

    The residual panel shades ± half a resolution step: a stepped reading is consistent with the
    model wherever the model lies inside its step.
    """
    plt = _pyplot()
    fits = result.fits
    fig, axes = plt.subplots(2, len(fits), figsize=(6.4 * len(fits), 6.2), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.3]}, sharex="col")
    for k, (f, model) in enumerate(zip(fits, result.model_best, strict=True)):
        ax, axr = axes[0, k], axes[1, k]
        g = f.series
        h = _hours(f.t)
        if f.expanded:  # a report-on-change reading stands until the next change
            ax.step(h, f.y / MMHG, where="post", color="0.35", lw=0.9, label="readings (held between changes)")
        else:
            ax.plot(h, f.y / MMHG, "o" if len(h) < 50 else ".", ms=4 if len(h) < 50 else 2.5, color="0.35",
                    label="readings")
        ax.plot(h, model / MMHG, "-" if len(h) >= 50 else "x--", color="C3", lw=1.4,
                label="model at the posterior median" + ("" if len(h) >= 50 else " (at the readings)"))
        what = "ppN2" if g.reads == "N2" else "total pressure"
        ax.set_title(f"{g.id}: {what} in {g.at}", fontsize=10)
        ax.set_ylabel("mmHg")
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
        res = (f.y - model) / MMHG
        axr.plot(h, res, ".", ms=2.5, color="0.25")
        if g.resolution > 0:
            half = 0.5 * g.resolution / MMHG
            axr.axhspan(-half, half, color="C0", alpha=0.15, label="± half a step")
            axr.legend(fontsize=7, loc="upper right")
        axr.axhline(0, color="C3", lw=0.8)
        axr.set_ylabel("reading − model\n[mmHg]", fontsize=8)
        axr.set_xlabel("time since the record's start [h]")
        axr.grid(alpha=0.3)
    fig.suptitle(result.report["record"], fontsize=11)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return Path(png_path)


def plot_posterior(result: EstimateResult, png_path: str | Path) -> Path:
    """The posterior of C_d·A (as the rate at the end of the record) and each candidate's probability."""
    plt = _pyplot()
    rep = result.report
    fig, (ax, axp) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    grid, dens = result.grid, result.density
    per_m2 = rep["rate_at_end"]["lb_per_day"][0] / rep["cda"]["median_m2"] if rep["cda"]["median_m2"] > 0 else None
    x = grid * per_m2 if per_m2 else grid * 1e6
    xl = "leak rate at the end of the record [lb/day]" if per_m2 else "Cd·A [mm²]"
    ax.plot(x, dens / dens.max(), color="C0")
    lo, hi = rep["cda"]["interval_m2"]
    sel = (grid >= lo) & (grid <= hi)
    ax.fill_between(x[sel], 0, (dens / dens.max())[sel], color="C0", alpha=0.25, label=f"95 % ({rep['cda']['interval']})")
    ax.axvline(rep["cda"]["median_m2"] * (per_m2 or 1e6), color="C3", lw=1, label="median")
    ax.set_xlabel(xl)
    ax.set_ylabel("posterior density (peak = 1)")
    where = rep["numbers_for"]
    place = where[0] if len(where) == 1 else f"{where[0]} (+{len(where) - 1} sharing its zone)"
    ax.set_title(f"the leak, if in {place}: the most probable place a gauge sees", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    probs = list(rep["site_probability"].items())[:12]
    unseen = {s for g in rep["groups"] if not g["observed"] for s in g["sites"]}
    names = [n + (" (no gauge sees it)" if n in unseen else "") for n, _ in probs][::-1]
    colors = ["0.7" if n in unseen else "C2" for n, _ in probs][::-1]
    axp.barh(names, [p for _, p in probs][::-1], color=colors)
    axp.set_xlim(0, 1)
    axp.set_xlabel("probability")
    axp.set_title("where is the leak?", fontsize=10)
    axp.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return Path(png_path)
