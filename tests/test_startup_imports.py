"""Start-up: a command imports only what it uses (docs/architecture.md, "Start-up").

Each probe runs in a fresh interpreter and lists the modules it ended up importing; the costly
libraries a command does not need must not be among them. (Times are measured in bench/, never
asserted here.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "iss-prk-2026.yaml"
HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "matplotlib", "networkx", "simpy", "pydantic", "pint", "rich",
         "aiohttp", "dask")


def _imported(code: str, tmp_path) -> set[str]:
    """The modules imported by *code* in a fresh interpreter, and the top-level packages among them."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={**os.environ, "SAFEHAVEN_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    modules = set(json.loads(out.stdout.splitlines()[-1]))
    return modules | {name.split(".")[0] for name in modules}


def test_importing_the_command_line_imports_no_library_a_command_may_not_need(tmp_path):
    modules = _imported("import sim.cli", tmp_path)
    assert sorted(modules & set(HEAVY)) == []
    assert not {m for m in modules if m.startswith(("sim.drill.", "sim.engine", "sim.scenario.", "sim.sweep."))}


@pytest.mark.parametrize("argv", [["--version"], ["schema", "--help"]])
def test_help_and_version_need_no_library(tmp_path, argv):
    code = f"from sim.cli import main\nmain({argv!r})"
    assert sorted(_imported(code, tmp_path) & set(HEAVY)) == []


def test_validate_imports_neither_the_engine_nor_networkx(tmp_path):
    code = f"from sim.cli import main\nassert main(['validate', {str(FLAGSHIP)!r}]) == 0"
    modules = _imported(code, tmp_path)
    assert sorted(modules & {"networkx", "simpy", "pandas", "pyarrow", "matplotlib", "rich", "dask", "aiohttp"}) == []
    assert sorted(m for m in modules if m.startswith(("sim.engine", "sim.drill", "sim.station", "sim.scenario.drill"))) == []



def test_a_second_validate_of_the_same_files_needs_neither_pint_nor_numpy(tmp_path):
    code = f"from sim.cli import main\nassert main(['validate', {str(FLAGSHIP)!r}]) == 0"
    assert {"pint", "numpy"} <= _imported(code, tmp_path)  # the first asks pint (and remembers)
    assert sorted(_imported(code, tmp_path) & {"pint", "numpy", "scipy"}) == []


def test_run_imports_no_writer_or_plotting_library_it_does_not_use(tmp_path):
    code = f"from sim.cli import main\nassert main(['run', {str(FLAGSHIP)!r}, '--out', 'r', '--quiet']) == 0"
    _imported(code, tmp_path)
    modules = _imported(code.replace("'--quiet'", "'--quiet', '--force'"), tmp_path)
    assert sorted(modules & {"pandas", "pyarrow", "matplotlib", "scipy", "dask", "aiohttp", "rich", "pint"}) == []
