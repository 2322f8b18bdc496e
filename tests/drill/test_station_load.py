"""A load check of the browser station: 8 trainee pages on a 2-hour drill at x120 (a minute of wall time).

Every page must get every message, in order, with no gap: the same crew-visible events as the
recorded events.jsonl holds, each once, and states whose clock never runs backwards.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from sim.drill.views import trainee_event
from tests.drill.station_helpers import Client, Served

LOAD_DRILL = """\
name: Load drill
scenario: scenario.yaml
set: {duration: 2 h}
injects:
  - {name: slow-b, fault: crew_delayed, crew: b, delay: 30 s, at: 30 min}
expect:
  - {expect: nobody_incapacitated}
"""
PAGES = 8
WALL_LIMIT_S = 300
"""Bound on the whole check's wall time [s] (the drill itself takes 60 s at x120)."""


@pytest.mark.slow
def test_eight_trainee_pages_for_two_hours_at_x120(drill_dir, tmp_path):
    (drill_dir / "load.yaml").write_text(LOAD_DRILL)
    served = Served(drill_dir / "load.yaml", tmp_path / "load-session", "--speed", "120")

    async def play():
        async with aiohttp.ClientSession() as http:
            ins = await Client(http, f"{served.ws}/ws/instructor").open()
            pages = [await Client(http, f"{served.ws}/ws/trainee?crew={'ab'[k % 2]}").open() for k in range(PAGES)]
            await asyncio.gather(*(p.until(lambda m: m["type"] == "hello") for p in pages))
            await ins.send("resume")
            # the crew keep busy all drill long: a command from one page or another every 4 s (8 min)
            k = 0
            while not any(m["type"] == "ended" for m in ins.messages):
                page = pages[k % PAGES]
                who = "ab"[k % 2]
                await page.send(["measure lab pressure", f"move {who} to node", f"move {who} to post"][k % 3])
                k += 1
                await asyncio.sleep(4)
            await asyncio.gather(*(p.until(lambda m: m["type"] == "ended", timeout=30) for p in pages))
            return pages

    try:
        pages = asyncio.run(asyncio.wait_for(play(), WALL_LIMIT_S))
    finally:
        code, _, err = served.stop()
    assert code in (0, 1), err
    log = [json.loads(x) for x in (served.out / "events.jsonl").read_text().splitlines()]
    expected = [trainee_event(e) for e in log if trainee_event(e) is not None]
    assert len(expected) > 40
    for page in pages:
        seqs = [m["seq"] for m in page.messages]
        assert seqs == list(range(1, len(seqs) + 1))
        events = [m["event"] for m in page.messages if m["type"] == "event"]
        assert events == json.loads(json.dumps(expected))  # every crew-visible event, once, in order
        clocks = [s["t_s"] for s in page.states()]
        assert clocks == sorted(clocks) and clocks[-1] == 7200.0
        assert len(clocks) > 100  # the pages were kept up to date all along
