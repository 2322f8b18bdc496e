"""Replaying a run directory: re-run it from ``inputs/`` and prove the same events come out.

:func:`replay` loads the scenario kept in ``inputs/`` with the recorded overrides and seed, runs it
again and compares the new event log with ``events.jsonl`` byte for byte. Where they differ it names
the first differing event.

The state at an instant (``replay --at``) is not read from a re-run: it is derived from the
events, by :func:`sim.results.state.state_at`, with pressures from the series.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UsageError
from sim.results.events import dumps_event
from sim.results.reader import RunRecord, read_run
from sim.units import UnitError, to_si

__all__ = ["ReplayReport", "parse_time", "replay", "run_seed"]

_CLOCK = re.compile(r"^\s*(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d*)?))?\s*$")


def parse_time(text: str | float) -> float:
    """A time from the command line: ``00:35:00`` (h:mm:ss), ``00:35`` (h:mm), ``35 min``, ``2100`` [s].

    Returns
    -------
    float
        The time [s].

    Raises
    ------
    UsageError
        If the text is none of these forms.

    Examples
    --------
    >>> parse_time("00:35:00"), parse_time("35 min"), parse_time("2100")
    (2100.0, 2100.0, 2100.0)
    """
    if isinstance(text, int | float):
        return float(text)
    m = _CLOCK.match(text)
    if m:
        h, mnt, s = m.groups()
        return int(h) * 3600.0 + int(mnt) * 60.0 + (float(s) if s else 0.0)
    try:
        value = float(text)
    except ValueError:
        value = None
    try:
        value = to_si(text.strip(), "time") if value is None else value
    except UnitError as exc:
        raise UsageError(f"--at {text!r}: expected a time such as 00:35:00, '35 min' or 2100 (seconds): {exc}") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"--at {text!r}: expected a finite time >= 0")
    return value


def run_seed(record: RunRecord):
    """The seed to re-run *record* with: the manifest's seed, with the run's spawn key if any."""
    seed = record.manifest.get("seed", record.summary.get("seed"))
    if seed is None:
        raise UsageError(f"{record.path}: no seed in inputs/manifest.json or summary.json")
    spawn_key = tuple(record.summary.get("spawn_key") or ())
    if spawn_key:
        return np.random.SeedSequence(int(seed), spawn_key=spawn_key)
    return int(seed)


@dataclass
class ReplayReport:
    """The outcome of a replay.

    Attributes
    ----------
    identical : True when the new events.jsonl is byte-identical to the recorded one.
    n_recorded, n_replayed : numbers of events.
    index : index (0-based) of the first differing event, None when identical.
    expected, got : that event as recorded and as replayed (None past the end of a log).
    version_recorded : the program version that wrote the run.
    """

    path: Path
    identical: bool
    n_recorded: int
    n_replayed: int
    index: int | None = None
    expected: dict | None = None
    got: dict | None = None
    differing_fields: list[str] = field(default_factory=list)
    version_recorded: str | None = None
    result: Any = None

    def describe(self) -> str:
        """One paragraph for the terminal."""
        if self.identical:
            return (f"identical: {self.n_replayed} events, events.jsonl reproduced byte for byte")
        lines = [f"DIFFERENT: first differing event is #{self.index} (line {self.index + 1} of events.jsonl); "
                 f"{self.n_recorded} events recorded, {self.n_replayed} replayed"]
        lines.append(f"  expected: {dumps_event(self.expected) if self.expected is not None else '(no more events)'}")
        lines.append(f"  got:      {dumps_event(self.got) if self.got is not None else '(no more events)'}")
        if self.differing_fields:
            lines.append(f"  fields that differ: {', '.join(self.differing_fields)}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "run": str(self.path), "identical": self.identical, "n_recorded": self.n_recorded,
            "n_replayed": self.n_replayed, "first_difference": None if self.identical else {
                "index": self.index, "line": self.index + 1, "expected": self.expected, "got": self.got,
                "fields": self.differing_fields},
        }


def replay(directory: str | Path) -> ReplayReport:
    """Re-run a run directory from its ``inputs/`` and compare the events byte for byte.

    Raises
    ------
    UsageError
        If the directory is not a replayable run directory.
    InputError
        If the kept inputs no longer load.
    """
    # lazy for start-up cost: parse_time (for `replay --at` and sim.state_at) needs no engine
    from sim.engine import simulate

    record = read_run(directory)
    if "drill" in record.manifest.get("files", {}):  # a drill's injects and live commands are re-applied too
        from sim.drill.replay import replay_drill  # lazy: the drill machinery only for a drill

        identical, result, index = replay_drill(record.path)
        return ReplayReport(record.path, identical, len(record.events), len(result.events), index=index,
                            version_recorded=record.manifest.get("version"), result=result)
    loaded = record.load()
    result = simulate(loaded, run_seed(record))
    got_lines = [line + "\n" for line in result.events.lines()]
    expected_bytes = (record.path / "events.jsonl").read_bytes()
    got_bytes = "".join(got_lines).encode("utf-8")
    report = ReplayReport(record.path, expected_bytes == got_bytes, len(record.events), len(got_lines),
                          version_recorded=record.manifest.get("version"), result=result)
    if report.identical:
        return report
    expected_lines = expected_bytes.decode("utf-8").splitlines(keepends=True)
    index = next((i for i, (a, b) in enumerate(zip(expected_lines, got_lines, strict=False)) if a != b),
                 min(len(expected_lines), len(got_lines)))
    report.index = index

    def parse(lines, i):
        if i >= len(lines):
            return None
        try:
            return json.loads(lines[i])
        except json.JSONDecodeError:
            return {"unparsable line": lines[i].rstrip("\n")}

    report.expected, report.got = parse(expected_lines, index), parse(got_lines, index)
    if report.expected is not None and report.got is not None:
        keys = dict.fromkeys([*report.expected, *report.got])
        report.differing_fields = [k for k in keys if report.expected.get(k) != report.got.get(k)]
    return report
