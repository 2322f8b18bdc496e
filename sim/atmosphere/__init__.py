"""Atmosphere (pressure and gas composition) solvers for Safehaven.

Species order everywhere: 0 = N2, 1 = O2, 2 = CO2. All quantities SI.
"""

from .base import AtmosphereSolver, Samples, SolverError, SolverOptions
from .flow import (
    GAMMA,
    R_SPECIES,
    SPECIES,
    cda_from_leak_rate,
    choked_mass_flux,
    hole_area_from_diameter,
    masses_from_partial_pressures,
    mixture_gas_constant,
    orifice_mass_flow,
)
from .ledger import Ledger
from .manyzone import ManyZoneSolver
from .network import GasNetwork
from .registry import SOLVERS, make_solver
from .zonal import ZonalSolver

__all__ = [
    "GAMMA",
    "R_SPECIES",
    "SOLVERS",
    "SPECIES",
    "AtmosphereSolver",
    "GasNetwork",
    "Ledger",
    "ManyZoneSolver",
    "Samples",
    "SolverError",
    "SolverOptions",
    "ZonalSolver",
    "cda_from_leak_rate",
    "choked_mass_flux",
    "hole_area_from_diameter",
    "make_solver",
    "masses_from_partial_pressures",
    "mixture_gas_constant",
    "orifice_mass_flow",
]
