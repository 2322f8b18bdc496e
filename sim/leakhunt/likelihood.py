"""The measurement model of a gauge: noise, then rounding to the gauge's resolution.

A reading y of a gauge with resolution q says that the noisy value lay in ``[y - q/2, y + q/2)``, so
its likelihood is the probability of that bin, ``Phi((y + q/2 - mu)/sigma) - Phi((y - q/2 - mu)/sigma)``
(an interval likelihood), not a Gaussian around the step: least squares on stepped readings treats
the rounding as noise and, when the noise is smaller than a step, gives intervals that are wrong in
both directions. Without rounding (q = 0) the likelihood is the Gaussian density.

Each gauge has an unknown scale factor alpha (the record's starting pressure and the gauge's
calibration), integrated out with a flat prior; an unknown noise level is integrated out with the
prior 1/sigma on a grid.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr

__all__ = ["SIGMA_FLOOR", "gauge_loglik", "log_bin_probability"]

SIGMA_FLOOR = 0.05
"""Smallest noise used, as a fraction of the resolution: a noiseless stepped gauge would make the
likelihood an indicator function that no grid resolves; 5 % of a step changes no bin probability
by more than a hair's breadth of a step."""
_N_ALPHA = 25
_N_SIGMA = 12
_CHUNK_ELEMENTS = 2_000_000


def log_bin_probability(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a < b``, accurate in both tails."""
    p = ndtr(b) - ndtr(a)
    out = np.log(np.maximum(p, 1e-300))
    # far in a tail the difference of two values of Phi loses its digits: take the mirror image
    # (both arguments negative) in logarithms there
    tiny = p < 1e-8
    if np.any(tiny):
        at, bt = a[tiny], b[tiny]
        flip = at > 0
        lo, hi = np.where(flip, -bt, at), np.where(flip, -at, bt)
        lh, ll = log_ndtr(hi), log_ndtr(lo)
        out[tiny] = lh + np.log1p(-np.exp(np.minimum(ll - lh, -1e-300)))
    return out


def _loglik_alpha(y, m, alpha, q, sigma):
    """Log-likelihood of every (row, alpha): y (N,), m (r, N), alpha (r, a) -> (r, a)."""
    mu = alpha[:, :, None] * m[:, None, :]
    if q > 0:
        a = (y - 0.5 * q - mu) / sigma
        b = (y + 0.5 * q - mu) / sigma
        return log_bin_probability(a, b).sum(-1)
    z = (y - mu) / sigma
    return (-0.5 * z * z).sum(-1) - len(y) * (np.log(sigma) + 0.5 * np.log(2 * np.pi))


def _marginal_alpha(y, m, q, sigma):
    """log of the integral over alpha of the likelihood, for every row of m (r, N) -> (r,)."""
    r, n = m.shape
    mm = (m * m).sum(1)
    a_hat = (m * y).sum(1) / mm
    s_eff = np.sqrt(sigma**2 + q**2 / 12.0)
    mbar = np.sqrt(mm / n)
    half = 10.0 * s_eff / (mbar * np.sqrt(n)) + q / mbar
    u = np.linspace(-1.0, 1.0, _N_ALPHA)
    # first pass, on every 8th row (the alpha of the mass moves smoothly with the row): where is it?
    probe = np.unique(np.r_[np.arange(0, r, 8), r - 1])
    grid = a_hat[probe, None] + half[probe, None] * u
    ll = _chunked(y, m[probe], grid, q, sigma)
    keep = ll > ll.max(1, keepdims=True) - 25.0  # e^-25 is nothing
    step = grid[:, 1] - grid[:, 0]
    lo = np.where(keep, grid, np.inf).min(1) - step - a_hat[probe]
    hi = np.where(keep, grid, -np.inf).max(1) + step - a_hat[probe]
    rows = np.arange(r)
    lo = a_hat + np.interp(rows, probe, lo) - np.interp(rows, probe, step)
    hi = a_hat + np.interp(rows, probe, hi) + np.interp(rows, probe, step)
    grid2 = lo[:, None] + (hi - lo)[:, None] * (0.5 * (u + 1.0))
    ll2 = _chunked(y, m, grid2, q, sigma)
    # the window must hold the mass: where it does not reach the edges by 25 log units, widen once
    edge = np.maximum(ll2[:, 0], ll2[:, -1]) > ll2.max(1) - 25.0
    if np.any(edge):
        w = hi[edge] - lo[edge]
        grid3 = (lo[edge] - w)[:, None] + (3.0 * w)[:, None] * (0.5 * (u + 1.0))
        ll3 = _chunked(y, m[edge], grid3, q, sigma)
        grid2[edge], ll2[edge], lo[edge], hi[edge] = grid3, ll3, lo[edge] - w, hi[edge] + w
    d = (hi - lo) / (_N_ALPHA - 1)
    return logsumexp(ll2, axis=1) + np.log(d)


def _chunked(y, m, grid, q, sigma):
    r, n = m.shape
    out = np.empty(grid.shape)
    chunk = max(1, _CHUNK_ELEMENTS // (grid.shape[1] * n))
    for s in range(0, r, chunk):
        out[s:s + chunk] = _loglik_alpha(y, m[s:s + chunk], grid[s:s + chunk], q, sigma)
    return out


def noise_guess(y: np.ndarray, q: float) -> float:
    """A rough noise level [Pa] from successive differences, for the sigma grid's centre."""
    if len(y) < 3:
        return max(q, 1e-3 * float(np.mean(y)))
    d = np.diff(y)
    s = float(np.sqrt(np.mean(d * d) / 2.0))
    return max(s, 0.3 * q, 1e-9 * float(np.mean(y)))


def gauge_loglik(y: np.ndarray, m: np.ndarray, q: float, sigma: float | None):
    """Log marginal likelihood of one gauge's readings for every row of the model.

    Parameters
    ----------
    y : ndarray (N,)
        Readings [Pa].
    m : ndarray (r, N)
        Model values without the scale factor [Pa], one row per leak hypothesis.
    q : float
        Resolution [Pa] (0: not quantized).
    sigma : float or None
        Noise standard deviation [Pa]; None integrates it out (prior 1/sigma).

    Returns
    -------
    loglik : ndarray (r,)
    sigma_used : ndarray (r,)  the noise used, or its posterior mean when integrated out [Pa]
    """
    if sigma is not None:
        s = max(sigma, SIGMA_FLOOR * q) if q > 0 else sigma
        return _marginal_alpha(y, m, q, s), np.full(len(m), s)
    centre = noise_guess(y, q)
    grid = np.geomspace(max(0.1 * centre, SIGMA_FLOOR * q if q > 0 else 0.0, 1e-300), 3.0 * centre, _N_SIGMA)
    ls = np.stack([_marginal_alpha(y, m, q, s) for s in grid], axis=1)  # (r, nsigma)
    dlog = np.log(grid[1] / grid[0]) if len(grid) > 1 else 1.0
    total = logsumexp(ls, axis=1) + np.log(dlog)
    w = np.exp(ls - ls.max(1, keepdims=True))
    mean_sigma = (w * grid).sum(1) / w.sum(1)
    return total, mean_sigma
