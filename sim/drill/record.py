"""Keeping a live session on disk from its first moment, so that nothing typed is ever lost.

A live session (console or browser) always has a session directory: ``--out DIR``, or else
:func:`default_session_dir` (``runs/drill-<drill file stem>-<UTC time>``), named on screen when the
session starts. :class:`SessionRecorder` writes the drill's inputs there at once and rewrites
``session.yaml`` (``status: running``) whenever a command was given and at least every
:data:`SAVE_EVERY_S` of simulated time, each time atomically (a temporary file renamed over the
old). When the session ends — ``quit``, the drill's end, Ctrl-C, a closed station — the complete run
directory replaces it. A session killed outright keeps its inputs and commands up to the last save:
``safehaven drill --resume DIR`` re-executes them and plays on.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sim.drill.session import session_document
from sim.errors import UsageError
from sim.results.writers import is_run_directory, write_inputs

if TYPE_CHECKING:
    from sim.drill.injects import DrillRun

__all__ = ["SAVE_EVERY_S", "SessionRecorder", "default_session_dir", "session_files"]

SAVE_EVERY_S = 60.0
"""Longest stretch of simulated time between two saves of a running session's session.yaml [s]."""


def default_session_dir(drill_path: Path, root: Path = Path("runs")) -> Path:
    """``runs/drill-<stem>-<YYYYmmdd-HHMMSS>`` (UTC), with a counter when that already exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = root / f"drill-{Path(drill_path).stem}-{stamp}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SessionRecorder:
    """Writes a running session's directory: ``inputs/`` once, ``session.yaml`` as it goes.

    Parameters
    ----------
    run : DrillRun
    out : Path
        The session directory; created (with its parents) by :meth:`start` unless it exists
        (a resumed session keeps its directory and inputs).
    speed : float
        Recorded in ``session.yaml``.
    """

    def __init__(self, run: DrillRun, out: Path, speed: float):
        self.run, self.out, self.speed = run, Path(out), speed
        self._saved_commands = -1
        self._saved_t = -SAVE_EVERY_S

    def start(self, fresh: bool = True) -> None:
        """Create the directory and its inputs (*fresh*), or keep those of a resumed session.

        A fresh session given an existing directory (``--out DIR --force``) replaces it only when
        it is a run directory.
        """
        if fresh and self.out.exists():
            if not is_run_directory(self.out):
                raise UsageError(f"{self.out} is not a run directory; --force replaces only run directories, "
                                 "so choose another --out")
            shutil.rmtree(self.out)
        if fresh:
            self.out.mkdir(parents=True)
            write_inputs(self.run.drill.loaded, self.run.sim.seed, self.out / "inputs")
        self.save()

    def save(self) -> None:
        doc = session_document(self.run, self.speed, status="running")
        _atomic_write(self.out / "session.yaml", yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        self._saved_commands, self._saved_t = len(self.run.session), self.run.env.now

    def tick(self, run: DrillRun) -> None:
        """Save when a command was given or :data:`SAVE_EVERY_S` passed since the last save."""
        if len(run.session) != self._saved_commands or run.env.now - self._saved_t >= SAVE_EVERY_S:
            self.save()


def session_files(result, run: DrillRun, speed: float | None) -> dict[str, str]:
    """The drill's own files of a finished run directory: scorecard.json and session.yaml (ended)."""
    card = json.dumps(result.extra["scorecard"], indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    session = yaml.safe_dump(session_document(run, speed, status="ended"), sort_keys=False, allow_unicode=True)
    return {"scorecard.json": card, "session.yaml": session}
