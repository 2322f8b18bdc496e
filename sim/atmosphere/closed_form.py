"""What both closed-form solvers compute with, the zonal solver and the batch ensemble (which must
reproduce it to the bit: one function each, so they cannot drift apart): the exact local solution
of one species in one zone under a first-order sink and a constant source, and the mixture gas
constant of zone masses."""

from __future__ import annotations

import numpy as np

from .flow import R_SPECIES

__all__ = ["exp_solution", "mixture_R"]


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


def mixture_R(Mzs, fallback):
    """Gas constant of each zone's mixture [J/(kg K)] from its species masses (..., 3) [kg];
    *fallback* mass fractions where a zone is empty."""
    tot = Mzs.sum(axis=-1)
    R = (Mzs @ R_SPECIES) / np.where(tot > 0, tot, 1.0)
    return np.where(tot > 0, R, fallback @ R_SPECIES)
