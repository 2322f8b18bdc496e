"""Registry of atmosphere solvers, chosen by name (like scipy's ``solve_ivp`` METHODS)."""

from __future__ import annotations

import numpy as np

from .base import AtmosphereSolver, SolverOptions
from .manyzone import ManyZoneSolver
from .network import GasNetwork
from .zonal import ZonalSolver

__all__ = ["SOLVERS", "make_solver"]

#: Solver classes by name.
SOLVERS: dict[str, type[AtmosphereSolver]] = {"zonal": ZonalSolver, "manyzone": ManyZoneSolver}


def make_solver(name: str, network: GasNetwork, masses: np.ndarray,
                options: SolverOptions | None = None) -> AtmosphereSolver:
    """Build the solver registered as ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not in :data:`SOLVERS` (the message lists the known names).
    """
    try:
        cls = SOLVERS[name]
    except KeyError:
        raise ValueError(f"unknown atmosphere solver {name!r} (known: {sorted(SOLVERS)})") from None
    return cls(network, masses, options)
