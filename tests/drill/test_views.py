"""The browser station's views, tick by tick, against the engine's own state at the same instant."""

from __future__ import annotations

import numpy as np

from sim.drill.injects import DrillRun
from sim.drill.session import control_process
from sim.drill.station import BrowserSource
from sim.instruments import quantize
from sim.scenario.drill_load import load_drill
from tests.drill.station_helpers import HIDDEN, SERVED_DRILL

MMHG = 133.322368


def test_every_tick_the_views_agree_with_the_engine(drill_dir):
    (drill_dir / "served.yaml").write_text(SERVED_DRILL)
    run = DrillRun(load_drill(drill_dir / "served.yaml"), None, mode="live")
    sent: list[tuple[str, dict]] = []
    checked = []

    def check(run):
        source.publish_state(run, force=True)
        ins = next(m["state"] for a, m in reversed(sent) if a == "instructor" and m["type"] == "state")
        tr = next(m["state"] for a, m in reversed(sent) if a == "trainee" and m["type"] == "state")
        sim = run.sim
        assert ins["t_s"] == tr["t_s"] == run.env.now
        for m in ins["crew"]:
            engine = sim.crew[m["id"]]
            assert (m["location"], m["aboard"], m["status"]) == (engine.location, engine.aboard, engine.status)
        assert tr["crew"] == ins["crew"]
        for h in ins["hatches"]:
            assert h["open"] == sim.hatch_open[h["id"]] and h["jammed"] == (h["id"] in sim.faults.jammed_hatches)
        assert set(ins["alarms"]) == sim.alarms_active == set(tr["alarms"])
        assert {lk["id"] for lk in ins["leaks"] if lk["active"]} == {k for k, v in sim.leak_state.items() if v["cda_m2"] > 0}
        p = sim.solver.pressure()
        for g in tr["gauges"]:
            i = sim.index[g["id"]]
            fault = sim.faults.gauge(g["id"])
            true = p[i] * (fault.scale if fault else 1) + (fault.bias if fault else 0)
            assert g["reading_mmHg"] == round(float(quantize(true, 13.3322)) / MMHG, 1)
        checked.append(run.env.now)

    source = BrowserSource(1e6, lambda a, m: sent.append((a, m)), on_tick=check, paused=False)
    source.inbox.put(("close hatch lab-node by b", {"page": "trainee-1"}))
    source.inbox.put(("inject capsule-sticks", {"page": "instructor-1"}))
    run.run(control_process(source))
    assert len(checked) == 1200
    assert np.all(np.diff(checked) == 1.0)
    trainee_words = str([m for a, m in sent if a in ("trainee", "all")])
    assert not [w for w in HIDDEN if w in trainee_words]
