"""The gas network: compartments (nodes) and hatches with optional valves (edges).

Plain arrays in index order, no YAML: the scenario layer builds this from a
validated station. Everything SI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["GasNetwork", "components"]


def _arr(x, dtype=float):
    a = np.array(x, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class GasNetwork:
    """Compartments joined by hatches; each hatch may carry an equalization valve.

    Parameters
    ----------
    names : tuple of str
        Compartment ids, in index order.
    volume : ndarray, shape (n,)
        Free gas volumes [m^3].
    temperature : ndarray, shape (n,)
        Initial gas temperature = wall temperature [K].
    edge_names : tuple of str
        Hatch ids, in edge index order.
    edge_u, edge_v : ndarray of int, shape (e,)
        Compartment indices of the two sides.
    hatch_area : ndarray, shape (e,)
        Open area of the hatch [m^2].
    hatch_cd : ndarray, shape (e,)
        Discharge coefficient of the open hatch [-].
    valve_area : ndarray, shape (e,)
        Equalization valve area [m^2], 0 where there is none.
    valve_cd : ndarray, shape (e,)
        Discharge coefficient of the valve [-].
    hatch_open, valve_open : ndarray of bool, shape (e,), optional
        Initial states; default all closed.
    seal_cda : ndarray, shape (e,), optional
        Effective area C_d*A of the leak path through a *closed* hatch's seal [m^2];
        default 0 (a closed hatch is tight).

    Raises
    ------
    ValueError
        If shapes disagree or a value is out of range; the message names the
        field, the index and the bad value.
    """

    names: tuple[str, ...]
    volume: np.ndarray
    temperature: np.ndarray
    edge_names: tuple[str, ...]
    edge_u: np.ndarray
    edge_v: np.ndarray
    hatch_area: np.ndarray
    hatch_cd: np.ndarray
    valve_area: np.ndarray
    valve_cd: np.ndarray
    hatch_open: np.ndarray | None = field(default=None)
    valve_open: np.ndarray | None = field(default=None)
    seal_cda: np.ndarray | None = field(default=None)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "names", tuple(self.names))
        set_(self, "edge_names", tuple(self.edge_names))
        n, e = len(self.names), len(self.edge_names)
        for name, dtype, size in (
            ("volume", float, n), ("temperature", float, n),
            ("edge_u", int, e), ("edge_v", int, e),
            ("hatch_area", float, e), ("hatch_cd", float, e),
            ("valve_area", float, e), ("valve_cd", float, e),
            ("hatch_open", bool, e), ("valve_open", bool, e), ("seal_cda", float, e),
        ):
            val = getattr(self, name)
            if val is None:
                val = np.zeros(size, dtype)
            a = _arr(val, dtype)
            if a.shape != (size,):
                raise ValueError(f"GasNetwork.{name}: shape {a.shape}, expected ({size},)")
            set_(self, name, a)
        errors = []
        for name in ("volume", "temperature"):
            a = getattr(self, name)
            for i in np.flatnonzero(~(np.isfinite(a) & (a > 0))):
                errors.append(f"GasNetwork.{name}[{i}] ({self.names[i]!r}): {a[i]!r}, expected a finite value > 0")
        for name in ("hatch_area", "hatch_cd", "valve_area", "valve_cd", "seal_cda"):
            a = getattr(self, name)
            for j in np.flatnonzero(~(np.isfinite(a) & (a >= 0))):
                errors.append(f"GasNetwork.{name}[{j}] ({self.edge_names[j]!r}): {a[j]!r}, expected a finite value >= 0")
        for name in ("edge_u", "edge_v"):
            a = getattr(self, name)
            for j in np.flatnonzero((a < 0) | (a >= n)):
                errors.append(f"GasNetwork.{name}[{j}] ({self.edge_names[j]!r}): {a[j]}, expected a compartment index in 0..{n - 1}")
        for j in np.flatnonzero(self.edge_u == self.edge_v):
            errors.append(f"GasNetwork.edge_u[{j}] ({self.edge_names[j]!r}): joins compartment {self.edge_u[j]} to itself")
        if errors:
            raise ValueError("invalid GasNetwork:\n  " + "\n  ".join(errors))

    @property
    def n(self) -> int:
        """Number of compartments."""
        return len(self.names)

    @property
    def n_edges(self) -> int:
        """Number of hatches (edges)."""
        return len(self.edge_names)


def components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of n nodes joined by edges (u, v): (count, label of each node).

    Labels are numbered in order of each component's lowest node. A station has tens of
    compartments, where a plain union-find beats building a sparse matrix for scipy; large
    networks use scipy's.
    """
    if n > 256:
        # scipy.sparse is imported only here and in the sparse solve: a station-sized run never
        # needs it, and importing it costs a command ~0.15 s (it pulls in numpy.testing, f2py)
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        g = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
        return connected_components(g, directed=False)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [find(i) for i in range(n)]
    number: dict[int, int] = {}
    labels = np.array([number.setdefault(r, len(number)) for r in roots], dtype=np.int64)
    return len(number), labels
