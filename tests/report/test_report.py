"""safehaven report: PNGs and a self-contained HTML file, valid and complete."""

from __future__ import annotations

import base64
import itertools
import re
from html.parser import HTMLParser

from sim.cli_report import main
from sim.report.plots import crew_intervals, draw_station, plot_crew_activity, station_layout
from sim.results.reader import read_run

PNG = b"\x89PNG\r\n\x1a\n"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.tables, self.text = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag == "table":
            self.tables += 1

    def handle_data(self, data):
        self.text.append(data)


def test_report_html_and_pngs(iss_run, tmp_path, capsys):
    html, pngs = tmp_path / "r.html", tmp_path / "png"
    assert main(["report", str(iss_run), "--html", str(html), "--png-dir", str(pngs)]) == 0
    for name in ("series.png", "station.png"):
        assert (pngs / name).read_bytes()[:8] == PNG
    parser = _Collect()
    parser.feed(html.read_text(encoding="utf-8"))
    parser.close()
    assert len(parser.imgs) == 2 and parser.tables >= 4
    for img in parser.imgs:
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == PNG
    text = "".join(parser.text)
    for expected in ("prk", "progress", "zvezda-prk", "leak_start", "Checks", "Event timeline", "prk above 60 kPa"):
        assert expected in text
    assert not re.search(r"<(script|link)\b", html.read_text()), "the report must need nothing beside it"


def test_report_escapes_text(two_run, tmp_path):
    import json
    import shutil

    run = tmp_path / "evil"
    shutil.copytree(two_run, run)
    summary = json.loads((run / "summary.json").read_text())
    summary["scenario"] = "<script>alert(1)</script>"
    (run / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_station_drawing_iss_has_no_overlapping_labels(iss_run, tmp_path):
    from sim.station import build_graph

    loaded = read_run(iss_run).load()
    G = build_graph(loaded.station)
    pos = station_layout(G)
    assert len(pos) == 24
    by_column: dict[float, list[float]] = {}
    for x, y in pos.values():
        by_column.setdefault(round(x, 6), []).append(y)
    for ys in by_column.values():  # labels sit under their node: nodes of one column are >= 1 row apart
        ys.sort()
        assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(ys))
    state = {"t": 900.0, "compartments": {n: {"p_Pa": 90_000.0} for n in G},
             "hatches": {"zvezda-prk": "closed"}, "crew": {"cdr": {"location": "dragon"}}}
    out = draw_station(loaded.station, tmp_path / "iss.png", state=state)
    assert out.read_bytes()[:8] == PNG


def test_crew_chart_from_events(tmp_path):
    events = [
        {"t": 0.0, "kind": "run_start"},
        {"t": 60.0, "kind": "respond", "crew": "cdr", "delay_s": 30.0},
        {"t": 60.0, "kind": "task_start", "crew": "cdr", "task": "go to dragon"},
        {"t": 120.0, "kind": "task_end", "crew": "cdr", "task": "go to dragon"},
        {"t": 130.0, "kind": "task_start", "crew": "fe1", "task": "close hatch zvezda-prk"},
        {"t": 190.0, "kind": "task_interrupted", "crew": "fe1", "task": "close hatch zvezda-prk"},
        {"t": 200.0, "kind": "task_start", "crew": "cdr", "task": "measure prk"},
        {"t": 600.0, "kind": "run_end"},
    ]
    assert crew_intervals(events) == {
        "cdr": [(30.0, 60.0, "responding"), (60.0, 120.0, "go to dragon"), (200.0, 600.0, "measure prk")],
        "fe1": [(130.0, 190.0, "close hatch zvezda-prk")],
    }
    assert plot_crew_activity(events, tmp_path / "crew.png").read_bytes()[:8] == PNG
    assert plot_crew_activity(events[:1], tmp_path / "none.png") is None


def test_crew_chart_of_the_flagship_run(prk_run, tmp_path):
    """The real engine's task events give every crew member of the flagship some activity."""
    from sim.results.reader import read_run

    record = read_run(prk_run)
    intervals = crew_intervals(record.events)
    assert set(intervals) == set(record.summary["crew"])
    assert any(what.startswith("repair") for _, _, what in intervals["fe5"])


def test_read_run_dataframe(two_run):
    record = read_run(two_run)
    df = record.to_dataframe()
    assert list(df.columns)[:3] == ["module.p_Pa", "module.O2_Pa", "module.CO2_Pa"]
    assert df.index.name == "t_s" and len(df) == len(record.series.t)
