"""Safehaven: a discrete-event simulator of spacecraft safe-haven procedures.

Isolate, shelter, repair, measure, resume: a station is a networkx graph of compartments joined by
hatches, crew members are simpy processes carrying out procedures written in YAML, and a numpy
atmosphere solver updates the gas in every compartment as time advances.
"""

from __future__ import annotations

from sim.api import load, open_run, run, state_at
from sim.errors import InputError, Problem, SimError, SimulationError, UsageError
from sim.version import __version__

__all__ = [
    "InputError",
    "Problem",
    "SimError",
    "SimulationError",
    "UsageError",
    "__version__",
    "load",
    "open_run",
    "run",
    "state_at",
]
