"""The reliability harness: call the command line in-process under a hang guard, find the bad-file
corpus, and build or mutate input documents for fuzzing.

Shared by ``tests/reliability/``, ``bench/fuzz.py`` and ``tools/reliability_report.py``; nothing here
runs at import time.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import signal
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "data" / "bad"
CASE_TIMEOUT = 20.0
"""Hang guard per in-process command [s]: a SIGALRM, not a performance assertion."""
CASE_MEMORY = 200 * 1024 * 1024
"""Most Python memory one in-process command may allocate (tracemalloc peak) [bytes]."""

_EXPECT = re.compile(r"# (expect|expect-re): ([^:\s]+\.yaml)(:.*)")
# The kind of each corpus folder; misc/ names its kind in the file name's first word.
_FOLDER_KIND = {"station": "station", "scenario": "scenario", "scenario_procedure": "scenario",
                "procedure": "procedure", "drill": "drill"}


class CaseTimeout(BaseException):
    """Raised by the SIGALRM hang guard; a BaseException so that no ``except Exception`` eats it."""


@dataclass
class Outcome:
    """What one in-process ``safehaven`` command did."""

    argv: list[str]
    code: int | None  # None: the hang guard fired
    out: str
    err: str
    seconds: float
    peak_bytes: int = 0

    @property
    def timed_out(self) -> bool:
        return self.code is None

    def crashed(self) -> bool:
        """An internal error, a traceback or a hang: what must never happen."""
        return self.code is None or self.code == 3 or "Traceback" in self.err or "internal error" in self.err


def _raise_timeout(signum, frame):
    raise CaseTimeout


def call_cli(argv: list[str], *, timeout: float = CASE_TIMEOUT, measure_memory: bool = False) -> Outcome:
    """Run ``sim.cli.main(argv)`` in this process, capturing its output, under a SIGALRM hang guard.

    Parameters
    ----------
    argv : list of str
        The command line after ``safehaven``.
    timeout : float
        Seconds after which the call is abandoned and reported with ``code=None`` [s].
    measure_memory : bool
        Trace Python allocations and report the peak [bytes] (slows the call down).
    """
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    if measure_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    code: int | None
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
    except CaseTimeout:
        code = None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        seconds = time.perf_counter() - t0
        peak = 0
        if measure_memory:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return Outcome(list(map(str, argv)), code, out.getvalue(), err.getvalue(), seconds, peak)


def drill_argv(path, out) -> list[str] | None:
    """The command line that runs a drill, ``drill FILE --out DIR``, when ``safehaven drill`` exists."""
    from sim.cli import _parser

    sub = next(a for a in _parser()._actions if a.dest == "command")
    return ["drill", str(path), "--out", str(out)] if "drill" in sub.choices else None


def call_drill(path, out, **kw) -> Outcome:
    """Run a drill: ``safehaven drill`` when wired into the main parser, else ``sim.cli_drill.main``."""
    argv = drill_argv(path, out)
    if argv is not None:
        return call_cli(argv, **kw)
    import sim.cli as cli
    from sim import cli_drill

    saved = cli.main
    cli.main = cli_drill.main  # the same exit codes and messages, the command alone
    try:
        return call_cli([str(path), "--out", str(out)], **kw)
    finally:
        cli.main = saved


# -- the corpus of bad files ------------------------------------------------------------------
@dataclass(frozen=True)
class BadCase:
    """One file of ``tests/data/bad/`` with its promised message."""

    path: Path  # absolute
    kind: str  # station, scenario, procedure, drill, or "any" (garbage: no kind can be told)
    pattern: re.Pattern  # over the path relative to the repository, as passed on the command line

    @property
    def rel(self) -> Path:
        return self.path.relative_to(REPO)

    @property
    def folder(self) -> str:
        return self.path.relative_to(BAD).parts[0]

    @property
    def runs(self) -> bool:
        """Whether ``run`` (or ``drill``) applies: scenarios, drills and files of no telling kind."""
        return self.kind in ("scenario", "drill", "any")


def expectation(path: Path) -> re.Pattern | None:
    """The stderr line a bad file promises on its first line, or None for a helper file."""
    with open(path, "rb") as fh:
        first = fh.readline(4096).rstrip(b"\r\n")
    try:
        m = _EXPECT.fullmatch(first.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if not m:
        return None
    how, name, rest = m.groups()
    shown = re.escape(str(path.relative_to(REPO).parent / name))
    return re.compile(shown + (re.escape(rest) if how == "expect" else rest))


def corpus() -> list[BadCase]:
    """Every file under ``tests/data/bad/`` that carries an ``# expect`` line, in a stable order."""
    cases = []
    for path in sorted(p for p in BAD.rglob("*") if p.is_file()):
        pattern = expectation(path)
        if pattern is None:
            continue  # a station or procedure that a case names
        folder = path.relative_to(BAD).parts[0]
        kind = _FOLDER_KIND.get(folder) or path.name.split("-", 1)[0]
        cases.append(BadCase(path, kind, pattern))
    return cases


# -- documents to fuzz -------------------------------------------------------------------------
SHIPPED = {
    "scenario": sorted((REPO / "scenarios").glob("*.yaml")),
    "station": [REPO / "scenarios" / "stations" / "iss-2026.yaml"],
    "procedure": sorted((REPO / "procedures").glob("*.yaml")),
}
"""The valid files the mutation fuzzer starts from."""

SHORT = "2 min"
"""Duration of a fuzzed run (``--set duration=...``): long enough for leaks, alarms and first steps."""


def load_plain(path: Path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def dump(doc) -> str:
    """YAML text of a (possibly mutated) document; values YAML cannot name are written as text."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


def is_finite_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and (isinstance(x, int) or math.isfinite(x))


def leaves(doc, loc=()):
    """Every (path, value) of a document, containers included, depth first."""
    yield loc, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from leaves(v, (*loc, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from leaves(v, (*loc, i))


def get(doc, loc):
    for part in loc:
        doc = doc[part]
    return doc


def outcome_class(o: Outcome) -> str:
    """``exit 0`` … ``exit 3``, ``hang`` or ``traceback`` for tallies."""
    if o.code is None:
        return "hang"
    if "Traceback" in o.err:
        return "traceback"
    return f"exit {o.code}"


def clean_env() -> None:
    """Make in-process calls behave like the console script (no debug tracebacks)."""
    os.environ.pop("SAFEHAVEN_DEBUG", None)
