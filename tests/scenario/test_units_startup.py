"""Start-up cost of units: pint's registry is cached on disk, and pint never drags dask in."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from sim.units import to_si, unit_registry
print(to_si("2 lb/day", "mass flow"), "dask" in sys.modules)
import dask  # still importable afterwards
print(dask.__name__)
"""


def _probe(env_extra: dict[str, str]) -> list[str]:
    env = os.environ | env_extra
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_registry_is_cached_in_the_cache_dir_and_pint_does_not_import_dask(tmp_path):
    first = _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    assert first[:2] == [repr(2 * 0.45359237 / 86400), "False"]
    assert first[2] == "dask"
    cached = list((tmp_path / "pint").iterdir())
    assert cached, "pint wrote no cache"
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})[:2] == first[:2]


def test_an_unusable_cache_dir_falls_back_to_building_the_registry(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(blocker)})[:2] == [repr(2 * 0.45359237 / 86400), "False"]


def test_a_corrupt_cache_falls_back_to_building_the_registry(tmp_path):
    _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    for f in (tmp_path / "pint").iterdir():
        f.write_bytes(b"\x00garbage")
    assert _probe({"SAFEHAVEN_CACHE_DIR": str(tmp_path)})[:2] == [repr(2 * 0.45359237 / 86400), "False"]
