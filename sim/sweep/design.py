"""Sweep designs: parameter specs and the table of runs they make (pure functions, no I/O).

A *spec* says which values one scenario field takes. It is written ``PATH=SPEC`` on the command
line (``--vary``) or as ``PATH: SPEC`` under ``vary:`` in a sweep file:

=======================================  =================================================
``[1, 2, 5] lb/day``                      a list; a trailing unit applies to every number
``[dragon, soyuz]``                       a list of any YAML values (categorical)
``lin(0.1, 100, 20) lb/day``              20 values evenly spaced, ends included
``log(0.1, 100, 20) lb/day``              20 values evenly spaced in log, ends included
``uniform(0.1, 100) lb/day``              a continuous distribution (random/lhs/sobol only)
``loguniform(0.1, 100) lb/day``           uniform in log
``normal(60, 10) min``                    mean, standard deviation
``lognormal(60, 0.5) min``                median, sigma of the log
``triangular(30, 60, 120) min``           low, mode, high
=======================================  =================================================

Designs: ``grid`` crosses every list and range (distributions are not allowed); ``random``,
``lhs`` (Latin hypercube) and ``sobol`` draw *n* points in the unit cube (scipy.stats.qmc) and map
each coordinate through its spec: a distribution by its inverse CDF, a list or range as an equally
likely choice among its values. ``saltelli`` (Sobol' indices) and ``morris`` (elementary effects)
are the sensitivity designs of SALib: *n* base samples give ``n (2 D + 2)`` points (Saltelli, with
second-order indices) or ``n (D + 1)`` points (*n* Morris trajectories on 4 levels) for *D*
varied fields; ``safehaven sweep analyze`` reads them. An unbounded distribution (normal,
lognormal) is cut to its 0.1 %–99.9 % quantiles in these two designs, whose corner points would
otherwise be infinite.

Each point is repeated ``replicates`` times; run ``r`` of the sweep uses the generator of
``SeedSequence(root_seed, spawn_key=(k,))`` with ``k = r`` (its ``spawn_key`` column), or, with
common random numbers (``crn``), ``k`` = its replicate number: replicate *i* of every point then
draws the same random numbers (repair times, responses), so differences between points are not
blurred by sampling noise. The design's own draws use ``SeedSequence(root_seed)``, which no run uses.

A sampled design grows: the first *n* points of ``random`` and ``sobol`` designs of size *m > n*
are the *n*-point design (the same sequence, continued); a Latin hypercube cannot be continued, so
``lhs`` grows by *blocks*, each a Latin hypercube of its own (``blocks`` in the settings).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sim.errors import UsageError

__all__ = [
    "DESIGNS",
    "DISTRIBUTIONS",
    "RANGES",
    "RESERVED",
    "SENSITIVITY",
    "Design",
    "Spec",
    "design_from_settings",
    "format_value",
    "make_design",
    "overrides_for",
    "parse_spec",
    "parse_vary",
    "salib_problem",
    "spec_from_value",
]

DESIGNS = ("grid", "random", "lhs", "sobol", "saltelli", "morris")
SENSITIVITY = ("saltelli", "morris")
"""Designs made for :mod:`sim.sweep.sensitivity` (they cannot be extended)."""
MORRIS_LEVELS = 4
RESERVED = ("run_id", "point", "replicate", "seed", "spawn_key")
"""Design columns a varied path may not be named (the sweep sets them itself)."""
_TAIL = 1e-3
"""Unbounded distributions are cut to [_TAIL, 1 - _TAIL] of their CDF in sensitivity designs."""
RANGES = {"lin": 3, "log": 3}
DISTRIBUTIONS = {"uniform": 2, "loguniform": 2, "normal": 2, "lognormal": 2, "triangular": 3}
_CALL = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*(.*?)\s*$", re.S)
_LIST = re.compile(r"^\s*\[(.*)\]\s*(.*?)\s*$", re.S)
_EXPONENT = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+")


@dataclass(frozen=True)
class Spec:
    """The values one scenario field takes in a sweep.

    Attributes
    ----------
    path : dotted path of the field, as ``--set`` takes it (``leaks.prk-crack.rate``).
    kind : ``list``, ``lin``, ``log`` or a distribution name (see :data:`DISTRIBUTIONS`).
    args : the list items, or the numeric arguments of the range or distribution (in *unit*).
    unit : appended to every numeric value when it is set (``lb/day``), or ``""``.
    """

    path: str
    kind: str
    args: tuple[Any, ...]
    unit: str = ""

    @property
    def discrete(self) -> bool:
        """True for lists and ranges (a finite set of values)."""
        return self.kind == "list" or self.kind in RANGES

    @property
    def numeric(self) -> bool:
        """True when every value is a number (the design column is float)."""
        return self.kind != "list" or all(_is_number(v) for v in self.args)

    @property
    def column_type(self) -> str:
        """Type of the design column: ``float``, ``int``, ``bool`` or ``text`` (YAML text, set verbatim)."""
        if self.kind != "list":
            return "float"
        if all(isinstance(v, bool) for v in self.args):
            return "bool"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in self.args):
            return "int"
        return "float" if all(_is_number(v) for v in self.args) else "text"

    def typed(self, values: list[Any]) -> list[Any]:
        """*values* converted to :attr:`column_type` (text columns hold the YAML text of each value)."""
        t = self.column_type
        if t == "float":
            return [float(v) for v in values]
        if t == "int":
            return [int(v) for v in values]
        if t == "bool":
            return [bool(v) for v in values]
        return [_yaml_text(v) for v in values]

    @property
    def log_scale(self) -> bool:
        """True for ``log``, ``loguniform`` and ``lognormal`` (plots and bins use log axes)."""
        return self.kind in ("log", "loguniform", "lognormal")

    def values(self) -> list[Any]:
        """The finite set of values of a list or range (in *unit*)."""
        if self.kind == "list":
            return list(self.args)
        lo, hi, count = self.args
        if self.kind == "lin":
            return [float(x) for x in np.linspace(lo, hi, int(count))]
        return [float(x) for x in np.logspace(math.log10(lo), math.log10(hi), int(count))]

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map coordinates *u* in [0, 1) to values of this spec (inverse CDF, or a choice)."""
        u = np.asarray(u, dtype=float)
        if self.discrete:
            vals = self.values()
            idx = np.minimum((u * len(vals)).astype(int), len(vals) - 1)
            return [vals[i] for i in idx]
        from scipy import stats

        a = self.args
        if self.kind == "uniform":
            x = a[0] + u * (a[1] - a[0])
        elif self.kind == "loguniform":
            x = np.exp(np.log(a[0]) + u * (np.log(a[1]) - np.log(a[0])))
        elif self.kind == "normal":
            x = stats.norm.ppf(u, loc=a[0], scale=a[1])
        elif self.kind == "lognormal":
            x = a[0] * np.exp(a[1] * stats.norm.ppf(u))
        else:  # triangular
            lo, mode, hi = a
            c = 0.0 if hi == lo else (mode - lo) / (hi - lo)
            x = stats.triang.ppf(u, c, loc=lo, scale=hi - lo)
        return [float(v) for v in x]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (stored in ``sweep.json``)."""
        d = asdict(self)
        d["args"] = list(self.args)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        """Inverse of :meth:`to_dict`."""
        return cls(d["path"], d["kind"], tuple(d["args"]), d.get("unit", ""))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _yaml_items(text: str, where: str) -> list[Any]:
    import yaml

    try:
        items = yaml.safe_load(f"[{text}]")
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: cannot read the list [{text}]: {exc.problem}") from None
    # YAML 1.1 reads 1e-6 (no dot) as text; in a spec it is the number people mean
    return [float(v) if isinstance(v, str) and _EXPONENT.fullmatch(v) else v for v in items]


def parse_spec(path: str, text: Any) -> Spec:
    """Read one SPEC (a string as on the command line, or a YAML list from a sweep file).

    Raises
    ------
    UsageError
        Naming the path and what was expected.
    """
    where = f"--vary {path}"
    if not path or any(not p for p in path.split(".")):
        raise UsageError(f"{where}: invalid path {path!r}: expected names joined by dots")
    if isinstance(text, list):
        items, unit = list(text), ""
    elif isinstance(text, str) and (m := _LIST.match(text)):
        items, unit = _yaml_items(m.group(1), where), m.group(2)
    elif isinstance(text, str) and (m := _CALL.match(text)):
        return _parse_call(path, m.group(1), m.group(2), m.group(3), where)
    else:
        raise UsageError(f"{where}: cannot read {text!r}: expected a list [a, b, ...], lin(lo, hi, count), "
                         f"log(lo, hi, count) or a distribution such as loguniform(lo, hi), each "
                         f"optionally followed by a unit")
    if not items:
        raise UsageError(f"{where}: the list is empty")
    if unit and not all(_is_number(v) for v in items):
        raise UsageError(f"{where}: a unit after the list ({unit!r}) needs every item to be a number")
    if any(isinstance(v, list | dict) for v in items):
        raise UsageError(f"{where}: list items must be single values")
    return Spec(path, "list", tuple(items), unit)


def _parse_call(path: str, name: str, inner: str, unit: str, where: str) -> Spec:
    known = RANGES | DISTRIBUTIONS
    if name not in known:
        raise UsageError(f"{where}: unknown {name}(); expected one of {', '.join(sorted(known))}")
    try:
        args = tuple(float(a) for a in inner.split(","))
    except ValueError:
        raise UsageError(f"{where}: {name}() takes numbers, got ({inner}); put the unit after the "
                         f"parenthesis, e.g. {name}(0.1, 100) lb/day") from None
    if len(args) != known[name]:
        raise UsageError(f"{where}: {name}() takes {known[name]} numbers, got {len(args)}")
    if not all(math.isfinite(a) for a in args):
        raise UsageError(f"{where}: {name}() takes finite numbers")
    if name in RANGES:
        lo, hi, count = args
        if count < 1 or count != int(count):
            raise UsageError(f"{where}: {name}(): the count must be a whole number >= 1, got {count:g}")
        args = (lo, hi, int(count))
    if name in ("log", "loguniform") and (args[0] <= 0 or args[1] <= 0):
        raise UsageError(f"{where}: {name}() needs positive bounds")
    if name in ("uniform", "loguniform") and args[1] <= args[0]:
        raise UsageError(f"{where}: {name}(lo, hi) needs lo < hi")
    if name in ("normal", "lognormal") and args[1] <= 0:
        raise UsageError(f"{where}: {name}(): the spread must be positive")
    if name == "lognormal" and args[0] <= 0:
        raise UsageError(f"{where}: lognormal(median, sigma) needs a positive median")
    if name == "triangular" and not args[0] <= args[1] <= args[2]:
        raise UsageError(f"{where}: triangular(low, mode, high) needs low <= mode <= high")
    return Spec(path, name, args, unit)


def parse_vary(text: str) -> Spec:
    """Read ``PATH=SPEC`` as given to ``--vary``."""
    if "=" not in text:
        raise UsageError(f"--vary {text}: expected PATH=SPEC, e.g. leaks.prk-crack.rate='log(0.1, 100, 20) lb/day'")
    path, spec = text.split("=", 1)
    return parse_spec(path.strip(), spec.strip())


def spec_from_value(path: str, value: Any) -> Spec:
    """A spec from a sweep file's ``vary:`` entry (a string SPEC or a YAML list)."""
    if isinstance(value, list | str):
        return parse_spec(path, value)
    raise UsageError(f"vary.{path}: expected a SPEC string or a list, got {value!r}")


def format_value(spec: Spec, value: Any) -> str:
    """The ``--set`` VALUE text of a design value: numbers exactly (shortest repr), with the unit.

    >>> format_value(Spec("leaks.x.rate", "list", (3.2,), "lb/day"), 3.2)
    '3.2 lb/day'
    """
    if spec.column_type == "text":
        return str(value)
    if spec.unit and _is_number(value):
        return f"{float(value)!r} {spec.unit}"
    return _yaml_text(value)


def _yaml_text(value: Any) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text.removesuffix("...").strip()


@dataclass
class Design:
    """The runs of a sweep: one row per run, computed once before any run starts.

    Attributes
    ----------
    specs : the varied fields, in column order.
    kind : ``grid``, ``random``, ``lhs`` or ``sobol``.
    root_seed : the sweep's root seed.
    replicates : runs per design point.
    columns : ``run_id``, ``point``, ``replicate``, ``seed``, ``spawn_key`` (all int) and one column
        per spec (named by its path), every column a list of length ``n_runs``.
    """

    specs: list[Spec]
    kind: str
    root_seed: int
    replicates: int
    n_points: int
    columns: dict[str, list[Any]] = field(default_factory=dict)
    crn: bool = False
    n: int | None = None
    blocks: list[int] | None = None
    unit: Any = None
    """The points in the unit cube (n_points x D), for the sensitivity analysis; None for a grid."""

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replicates

    def settings(self) -> dict[str, Any]:
        """What determines the design (compared on resume)."""
        out = {"design": self.kind, "n_points": self.n_points, "replicates": self.replicates,
               "root_seed": self.root_seed, "crn": self.crn, "specs": [s.to_dict() for s in self.specs]}
        if self.kind in SENSITIVITY:
            out["n"] = self.n
        if self.blocks is not None:
            out["blocks"] = list(self.blocks)
        return out


def design_from_settings(settings: dict[str, Any]) -> Design:
    """The design that stored *settings* (``Design.settings()``) describe, computed again."""
    specs = [Spec.from_dict(s) for s in settings["specs"]]
    kind = settings["design"]
    n = None if kind == "grid" else settings.get("n", settings["n_points"])
    return make_design(specs, kind, n, settings["replicates"], settings["root_seed"],
                       crn=bool(settings.get("crn", False)), blocks=settings.get("blocks"))


MAX_RUNS = 10_000_000
"""Most runs in one sweep (the design table holds ~100 bytes a run in memory)."""


def make_design(specs: list[Spec], kind: str = "grid", n: int | None = None, replicates: int = 1,
                root_seed: int = 0, *, crn: bool = False, blocks: list[int] | None = None) -> Design:
    """Compute the table of runs.

    Parameters
    ----------
    specs : list of Spec
        The varied fields (paths must be distinct).
    kind : {"grid", "random", "lhs", "sobol"}
        The design.
    n : int, optional
        Number of points of a sampled design (required there; not accepted by ``grid``).
    replicates : int
        Runs per point, each with its own seed.
    root_seed : int
        The sweep's root seed (>= 0).
    crn : bool
        Common random numbers: replicate *i* of every point uses the same seed.
    blocks : list of int, optional
        ``lhs`` only: the sizes of the Latin hypercubes the design is made of (they add up to *n*;
        default one block). A grown design has more than one.

    Raises
    ------
    UsageError
        For an unknown design, a missing or stray *n*, a distribution in a grid, or duplicated paths.

    Examples
    --------
    >>> d = make_design([parse_vary("leaks.x.rate=[1, 2] lb/day")], replicates=2, root_seed=5)
    >>> d.columns["run_id"], d.columns["leaks.x.rate"]
    ([0, 1, 2, 3], [1, 1, 2, 2])
    """
    if kind not in DESIGNS:
        raise UsageError(f"unknown design {kind!r}; expected one of {', '.join(DESIGNS)}")
    if not specs:
        raise UsageError("nothing to vary: give at least one --vary PATH=SPEC")
    paths = [s.path for s in specs]
    if dups := sorted({p for p in paths if paths.count(p) > 1}):
        raise UsageError(f"--vary {dups[0]} is given more than once")
    if "seed" in paths:
        raise UsageError("--vary seed: the sweep seeds every run itself; repeat points with different "
                         "seeds with --replicates R, and set the root seed with --seed S")
    if bad := [p for p in paths if p in RESERVED]:
        raise UsageError(f"--vary {bad[0]}: {bad[0]!r} is a column the sweep writes itself "
                         f"({', '.join(RESERVED)}); it cannot be varied")
    if replicates < 1:
        raise UsageError(f"--replicates must be >= 1, got {replicates}")
    if root_seed < 0:
        raise UsageError(f"--seed must be >= 0, got {root_seed}")
    # the size is known before anything is allocated: refuse a design too large to hold
    sizes = [len(s.args) if s.kind == "list" else int(s.args[2]) for s in specs if s.discrete]
    points = math.prod(sizes) if kind == "grid" else (n or 0)
    if points * replicates > MAX_RUNS:
        raise UsageError(f"the design has {points:,} points x {replicates:,} replicates = "
                         f"{points * replicates:,} runs, more than the {MAX_RUNS:,} accepted; split the sweep")
    if kind == "grid":
        if n is not None:
            raise UsageError("--n is for random, lhs and sobol designs; a grid's size follows from its specs")
        if cont := [s.path for s in specs if not s.discrete]:
            raise UsageError(f"--vary {cont[0]}: a distribution needs a sampled design (--design random, lhs "
                             f"or sobol); a grid takes lists and lin()/log() ranges")
        import itertools

        points = list(itertools.product(*(s.values() for s in specs)))
        values = [list(col) for col in zip(*points, strict=True)]
    else:
        if n is None or n < 1:
            raise UsageError(f"--design {kind} needs --n N (number of {'base samples' if kind in SENSITIVITY else 'points'}, >= 1)")
        if kind != "lhs" and blocks is not None:
            raise UsageError("blocks are for lhs designs only")
        if kind == "lhs":
            blocks = list(blocks) if blocks is not None else [n]
            if sum(blocks) != n or any(b < 1 for b in blocks):
                raise UsageError(f"lhs blocks {blocks} do not add up to n = {n}")
        if kind == "saltelli" and len(specs) < 2:
            raise UsageError("--design saltelli needs at least two --vary fields (indices share out a variance)")
        u = _unit_points(kind, len(specs), n, root_seed, blocks)
        if kind in SENSITIVITY:
            bounded = np.array([s.discrete or s.kind in ("uniform", "loguniform", "triangular") for s in specs])
            u = np.where(bounded, u, np.clip(u, _TAIL, 1 - _TAIL))
        values = [s.from_unit(u[:, j]) for j, s in enumerate(specs)]
    n_points = len(values[0])
    run_ids = list(range(n_points * replicates))
    replicate = [r % replicates for r in run_ids]
    cols: dict[str, list[Any]] = {
        "run_id": run_ids,
        "point": [r // replicates for r in run_ids],
        "replicate": replicate,
        "seed": [root_seed] * len(run_ids),
        "spawn_key": replicate if crn else run_ids,
    }
    for s, v in zip(specs, values, strict=True):
        v = s.typed(v)
        cols[s.path] = [v[r // replicates] for r in run_ids]
    return Design(list(specs), kind, root_seed, replicates, n_points, cols, crn=crn,
                  n=n, blocks=blocks if kind == "lhs" else None, unit=None if kind == "grid" else u)


def salib_problem(specs: list[Spec]) -> dict[str, Any]:
    """The SALib problem of a sensitivity design: every field on [0, 1] (its CDF coordinate)."""
    return {"num_vars": len(specs), "names": [s.path for s in specs], "bounds": [[0.0, 1.0]] * len(specs)}


def _unit_points(kind: str, d: int, n: int, root_seed: int, blocks: list[int] | None = None) -> np.ndarray:
    """The design's points in [0, 1]^d, from the design's own generator."""
    rng = np.random.default_rng(np.random.SeedSequence(root_seed))
    if kind == "random":
        return rng.random((n, d))
    import warnings

    from scipy.stats import qmc

    if kind == "lhs":
        # block 0 is the one-block design; each later block has its own generator
        gens = [rng, *(np.random.default_rng(np.random.SeedSequence([root_seed, k])) for k in range(1, len(blocks)))]
        return np.vstack([qmc.LatinHypercube(d, rng=g).random(b) for g, b in zip(gens, blocks, strict=True)])
    if kind in SENSITIVITY:
        problem = salib_problem([Spec(f"x{j}", "uniform", (0.0, 1.0)) for j in range(d)])
        seed = int(root_seed % 2**32)
        with warnings.catch_warnings():  # SALib warns about n not being a power of 2, as scipy does
            warnings.simplefilter("ignore")
            if kind == "saltelli":
                from SALib.sample import sobol as salib_sobol

                return salib_sobol.sample(problem, n, calc_second_order=True, scramble=True, seed=seed)
            from SALib.sample import morris as salib_morris

            return salib_morris.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
    with warnings.catch_warnings():  # balance needs n = 2^m; the CLI says so once, not scipy per call
        warnings.simplefilter("ignore", UserWarning)
        return qmc.Sobol(d, scramble=True, rng=rng).random(n)


def overrides_for(specs: list[Spec], values: list[Any]) -> list[str]:
    """The ``PATH=VALUE`` overrides of one run, from its design values (in spec order)."""
    return [f"{s.path}={format_value(s, v)}" for s, v in zip(specs, values, strict=True)]
