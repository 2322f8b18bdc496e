"""Exceptions raised by Safehaven.

Every exception derives from :class:`SimError`, so a caller can catch the whole family at once.
Input problems are :class:`InputError` and carry a list of located :class:`Problem` records: a
file, a line, the path inside the document and a message, printed as ``file:line: path: message``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "InputError",
    "Problem",
    "SimError",
    "SimulationError",
    "UsageError",
]


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

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(SimError):
    """One or more problems in the files a user gave; all problems of a file are collected."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        if not problems:  # an error with nothing to say would exit 2 silently
            problems = [Problem("<input>", 0, "", "invalid input (no details were collected; please report this)")]
        self.problems: list[Problem] = sorted(set(problems), key=lambda p: (p.file, p.line, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(SimError):
    """A command-line usage problem (bad option value, missing argument)."""


class SimulationError(SimError):
    """A run could not continue (for example the solver could not converge).

    A run that fails this way is reported as a result with a status, not a crash.
    """
