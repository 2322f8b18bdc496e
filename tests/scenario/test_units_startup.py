"""Start-up cost of units: pint's registry is cached on disk, pint never drags dask in, and what pint
read once is remembered, so a later process that meets the same quantities never imports pint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import sys
from sim.units import to_si, unit_factor
print(repr(to_si("2 lb/day", "mass flow")), "dask" in sys.modules)
print(repr(unit_factor("mmHg")), repr(unit_factor("crew")), "pint" in sys.modules)
import dask  # still importable afterwards
print(dask.__name__)
"""
LB_PER_DAY = repr(2 * 0.45359237 / 86400)


def _probe(env_extra: dict[str, str], probe: str = PROBE) -> list[str]:
    env = os.environ | env_extra
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_registry_is_cached_in_the_cache_dir_and_pint_does_not_import_dask(tmp_path):
    first = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    assert first[0] == f"{LB_PER_DAY} False"
    assert first[1].endswith("True")  # the first process asked pint
    assert first[2] == "dask"
    cached = list((tmp_path / "pint").iterdir())
    assert cached, "pint wrote no cache"


def test_a_later_process_reads_remembered_quantities_without_pint(tmp_path):
    first = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    again = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    assert again[0] == first[0]  # the very same float
    assert again[1] == first[1].removesuffix("True") + "False"
    assert again[1].startswith("(133.322387415, (1, -1, -2, 0, 0, 0, 0)) 'unknown'")


def test_a_refused_quantity_is_not_remembered_and_keeps_pints_message(tmp_path):
    probe = ("import sys\nfrom sim.units import UnitError, to_si\ntry:\n    to_si('3 parsecs/fortnight', 'pressure')\n"
             "except UnitError as exc:\n    print(exc)\nprint('pint' in sys.modules)")
    first = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)}, probe)
    assert first == ["expected a pressure, got 3 parsecs/fortnight", "True"]
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)}, probe) == first


def test_a_tampered_memo_is_ignored(tmp_path):
    _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    (memo,) = tmp_path.glob("units-*.json")
    stored = json.loads(memo.read_text())
    entries = stored["entries"]
    key = "q:mass flow:2 lb/day"
    plausible = {**entries, key: 1.0}  # a wrong number of the right type: only the digest tells
    for wrong in ({"entries": plausible, "sha256": stored["sha256"]},
                  {"entries": {k: "not a number" if k.startswith("q:") else v for k, v in entries.items()},
                   "sha256": stored["sha256"]},
                  entries, ["a", "list"]):
        memo.write_text(json.dumps(wrong))
        again = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
        assert again[0] == f"{LB_PER_DAY} False"
        assert again[1].endswith("True")  # asked pint again
    memo.write_bytes(b"\x00garbage")
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})[0] == f"{LB_PER_DAY} False"


def test_the_memo_keeps_the_most_recently_used_entries(tmp_path):
    """A sweep's one-off values push out the oldest entries, never the quantities every run reads;
    memo files of another key left unused for a month are removed."""
    env = {"SAFEHAVEN_CACHE_DIR": str(tmp_path)}
    stale = tmp_path / "units-0000000000000000.json"
    stale.write_text("{}")
    os.utime(stale, (0, 0))
    fresh_other = tmp_path / "units-1111111111111111.json"
    fresh_other.write_text("{}")
    _probe(env)  # remembers "2 lb/day" and the unit names of PROBE
    one_offs = ("import sim.units as u\nu.MEMO_MAX_ENTRIES = 6\nprint(u.to_si('2 lb/day', 'mass flow'))\n"
                "for i in range(10):\n    u.to_si(f'{i + 0.5} lb/day', 'mass flow')\n")
    _probe(env, one_offs)
    (memo,) = (f for f in tmp_path.glob("units-*.json") if f not in (stale, fresh_other))
    entries = json.loads(memo.read_text())["entries"]
    assert len(entries) == 6
    # read again by the last process: kept, last; of the one-off values the latest five
    assert list(entries) == [f"q:mass flow:{x} lb/day" for x in (5.5, 6.5, 7.5, 8.5, 9.5, 2)]
    assert not stale.exists() and fresh_other.exists()


def test_an_unusable_cache_dir_falls_back_to_building_the_registry(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(blocker)})[0] == f"{LB_PER_DAY} False"
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(blocker)})[1].endswith("True")  # nothing could be remembered


def test_a_corrupt_cache_falls_back_to_building_the_registry(tmp_path):
    _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    for f in (tmp_path / "pint").iterdir():
        f.write_bytes(b"\x00garbage")
    for f in tmp_path.glob("units-*.json"):  # so that pint, and its cache, are used again
        f.unlink()
    again = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    assert again[0] == f"{LB_PER_DAY} False"
    assert again[1].endswith("True")
