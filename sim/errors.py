"""Exceptions raised by Safehaven.

Every exception derives from :class:`SimError`, so a caller can catch the whole family at once.
Input problems are :class:`InputError` and carry a list of located :class:`Problem` records: a
file, a line, the path inside the document and a message, printed as ``file:line: path: message``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.text import plain

__all__ = [
    "MAX_MESSAGE",
    "MAX_PROBLEMS",
    "InputError",
    "Problem",
    "SimError",
    "SimulationError",
    "UsageError",
]


MAX_MESSAGE = 600
"""Longest message of one :class:`Problem` [characters]; longer ones are cut, saying so."""
MAX_PROBLEMS = 100
"""Most problems an :class:`InputError` reports; the rest are counted in a last line."""


class SimError(Exception):
    """Root of every error Safehaven raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file.

    Parameters
    ----------
    file : str
        Path of the file as the user named it ("<string>" for inline text).
    line : int
        1-based line number; 0 when the problem belongs to the whole file.
    path : str
        Dotted path inside the document, e.g. ``hatches.zvezda-prk.between[1]``; empty for the root.
    message : str
        What is wrong and what was expected.
    """

    file: str
    line: int
    path: str
    message: str

    def __post_init__(self):
        # a message quotes values from the file: bound it, so that no input (a long string aliased a
        # hundred thousand times, a binary file read as text) can turn an error into gigabytes
        for name, limit in (("message", MAX_MESSAGE), ("path", MAX_MESSAGE), ("file", MAX_MESSAGE)):
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > limit:
                object.__setattr__(self, name, f"{value[:limit - 40]}... ({len(value):,} characters in all)")

    def __str__(self) -> str:
        # file names and quoted values come from the user: shown, never obeyed by the terminal
        file, path, message = plain(self.file), plain(self.path), plain(self.message)
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {path}: {message}" if path else f"{where}: {message}"


class InputError(SimError):
    """One or more problems in the files a user gave; all problems of a file are collected."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        if not problems:  # an error with nothing to say would exit 2 silently
            problems = [Problem("<input>", 0, "", "invalid input (no details were collected; please report this)")]
        ordered = sorted(set(problems), key=lambda p: (p.file, p.line, p.path, p.message))
        if len(ordered) > MAX_PROBLEMS:
            more = len(ordered) - MAX_PROBLEMS
            ordered = [*ordered[:MAX_PROBLEMS], Problem(ordered[MAX_PROBLEMS].file, 0, "",
                                                        f"... and {more:,} more problems not shown")]
        self.problems: list[Problem] = ordered
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(SimError):
    """A command-line usage problem (bad option value, missing argument)."""


class SimulationError(SimError):
    """A run could not continue (for example the solver could not converge).

    A run that fails this way is reported as a result with a status, not a crash.
    """
