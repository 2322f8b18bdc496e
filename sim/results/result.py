"""A finished run in memory: what :func:`sim.engine.simulate` returns and the writers write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.results.events import EventLog
from sim.results.reader import series_dataframe
from sim.results.series import Series
from sim.results.writers import write_run

if TYPE_CHECKING:
    from sim.scenario.load import LoadedScenario

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """Everything a run produced, in memory.

    Attributes
    ----------
    status : "ok" or "failed"; a failed run (the solver could not continue) keeps what it had.
    message : why it failed, empty when ok.
    """

    loaded: LoadedScenario
    seed: int
    events: EventLog
    series: Series
    summary: dict[str, Any]
    status: str = "ok"
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str | Path, *, force: bool = False, fmt: str | None = None) -> Path:
        """Write this result as a run directory (see :func:`sim.results.writers.write_run`)."""
        return write_run(self, directory, force=force, fmt=fmt)

    def to_dataframe(self):
        """The series as a pandas DataFrame indexed by ``t_s`` (columns as in series.csv)."""
        return series_dataframe(self.series)
