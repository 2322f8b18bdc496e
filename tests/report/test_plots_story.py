"""Plots that show the story (issue 10 case 12): what the lanes and markers draw is the run's truth.

The lanes and markers are computed from the events by ``crew_locations``, ``hatch_intervals`` and
``event_marks``; these tests hold that data against the run's summary and events, and check the
drawings themselves: HH:MM axes, literal names, labels that do not overlap, fixed colours.
"""

from __future__ import annotations

import colorsys
import itertools

import matplotlib
import numpy as np
import pytest

from sim.report.palette import COMPARTMENT_COLOURS, CREW_COLOURS, MEANING, colours_for
from sim.report.plots import (
    crew_locations,
    event_marks,
    hatch_intervals,
    hhmm_axis,
    plot_series,
    station_figure,
)
from sim.results.reader import initial_hatch_states, read_run

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def flagship(prk_run):
    record = read_run(prk_run)
    return record, record.load()


def _where_at(intervals, t):
    return next(place for a, b, place in intervals if a <= t < b or (t == b == intervals[-1][1]))


def test_crew_lanes_are_where_the_run_put_each_member(flagship):
    record, loaded = flagship
    end = record.summary["duration_s"]
    lanes = crew_locations(record.events, {m.id: m.at for m in loaded.scenario.crew}, end)
    assert set(lanes) == set(record.summary["crew"])
    for cid, intervals in lanes.items():
        assert intervals[0][0] == 0.0 and intervals[-1][1] == end
        assert all(b == c for (_, b, _), (c, _, _) in itertools.pairwise(intervals))  # no gap, no overlap
        assert intervals[-1][2] == record.summary["crew"][cid]["location"]
    for e in record.events:
        if e["kind"] == "in_shelter":
            assert _where_at(lanes[e["crew"]], e["t"]) == e["vehicle"]
        if e["kind"] == "repair_start":
            for cid in e["crew"]:
                assert _where_at(lanes[cid], e["t"]) == e["at"]


def test_hatch_lanes_follow_the_hatch_events(flagship):
    record, loaded = flagship
    end = record.summary["duration_s"]
    hatches, valves = initial_hatch_states(loaded)
    lanes = hatch_intervals(record.events, hatches, valves, end)
    sealed = next(e for e in record.events if e["kind"] == "sheltered")
    closed = [(a, b) for a, b, hopen, _ in lanes["pma2-dragon"] if not hopen]
    opened = next(e["t"] for e in record.events if e["kind"] == "hatch" and e["hatch"] == "pma2-dragon"
                  and e["state"] == "open")
    assert closed == [(sealed["t"], opened)]
    assert lanes["tranquility-beam"] == [(0.0, end, False, False)]  # closed all run long (initial state)
    for e in record.events:
        if e["kind"] in ("hatch", "valve"):
            _a, _b, hopen, vopen = next(x for x in lanes[e["hatch"]] if x[0] == e["t"])
            assert (hopen if e["kind"] == "hatch" else vopen) == (e["state"] == "open")
    assert all(any(not h for _, _, h, _ in v) or len(v) > 1 for v in lanes.values())


def test_every_hatch_and_valve_mark_names_its_hatch(flagship):
    record, _ = flagship
    marks = event_marks(record.events)
    for e in record.events:
        if e["kind"] in ("hatch", "valve"):
            assert any(t == e["t"] and e["hatch"] in label and e["state"] in label for t, label, _ in marks)
    meaning = {label: m for _, label, m in marks}
    assert meaning["pma2-dragon closed"] == "hatch_closed" and meaning["zvezda-prk valve open"] == "valve_open"


def test_story_plot_of_the_flagship(flagship, tmp_path):
    record, loaded = flagship
    hatches, valves = initial_hatch_states(loaded)
    out = plot_series(record.series, tmp_path / "s.png", record.events,
                      {"reserve_floor": loaded.station.limits.reserve_floor}, "flagship",
                      crew_start={m.id: m.at for m in loaded.scenario.crew}, hatches=hatches, valves=valves)
    assert out.read_bytes()[:8] == PNG


def test_time_axis_reads_hh_mm():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_xlim(0, 14400)
    hhmm_axis(ax, 14400)
    fig.canvas.draw()
    fmt = ax.xaxis.get_major_formatter()
    labels = [fmt(x, None) for x in ax.get_xticks() if 0 <= x <= 14400]
    plt.close(fig)
    assert labels[:3] == ["00:00", "00:30", "01:00"] and labels[-1] == "04:00"


def test_user_names_are_drawn_literally(tmp_path, write_yaml):
    """A '$' in a name (ids cannot have one) is not matplotlib mathtext: an unbalanced one failed the drawing."""
    from sim.api import load
    from sim.engine import simulate

    scenario = write_yaml("s.yaml", """\
        name: "Cost: $5 per kg"
        duration: 10 min
        output: {every: 60 s}
        station:
          name: "Station $A"
          atmosphere: {N2: 79.6 kPa, O2: 21.3 kPa, CO2: 0.4 kPa}
          compartments:
            module: {volume: 20 m^3}
            tunnel: {volume: 5 m^3}
          hatches:
            h: {between: [module, tunnel], area: 0.5 m^2}
        leaks:
          - {id: crack, at: tunnel, rate: 2 lb/day}
        """)
    loaded = load(scenario)
    result = simulate(loaded)
    out = plot_series(result.series, tmp_path / "s.png", result.events.events, None, result.summary["scenario"])
    assert out.read_bytes()[:8] == PNG
    fig = station_figure(loaded.station, state={"t": 60.0, "compartments": {"module": {"p_Pa": 1e5}}})
    fig.canvas.draw()
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    matplotlib.pyplot.close(fig)
    assert "Station $A at 00:01:00" in texts


def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_station_labels_do_not_overlap(flagship):
    record, loaded = flagship
    state = {"t": 2400.0, "compartments": {n: {"p_Pa": 101000.0} for n in record.series.names},
             "crew": {cid: {"location": loc} for cid, loc in
                      {"cdr": "harmony", "fe1": "destiny", "fe2": "kibo", "fe3": "columbus", "fe4": "dragon",
                       "fe5": "prk", "fe6": "zvezda"}.items()}}
    fig = station_figure(loaded.station, state=state)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_bbox_patch().get_window_extent(renderer))
             for t in fig.findobj(matplotlib.text.Annotation) if t.get_gid() == "label"]
    matplotlib.pyplot.close(fig)
    assert len(boxes) == len(loaded.station.compartments) + len(loaded.station.vehicles) + 7
    clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if _boxes_overlap(ba, bb)]
    assert clashes == []


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0]


def test_one_colour_per_meaning():
    # a closed hatch and an open valve are of clearly different hues (they were red and orange)
    d = abs(_hue(MEANING["hatch_closed"]) - _hue(MEANING["valve_open"]))
    assert min(d, 1 - d) > 0.25
    crew = ["cdr", "fe1", "fe2", "fe3", "fe4", "fe5", "fe6"]
    first = colours_for(crew, CREW_COLOURS)
    assert colours_for(list(reversed(crew)), CREW_COLOURS) == first  # the same in every report
    assert len(set(first.values())) == len(crew)
    names = [f"m{k}" for k in range(len(COMPARTMENT_COLOURS))]  # what one figure draws gets distinct colours
    assert len(set(colours_for(names, COMPARTMENT_COLOURS).values())) == len(names)
    assert np.all([c.startswith("#") and len(c) == 7 for c in MEANING.values()])


def test_lanes_agree_with_the_state_at_sampled_times(flagship):
    """The lanes say what sim.results.state says (itself held against the engine by its property test)."""
    from sim.results.state import state_at

    record, loaded = flagship
    end = record.summary["duration_s"]
    hatches, valves = initial_hatch_states(loaded)
    crew = crew_locations(record.events, {m.id: m.at for m in loaded.scenario.crew}, end)
    lanes = hatch_intervals(record.events, hatches, valves, end)
    times = sorted({float(e["t"]) for e in record.events} | {float(x) for x in np.linspace(0, end, 97)})
    for t in times[::3]:
        st = state_at(record.events, t, loaded)
        for cid, intervals in crew.items():
            assert _where_at(intervals, t) == st.crew[cid].location, (cid, t)
        for hid, intervals in lanes.items():
            _a, _b, hopen, vopen = next(x for x in intervals if x[0] <= t < x[1] or t == x[1] == end)
            assert hopen == st.hatches[hid].open, (hid, t)
            if hid in valves:
                assert vopen == st.hatches[hid].valve_open, (hid, t)


def test_a_jammed_shelter_hatch_is_not_drawn_or_counted_as_sealed():
    """In the hatch-jam drill the crew are in Dragon with the hatch open: no 'sealed' anywhere."""
    from sim.results.milestones import shelter_of

    events = [
        {"t": 0.0, "kind": "run_start"},
        {"t": 1959.9, "kind": "in_shelter", "crew": "fe3", "vehicle": "dragon"},
        {"t": 2135.1, "kind": "hatch_jammed", "hatch": "pma2-dragon", "by": "fe4", "state": "open"},
        {"t": 2135.1, "kind": "sheltered", "vehicle": "dragon", "crew": ["fe3"], "hatch": "open"},
    ]
    labels = [label for _, label, _ in event_marks(events)]
    assert "in dragon, hatch open" in labels and "pma2-dragon jammed" in labels
    assert not any("sealed" in label for label in labels)
    shelter = shelter_of({"duration_s": 3600.0}, events)
    assert shelter["compartment"] == "dragon" and shelter["entered_s"] == 1959.9
    assert shelter["sealed_s"] is None and shelter["duration_s"] is None
