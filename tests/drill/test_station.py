"""The browser station, tested on what it serves: websocket messages, pages, the debrief, the recording.

A trainee must never be sent a hidden fault, a leak site or a true value; the instructor gets the
truth; both get every message in order; the session recorded in the browser replays exactly.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

import aiohttp
import pytest

from sim.drill.feedback import MMHG
from tests.drill.station_helpers import HIDDEN, SERVED_DRILL, Client, Served, replay


def _fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read().decode("utf-8", errors="replace")


def _contiguous(client: Client) -> None:
    seqs = [m["seq"] for m in client.messages]
    assert seqs == list(range(1, len(seqs) + 1)), "a message was dropped or reordered"


@pytest.fixture
def served(drill_dir, tmp_path):
    (drill_dir / "served.yaml").write_text(SERVED_DRILL)
    server = Served(drill_dir / "served.yaml", tmp_path / "session", "--speed", "200")
    yield server
    server.stop()


def test_what_each_page_is_sent(served, tmp_path):
    async def play():
        async with aiohttp.ClientSession() as http:
            ins = await Client(http, f"{served.ws}/ws/instructor").open()
            crew_b = await Client(http, f"{served.ws}/ws/trainee?crew=b").open()
            hello = await ins.until(lambda m: m["type"] == "hello")
            assert hello["info"]["role"] == "instructor" and hello["info"]["drill"] == "Served drill"
            await crew_b.send("inject capsule-sticks")  # the instructor's, refused on a trainee page
            await crew_b.until(lambda m: m["type"] == "message" and "is the instructor's" in m["text"])
            await ins.send("inject capsule-sticks")
            await ins.send("resume")
            await crew_b.until(lambda m: m["type"] == "state" and m["state"]["t_s"] >= 90)
            await ins.send("pause")
            frozen = await ins.until(lambda m: m["type"] == "state" and m["state"]["paused"] and m["state"]["t_s"] >= 90)
            await crew_b.send("close hatch lab-node")  # on b's page: by b
            await crew_b.until(lambda m: m["type"] == "message" and "accepted: close hatch lab-node by b" in m["text"])
            assert frozen["state"]["t_s"] == ins.states()[-1]["t_s"]  # frozen: the clock stands
            await ins.send("resume")
            await ins.until(lambda m: m["type"] == "ended", timeout=120)
            await crew_b.until(lambda m: m["type"] == "ended", timeout=30)
            return ins, crew_b

    ins, crew_b = asyncio.run(play())
    for client in (ins, crew_b):
        _contiguous(client)

    # the trainee page was sent nothing the crew could not know
    sent = json.dumps([m for m in crew_b.messages if "is the instructor's" not in m.get("text", "")])
    for word in HIDDEN:
        assert word not in sent, f"{word!r} reached a trainee page"
    trainee_states = {s["t_s"]: s for s in crew_b.states()}
    truth = {s["t_s"]: s for s in ins.states()}
    both = sorted(set(trainee_states) & set(truth))
    assert len(both) > 10
    for t in both:
        gauges = {g["id"]: g["reading_mmHg"] for g in trainee_states[t]["gauges"]}
        true = {c["id"]: c["p_mmHg"] for c in truth[t]["compartments"]}
        for name, reading in gauges.items():
            assert abs(reading * 10 - round(reading * 10)) < 1e-6  # 0.1 mmHg steps
            bias = 20.0 if t >= 60 and name == "lab" else 0.0  # the gauge fault of the lab from 1 min
            step = 13.3322 / MMHG
            assert abs(reading - (true[name] + bias)) <= step / 2 + 0.011, (t, name, reading, true[name])
    late = [t for t in both if t >= 60]
    assert late and all(
        {g["id"]: g["reading_mmHg"] for g in trainee_states[t]["gauges"]}["lab"]
        > {c["id"]: c["p_mmHg"] for c in truth[t]["compartments"]}["lab"] + 19 for t in late)

    # the instructor was sent the truth: the hidden leak, the jam, the faults, every event
    last = ins.states()[-1]
    assert any(lk["id"] == "secret-hole" and lk["at"] == "node" for lk in last["leaks"])
    assert next(h for h in last["hatches"] if h["id"] == "node-capsule")["jammed"] is True
    events = [m["event"] for m in ins.messages if m["type"] == "event"]
    log = [json.loads(x) for x in (served.out / "events.jsonl").read_text().splitlines()]
    assert [(e["t"], e["kind"]) for e in events] == [(e["t"], e["kind"]) for e in log]
    fired = next(i for i in last["injects"] if i["name"] == "capsule-sticks")
    assert fired["fired_s"] == 0.0 and fired["note"] == "the capsule hatch sticks"
    assert last["score"]["expectations"]

    # the debrief after the session, and the recorded session replays exactly
    status, page = _fetch(f"{served.base}/debrief")
    assert status == 200 and "Served drill" in page and "close hatch lab-node by b" in page
    assert "capsule-sticks" in page and "the capsule hatch sticks" in page
    status, _ = _fetch(f"{served.base}/debrief/pressures.png")
    assert status == 200
    code, _out, err = served.stop()
    assert code in (0, 1), err
    session = (served.out / "session.yaml").read_text()
    assert "page: trainee-" in session and "close hatch lab-node by b" in session
    r = replay(served.out)
    assert r.returncode == 0 and "identical" in r.stdout, r.stdout + r.stderr


def test_branch_from_a_bookmark_re_executes_the_session(served):
    async def play():
        async with aiohttp.ClientSession() as http:
            ins = await Client(http, f"{served.ws}/ws/instructor").open()
            await ins.until(lambda m: m["type"] == "hello")
            await ins.send("resume")
            await ins.until(lambda m: m["type"] == "state" and m["state"]["t_s"] >= 60)
            await ins.send("move a to node")
            await ins.send("bookmark before-close")
            mark = await ins.until(lambda m: m["type"] == "message" and m["text"].startswith("bookmark before-close"))
            await ins.until(lambda m: m["type"] == "state" and m["state"]["t_s"] >= 200)
            await ins.send("close hatch lab-node by b")
            await ins.until(lambda m: m["type"] == "message" and "accepted: close hatch" in m["text"])
            await ins.branch("before-close")
            await ins.until(lambda m: m["type"] == "reset", timeout=60)
            hello = await ins.until(lambda m: m["type"] == "hello" and m["info"]["directory"].endswith("-branch-1"))
            await ins.until(lambda m: m["type"] == "state" and m["state"]["paused"] and m["seq"] > hello["seq"])
            return mark, [m for m in ins.messages if m["seq"] > hello["seq"]]

    mark, after = asyncio.run(play())
    branch_state = next(m["state"] for m in after if m["type"] == "state")
    bookmark_t = float(mark["text"].split(" at ")[1].split(":")[2]) + 60 * float(mark["text"].split(" at ")[1].split(":")[1])
    assert branch_state["t_s"] == bookmark_t  # the branch stands at the bookmark, frozen
    assert next(m for m in branch_state["crew"] if m["id"] == "a")["location"] in ("lab", "node")
    _code, _, _err = served.stop()
    branch = served.out.with_name(served.out.name + "-branch-1")
    original = [json.loads(x) for x in (served.out / "events.jsonl").read_text().splitlines()]
    branched = [json.loads(x) for x in (branch / "events.jsonl").read_text().splitlines()]
    before = lambda events: [e for e in events if e["t"] < bookmark_t]
    assert before(branched) == before(original)  # the world up to the bookmark, re-executed exactly
    assert not any(e["kind"] == "command" and "close hatch" in e.get("command", "") for e in branched)
    for directory in (served.out, branch):
        r = replay(directory)
        assert r.returncode == 0, r.stdout + r.stderr


def test_bad_serve_arguments_are_refused(drill_dir):
    import subprocess
    import sys
    from pathlib import Path

    (drill_dir / "served.yaml").write_text(SERVED_DRILL)
    safehaven = str(Path(sys.executable).with_name("safehaven"))
    for extra, message in ((["--serve", "--port", "70000"], "--port 70000"),
                           (["--serve", "--live"], "--live and --serve"),
                           (["--port", "9000"], "expected --serve")):
        r = subprocess.run([safehaven, "drill", "served.yaml", *extra], cwd=drill_dir, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_taken_port_is_refused_and_nothing_is_written(drill_dir):
    import socket
    import subprocess
    import sys
    from pathlib import Path

    (drill_dir / "served.yaml").write_text(SERVED_DRILL)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([str(Path(sys.executable).with_name("safehaven")), "drill", "served.yaml", "--serve",
                            "--port", str(port), "--out", "kept"], cwd=drill_dir, capture_output=True, text=True,
                           timeout=120)
    assert r.returncode == 2 and f"--port {port}: cannot listen" in r.stderr and "Traceback" not in r.stderr
    assert not (drill_dir / "kept").exists()
