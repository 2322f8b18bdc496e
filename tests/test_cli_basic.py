"""The command line's contract: exit codes 0 / 1 / 2 / 3, errors as ``file:line: message`` and no
traceback, for validate, schema, graph and run. Most cases call :func:`sim.cli.main` in-process;
a few go through the installed console script."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
import yaml

from sim.cli import main

REPO = Path(__file__).resolve().parent.parent
ISS = "scenarios/stations/iss-2026.yaml"
TWO_VOLUMES = "scenarios/two-volumes-valve.yaml"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def safehaven(*args):
    exe = shutil.which("safehaven")
    cmd = [exe] if exe else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def iss_places():
    raw = yaml.safe_load((REPO / ISS).read_text(encoding="utf-8"))
    return set(raw["compartments"]) | set(raw["vehicles"]), set(raw["hatches"])


# --- validate ----------------------------------------------------------------------------------

def test_validate_good_files(capsys):
    code, out, err = cli(capsys, "validate", ISS, TWO_VOLUMES)
    assert code == 0, err
    assert out.splitlines() == [f"{ISS}: ok (station)", f"{TWO_VOLUMES}: ok (scenario)"]
    assert err == ""


def test_validate_json(capsys, write_yaml):
    bad = write_yaml("bad.yaml", "name: x\ncompartments: {a: {volume: 5 kg}}\n")
    code, out, err = cli(capsys, "validate", "--json", ISS, str(bad))
    assert code == 2
    report = json.loads(out)
    assert report[0] == {"file": ISS, "kind": "station", "ok": True}
    assert report[1] == {"file": str(bad), "ok": False,
                         "problems": [f"{bad}:2: compartments.a.volume: expected a volume, got 5 kg"]}
    assert err == f"{bad}:2: compartments.a.volume: expected a volume, got 5 kg\n"


def test_validate_missing_file(capsys):
    assert cli(capsys, "validate", "nowhere.yaml")[:3:2] == (2, "nowhere.yaml: no such file\n")


def test_validate_a_directory(capsys):
    code, _, err = cli(capsys, "validate", "scenarios")
    assert code == 2 and err == "scenarios: is a directory, expected a YAML file\n"


# --- usage -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["frobnicate"], ["validate"], ["schema", "bogus"], ["run"], ["run", "x.yaml", "--seed", "x"]])
def test_usage_errors_exit_2(capsys, args):
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert "safehaven: error:" in err


def test_version_and_help(capsys):
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("safehaven ")
    code, out, _ = cli(capsys, "validate", "--help")
    assert code == 0 and "usage:" in out


def test_sweep_help_names_the_batch_chunk_and_a_real_outcome(capsys):
    """The figures and examples ``sweep --help`` gives are the code's (it cannot import them: start-up)."""
    from sim.sweep.runner import BATCH_CHUNK

    code, out, _ = cli(capsys, "sweep", "--help")
    out = " ".join(out.split())
    assert code == 0
    assert f"at most {BATCH_CHUNK:,} runs" in out
    assert "outcome=evacuated" in out


# --- schema ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "keys"), [("station", {"compartments", "vehicles", "hatches", "gas_supply"}),
                                             ("scenario", {"station", "duration", "crew", "leaks", "checks"})])
def test_schema_prints_json_schema(capsys, kind, keys):
    code, out, err = cli(capsys, "schema", kind)
    assert code == 0 and err == ""
    schema = json.loads(out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert keys <= set(schema["properties"])


def test_schema_through_the_console_script():
    proc = safehaven("schema", "station")
    assert proc.returncode == 0, proc.stderr
    volume = json.loads(proc.stdout)["$defs"]["Compartment"]["properties"]["volume"]
    assert {n["type"] for n in volume["anyOf"]} == {"number", "string"}


# --- graph -------------------------------------------------------------------------------------

def test_graph_mentions_every_compartment_and_hatch(capsys):
    code, out, err = cli(capsys, "graph", ISS)
    assert code == 0, err
    places, hatches = iss_places()
    words = set(out.replace(",", " ").split())
    assert places <= words, places - words
    assert hatches <= words, hatches - words
    assert "21 compartments, 3 vehicles, 23 hatches" in out


def test_graph_of_a_scenario_shows_its_station(capsys):
    code, out, _ = cli(capsys, "graph", TWO_VOLUMES)
    assert code == 0
    assert "module" in out and "tunnel" in out


def test_graph_json_is_node_link(capsys):
    code, out, _ = cli(capsys, "graph", "--json", ISS)
    assert code == 0
    data = json.loads(out)
    G = nx.node_link_graph(data, edges="edges")
    places, hatches = iss_places()
    assert set(G.nodes) == places
    assert {k for _, _, k in G.edges(keys=True)} == hatches
    assert G.nodes["dragon"]["kind"] == "vehicle" and G.nodes["zvezda"]["volume"] == 75.0


def test_graph_of_a_bad_file_exits_2(capsys):
    path = "tests/data/bad/station/hatch-unknown-end.yaml"
    code, out, err = cli(capsys, "graph", path)
    assert code == 2 and out == ""
    assert err == f"{path}:7: hatches.zvezda-prk.between[1]: unknown compartment 'pkr' (did you mean 'prk'?)\n"


# --- run ---------------------------------------------------------------------------------------

def test_run_missing_scenario(capsys, tmp_path):
    code, _, err = cli(capsys, "run", "nowhere.yaml", "--out", str(tmp_path / "o"))
    assert code == 2 and err == "nowhere.yaml: no such file\n"
    assert not (tmp_path / "o").exists()


def test_run_refuses_an_existing_out_dir(capsys, tmp_path):
    code, _, err = cli(capsys, "run", TWO_VOLUMES, "--out", str(tmp_path))
    assert code == 2 and "exists; choose another --out or pass --force" in err


def test_run_bad_set_exits_2_and_names_the_setting(capsys, tmp_path):
    code, _, err = cli(capsys, "run", TWO_VOLUMES, "--set", "station.compartments.modul.volume=3 m^3",
                       "--out", str(tmp_path / "o"))
    assert code == 2
    assert err == ("--set station.compartments.modul.volume=3 m^3: station.compartments.modul: "
                   "no 'modul' here (did you mean 'module'?)\n")
    assert not (tmp_path / "o").exists()


def test_run_good_scenario_writes_the_run_directory(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = cli(capsys, "run", TWO_VOLUMES, "--set", "duration=2 min", "--out", str(out_dir), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["scenario"] == "Two volumes equalizing through a valve"
    assert {"summary.json", "events.jsonl", "series.csv"} <= {p.name for p in out_dir.iterdir()}
