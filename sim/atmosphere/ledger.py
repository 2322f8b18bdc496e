"""Mass ledger: where every kilogram of each species came from or went to."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Ledger"]


@dataclass
class Ledger:
    """Per-species mass totals [kg], order N2, O2, CO2.

    The invariant ``initial + supplied + sources - scrubbed - leaked == current``
    holds to round-off (see :meth:`residual`).

    Attributes
    ----------
    initial : ndarray, shape (3,)
        Gas in the network at construction [kg].
    supplied : ndarray, shape (3,)
        Drawn from gas supplies (finite reserves) [kg].
    sources : ndarray, shape (3,)
        Net of ``set_source`` rates: produced minus really consumed [kg].
    scrubbed : ndarray, shape (3,)
        Removed by scrubbers [kg].
    leaked : ndarray, shape (3,)
        Lost to vacuum through leaks [kg].
    leaked_by_leak : dict of str to ndarray, shape (3,)
        Lost per leak id [kg].
    """

    initial: np.ndarray
    supplied: np.ndarray = field(default_factory=lambda: np.zeros(3))
    sources: np.ndarray = field(default_factory=lambda: np.zeros(3))
    scrubbed: np.ndarray = field(default_factory=lambda: np.zeros(3))
    leaked: np.ndarray = field(default_factory=lambda: np.zeros(3))
    leaked_by_leak: dict = field(default_factory=dict)

    def expected(self) -> np.ndarray:
        """Mass the network should hold now, per species [kg]."""
        return self.initial + self.supplied + self.sources - self.scrubbed - self.leaked

    def residual(self, current) -> np.ndarray:
        """Relative imbalance ``(current - expected) / scale`` per species [-].

        The scale is the largest term of the balance, so round-off gives ~1e-16.
        """
        terms = np.abs(np.stack([self.initial, self.supplied, self.sources, self.scrubbed, self.leaked]))
        scale = np.maximum(terms.max(axis=0), np.finfo(float).tiny)
        return (np.asarray(current, float) - self.expected()) / scale
