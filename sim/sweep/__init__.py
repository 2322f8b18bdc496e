"""Sweeps: many runs of one scenario over a design of parameter values, on a laptop or a cluster.

>>> from sim.sweep import parse_vary, run_sweep, load                     # doctest: +SKIP
>>> run_sweep("leak.yaml", [parse_vary("leaks.crack.rate=log(0.1, 100, 20) lb/day")], "out")  # doctest: +SKIP
>>> df = load("out")                                                       # doctest: +SKIP

Modules: :mod:`~sim.sweep.design` (specs and designs, pure), :mod:`~sim.sweep.worker` (what a
worker runs), :mod:`~sim.sweep.executors` (serial, process, Dask), :mod:`~sim.sweep.store` (the
sweep directory), :mod:`~sim.sweep.metrics` (a summary as one row), :mod:`~sim.sweep.runner` (the
coordinator), :mod:`~sim.sweep.tables` and :mod:`~sim.sweep.plot` (summaries and plots).
Importing this package loads none of numpy, scipy, pandas or Dask.
"""

from __future__ import annotations

from sim.sweep.design import Design, Spec, make_design, parse_spec, parse_vary
from sim.sweep.runner import SweepReport, rerun, resume_sweep, run_sweep
from sim.sweep.store import load

__all__ = [
    "Design",
    "Spec",
    "SweepReport",
    "load",
    "make_design",
    "parse_spec",
    "parse_vary",
    "rerun",
    "resume_sweep",
    "run_sweep",
]
