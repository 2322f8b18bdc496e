"""Live play that can be trusted: the regression tests of issue 13's five live-play defects.

1. resume / speed froze the world for (simulated time / speed) wall seconds;
2. the dashboard's trend and Treserve were an average since the session start;
3. (test_live_sessions.py) Ctrl-C or --live without --out lost the session;
4. an accepted command that then failed, or waited, said nothing;
5. the instructor could not stop a procedure or cancel a task, nor hand the crew to the trainees.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.drill.injects import DrillRun
from sim.drill.live import trends
from sim.drill.pacing import Pacer
from sim.drill.session import ReplaySource, control_process, procedures_text
from sim.drill.trend import PressureTrend
from sim.engine import simulate
from sim.scenario.drill_load import load_drill
from tests.drill.live_helpers import FakeClock, ScriptedConsole

MMHG = 133.322368


def _play(path, console, play="procedures"):
    run = DrillRun(load_drill(path), None, mode="live", play=play)
    result = run.run(control_process(console))
    return run, result


# -- 1. no freeze after resume or a speed change ------------------------------------------------------
def test_pacer_measures_from_the_last_resume():
    fake = FakeClock()
    pacer = Pacer(120.0, clock=fake, sleep=fake.sleep)
    pacer.reanchor(0.0)
    pacer.wait(3120.0)  # 52 min at x120: 26 wall seconds
    assert fake.now == pytest.approx(26.0)
    fake.sleep(40.0)  # paused for 40 s of wall time
    pacer.reanchor(3120.0)  # resume
    before = fake.now
    pacer.wait(3121.0)
    assert fake.now - before == pytest.approx(1 / 120)  # the next tick is due 1/120 s later, not 26 s


def test_resume_and_speed_do_not_freeze_the_world(make_drill):
    path = make_drill("""\
        set: {duration: 1 h}
        expect: [{expect: nobody_incapacitated}]
        """)
    console = ScriptedConsole({3120: ["pause", "resume"], 3300: ["speed 60"]}, speed=120.0, paused_wall_s=40.0)
    _play(path, console)
    wall = console.tick_wall
    assert wall[3119.0] == pytest.approx(3119 / 120)
    # after the pause (40 s wall) the world goes on at once, a tick per 1/120 s
    assert wall[3121.0] - wall[3120.0] == pytest.approx(1 / 120)
    assert wall[3130.0] - wall[3120.0] == pytest.approx(10 / 120)
    # after 'speed 60' at 3300 s a tick per 1/60 s, at once
    assert wall[3310.0] - wall[3300.0] == pytest.approx(10 / 60)
    assert any("resumed at 00:52:00" in m for _, m, _ in console.said)


# -- 2. the trend is the last minute's, dP/dt now the last seconds' ------------------------------------
def test_trend_forgets_what_happened_before_its_window():
    trend = PressureTrend()
    for t in range(0, 300):
        p = 100_000.0 - 50.0 * min(t, 100)  # falls for 100 s, then steady
        trend.add(float(t), np.array([p]))
    rate, span = trend.rate(60.0)
    assert span == 60.0 and rate[0] == 0.0  # steady for 199 s: the minute's trend is 0
    now, span = trend.rate(10.0)
    assert span == 10.0 and now[0] == 0.0


def test_dashboard_numbers_match_the_engine(make_drill, drill_dir):
    """A hole at 2 min in the lab, the lab-node hatch closed at 5 min: the node is steady after it
    (trend 0, Treserve '--', whatever it lost before), and 22 s after the hole the lab's dP/dt now
    and 60-s trend are the engine's own rates."""
    path = make_drill("""\
        set: {duration: 20 min, run: "[]", output.every: 1 s}
        expect: [{expect: nobody_incapacitated}]
        """)
    seen = {}

    def probe(run, console):
        if run.env.now in (142.0, 900.0):
            seen[run.env.now] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                 for k, v in trends(run, console.trend).items()}
            seen[run.env.now]["solver_t"] = float(run.sim.solver.t)

    console = ScriptedConsole({300: ["close hatch lab-node by b"]}, speed=1000.0, probe=probe)
    run, result = _play(path, console)
    lab, node = run.sim.index["lab"], run.sim.index["node"]
    # the engine's own series of the same session (every second)
    series = result.series.columns()
    t = np.asarray(series["t_s"])
    p_lab, p_node = np.asarray(series["lab.p_Pa"]), np.asarray(series["node.p_Pa"])

    late = seen[900.0]
    assert abs(late["now"][node]) * 60 / MMHG < 0.01 and abs(late["minute"][node]) * 60 / MMHG < 0.01
    assert late["treserve"][node] > 30 * 86400  # not falling that anyone could see: no red Treserve
    assert p_node[t == 900.0][0] < p_node[0] - 100  # it did lose pressure before the hatch closed

    early = seen[142.0]
    ts = early["solver_t"]
    engine_now = (np.interp(ts, t, p_lab) - np.interp(ts - 10, t, p_lab)) / 10
    engine_minute = (np.interp(ts, t, p_lab) - np.interp(ts - 60, t, p_lab)) / 60
    assert early["now"][lab] == pytest.approx(engine_now, rel=0.05)
    assert early["minute"][lab] == pytest.approx(engine_minute, rel=0.05)
    assert early["now"][lab] < 2.5 * early["minute"][lab]  # the hole is 22 s old: now >> minute (both < 0)


# -- 4. a command that fails or waits says so ------------------------------------------------------------
class _Told(ReplaySource):
    def __init__(self, records):
        super().__init__(records)
        self.said = []

    def say(self, message, ok=True, to=None):
        self.said.append((message, ok))


def _replayed(path, records, play="procedures"):
    run = DrillRun(load_drill(path), None, mode="live", play=play)
    source = _Told(records)
    result = run.run(control_process(source))
    return run, result, source.said


def test_a_command_on_a_jammed_hatch_fails_with_the_reason(make_drill):
    path = make_drill("""\
        set: {duration: 10 min, run: "[]"}
        injects: [{name: jam, fault: hatch_jams, hatch: lab-node, at: 10 s}]
        expect: [{expect: nobody_incapacitated}]
        """)
    _run, _result, said = _replayed(path, [{"t": 20, "command": "close hatch lab-node by b"},
                                         {"t": 25, "command": "measure lab pressure by a"}])
    failed = [m for m, ok in said if "FAILED" in m]
    assert len(failed) == 1 and "close hatch lab-node" in failed[0] and "jammed" in failed[0]
    assert "b tried at" in failed[0]
    done = [m for m, ok in said if "done: measure lab pressure by a" in m]
    assert done and "mmHg" in done[0]


def test_a_command_for_someone_who_cannot_act_fails(make_drill):
    path = make_drill("""\
        set: {duration: 10 min, run: "[]"}
        injects: [{name: down, fault: crew_incapacitated, crew: a, at: 10 s}]
        expect: [{expect: nobody_impaired}]
        """)
    _, _, said = _replayed(path, [{"t": 30, "command": "measure lab by a"}])
    assert any("FAILED: measure lab by a" in m and "no able crew member for 'a'" in m for m, _ in said)


def test_a_command_held_up_by_a_busy_crew_member_says_so_and_undock_that_cannot_happen_fails(make_drill):
    path = make_drill("""\
        set: {duration: 30 min, run: "[]"}
        expect: [{expect: nobody_incapacitated}]
        """)
    _, _result, said = _replayed(path, [{"t": 5, "command": "repair crack by b for 20 min"},
                                       {"t": 10, "command": "close hatch lab-node by b"},
                                       {"t": 12, "command": "undock capsule"}])
    waiting = [m for m, ok in said if "waiting: close hatch lab-node by b" in m]
    assert waiting and "b is busy (repair crack)" in waiting[0] and "cancel" in waiting[0]
    assert any("FAILED: undock capsule" in m and "nobody can close hatch node-capsule" in m for m, _ in said)


# -- 5. stop, cancel, and the trainees playing the crew -----------------------------------------------------
def test_the_instructor_stops_a_procedure_and_cancels_a_task(make_drill):
    path = make_drill("""\
        set: {duration: 20 min}
        expect: [{expect: nobody_incapacitated}]
        """)
    # the scenario's response starts on the rapid_depress alarm; stop it when it is under way
    plain, _, _ = _replayed(path, [])
    start = next(e["t"] for e in plain.sim.log.events if e["kind"] == "procedure_start")
    tick = float(np.ceil(start)) + 1
    class Probe(_Told):
        listed = ""

        def tick(self, run):
            if run.env.now == tick:
                Probe.listed = procedures_text(run)

    run = DrillRun(load_drill(path), None, mode="live")
    source = Probe([{"t": tick + 1, "command": "stop respond"},
                                         {"t": tick + 2, "command": "move a to node"},
                    {"t": tick + 3, "command": "cancel a"}])
    result = run.run(control_process(source))
    events = result.events.events
    assert Probe.listed.startswith("0:respond (Respond to a depress) phase")  # what 'procedures' says
    stopped = [e for e in events if e["kind"] == "procedure_stopped"]
    assert stopped and stopped[0]["procedure"] == "0:respond" and stopped[0]["reason"] == "stopped by the instructor"
    assert not any(e["kind"] == "step_start" and e["procedure"] == "0:respond" and e["t"] > tick + 1 for e in events)
    cancelled = [e for e in events if e["kind"] == "task_interrupted" and e["crew"] == "a" and e["t"] >= tick + 3]
    assert cancelled and cancelled[0]["cause"] == "cancelled by the instructor"
    assert result.summary["outcome"] != "procedures_running"


def test_stop_names_what_runs_when_the_name_is_wrong(make_drill):
    path = make_drill("""\
        set: {duration: 5 min, run: "[]"}
        expect: [{expect: nobody_incapacitated}]
        """)
    _, _, said = _replayed(path, [{"t": 5, "command": "stop respond"}, {"t": 6, "command": "cancel a"}])
    assert ("stop respond: no running procedure 'respond' (running: none)", False) in said
    assert any(m.startswith("cancel a: a has no task to cancel") and not ok for m, ok in said)


def test_trainees_play_the_crew(make_drill):
    path = make_drill("""\
        set: {duration: 20 min}
        expect: [{expect: crew_at_vehicles, within: 15 min, of: start}]
        """)
    _run, result, _ = _replayed(path, [{"t": 60, "command": "move all to vehicle"}], play="trainees")
    starts = [e["procedure"] for e in result.events.events if e["kind"] == "procedure_start"]
    assert starts == ["live1:move"]  # the scenario's response never ran
    assert result.extra["scorecard"]["expectations"][0]["passed"] is True
    batch = simulate(load_drill(path).loaded)
    assert any(e["kind"] == "procedure_start" and e["procedure"] == "0:respond" for e in batch.events.events)
