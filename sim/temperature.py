"""Cabin temperature disturbances: a daily sine or a table per compartment, as a function of time.

The engine applies them in steps (:attr:`CabinTemperature.every`); at fixed gas mass a compartment's
pressure follows its temperature, p proportional to T, which is how a warm afternoon can look like a
change of leak rate (September 2020 on the ISS).
"""

from __future__ import annotations

import numpy as np

from sim.scenario.scenario_model import CabinTemperature, TemperatureSine

__all__ = ["temperatures_at"]


def temperatures_at(spec: CabinTemperature, names: tuple[str, ...], base: np.ndarray, t) -> np.ndarray:
    """Gas temperature of every compartment at times *t* [K], shape ``(len(t), n)``.

    Parameters
    ----------
    spec : CabinTemperature
        The scenario's disturbances; ``station`` applies to every compartment not named.
    names : tuple of str
        Compartment ids in solver order.
    base : ndarray, shape (n,)
        Temperatures without disturbance [K] (the station file's), the sine's mean.
    t : array_like
        Times [s].
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    out = np.broadcast_to(np.asarray(base, dtype=float), (len(t), len(names))).copy()
    default = spec.of.get("station")
    for i, name in enumerate(names):
        law = spec.of.get(name, default)
        if law is None:
            continue
        if isinstance(law, TemperatureSine):
            out[:, i] = base[i] + law.amplitude * np.cos(2.0 * np.pi * (t - law.phase) / law.period)
        else:
            times = np.array([p[0] for p in law.table])
            values = np.array([p[1] for p in law.table])
            out[:, i] = np.interp(t, times, values)
    return out
