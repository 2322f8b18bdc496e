"""The ISS station file loads whole, with every compartment, vehicle and hatch it lists."""

from pathlib import Path

import pytest
import yaml

from sim.scenario.load import load_station
from sim.station import build_graph

ISS = Path(__file__).resolve().parents[2] / "scenarios" / "stations" / "iss-2026.yaml"


@pytest.fixture(scope="module")
def iss():
    return load_station(ISS)


def test_counts(iss):
    assert len(iss.compartments) == 21
    assert len(iss.vehicles) == 3
    assert len(iss.hatches) == 23


def test_total_volume_is_the_sum_of_the_file_volumes(iss):
    raw = yaml.safe_load(ISS.read_text(encoding="utf-8"))  # read independently of the loader
    written = [entry["volume"] for section in ("compartments", "vehicles") for entry in raw[section].values()]
    assert all(v.endswith(" m^3") for v in written)
    expected = sum(float(v.split()[0]) for v in written)
    total = sum(c.volume for c in iss.compartments.values()) + sum(v.volume for v in iss.vehicles.values())
    assert total == pytest.approx(expected, rel=1e-12)
    assert total == pytest.approx(966.9, abs=0.05)


def test_graph_is_connected_and_has_every_hatch(iss):
    import networkx as nx

    G = build_graph(iss)
    assert G.number_of_nodes() == 24 and G.number_of_edges() == 23
    assert nx.is_connected(G)
    assert {k for _, _, k in G.edges(keys=True)} == set(iss.hatches)


def test_vehicles(iss):
    assert {v: (x.docked_to, x.seats, x.shelter) for v, x in iss.vehicles.items()} == {
        "dragon": ("pma2", 5, True), "soyuz": ("rassvet", 3, True), "progress": ("prk", 0, False)}
