"""The exact local solution both closed-form solvers step with: one species in one zone under a
first-order sink and a constant source (the zonal solver's local step, and the batch ensemble,
which must reproduce it to the bit: one function, so they cannot drift apart)."""

from __future__ import annotations

import numpy as np

__all__ = ["exp_solution"]


def exp_solution(m0, k, S, dt):
    """Exact solution of dm/dt = -k m + S from m0 over dt, clamped at m = 0 (any broadcastable shapes).

    Returns (m, te), te <= dt being the time during which the rates acted in full (the instant a
    net sink empties the species).
    """
    kpos = k > 0
    ksafe = np.where(kpos, k, 1.0)
    kt = k * dt
    phi = np.where(kpos, -np.expm1(-kt) / ksafe, dt)  # int_0^dt exp(-k s) ds, exact as k -> 0
    m = m0 * np.exp(-kt) + S * phi
    sink = S < 0
    ssafe = np.where(sink, -S, 1.0)
    t0 = np.where(kpos, np.log1p(m0 * ksafe / ssafe) / ksafe, m0 / ssafe)
    clamp = sink & (t0 <= dt)
    m = np.where(clamp, 0.0, np.maximum(m, 0.0))
    te = np.where(clamp, t0, dt)
    return m, te
