"""The browser station: ``safehaven drill FILE --serve [--port N]``, an aiohttp server on 127.0.0.1.

Pages (plain HTML and JavaScript served from ``sim/drill/static``, fed over websockets):

* ``/instructor`` — the truth and the controls (:mod:`sim.drill.views`), ``/ws/instructor``;
* ``/trainee`` and ``/trainee?crew=ID`` — what the crew see, and their command line, ``/ws/trainee``;
* ``/debrief`` — after the session: scorecard, plot, injects, commands, event timeline
  (:mod:`sim.drill.debrief`); ``/api/state?role=instructor|trainee`` — the latest state as JSON.

Every message to a page carries ``seq``, numbered per page from 1 with no gap, so a page (and the
load test) can tell a dropped or reordered message. Messages are queued per page and written by
one task per page, in the order the session produced them.

The server runs until stopped (Ctrl-C or SIGTERM): the session then ends at its next tick as a
recorded ``quit`` (reason ``station stopped``) and its run directory is written, exactly as the
console's; after the drill's own end the pages stay up for the debrief.
"""

from __future__ import annotations

import asyncio
import json
import signal
from importlib.resources import files
from pathlib import Path

from aiohttp import WSMsgType, web

from sim.drill.clock import clock
from sim.drill.debrief import debrief_html, pressure_plot_png
from sim.drill.injects import DrillRun
from sim.drill.station import StationSession, dumps
from sim.errors import UsageError

__all__ = ["DEFAULT_PORT", "HOST", "Hub", "make_app", "serve"]

HOST = "127.0.0.1"
"""The station listens on the loopback interface only."""
DEFAULT_PORT = 8765
STATIC = files("sim.drill") / "static"
QUEUE_LIMIT = 100_000
"""Messages waiting for one page before it is cut off as too slow (a bound on memory)."""


class Page:
    """One connected page: its websocket, its queue, its message counter."""

    def __init__(self, ws: web.WebSocketResponse, role: str, crew: str | None, page_id: str):
        self.ws, self.role, self.crew, self.id = ws, role, crew, page_id
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.seq = 0

    def put(self, message: dict) -> None:
        if self.queue.qsize() > QUEUE_LIMIT:
            self.queue.put_nowait(None)  # too slow: closed rather than fed forever
            return
        self.seq += 1
        self.queue.put_nowait(dumps({"seq": self.seq, **message}))

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                await self.ws.close()
                return
            await self.ws.send_str(text)


class Hub:
    """The pages, the current session and its branches."""

    def __init__(self, loop: asyncio.AbstractEventLoop, new_session):
        self.loop = loop
        self.pages: dict[str, Page] = {}
        self.latest: dict[str, dict] = {}
        self.backlog: dict[str, list[dict]] = {"instructor": [], "trainee": []}  # events, for late pages
        self.new_session = new_session  # (out suffix, resume) -> StationSession
        self.session: StationSession | None = None
        self.branches = 0
        self._next_page = 0

    # called from the simulation's thread
    def publish_threadsafe(self, audience: str, message: dict) -> None:
        self.loop.call_soon_threadsafe(self.publish, audience, message)

    def publish(self, audience: str, message: dict) -> None:
        if message.get("type") == "state":
            self.latest[audience] = message["state"]
        elif message.get("type") == "event" and audience in self.backlog:
            self.backlog[audience].append(message)
        for page in list(self.pages.values()):
            if audience == "all" or audience == page.role or audience == page.id:
                page.put(message)
            elif page.role == "instructor" and audience in self.pages:  # replies to a trainee, copied
                page.put({**message, "page": audience})

    def page_id(self, role: str) -> str:
        self._next_page += 1
        return f"{role}-{self._next_page}"

    async def branch(self, name: str) -> str | None:
        """Start a new session from bookmark *name*; returns why not, or None."""
        old = self.session
        mark = next((b for b in old.source.bookmarks if b["name"] == name), None)
        if mark is None:
            return f"no bookmark '{name}'"
        records = [r for r in old.records() if float(r["t"]) < mark["t_s"] or
                   (float(r["t"]) == mark["t_s"] and r["command"].split()[:1] != ["quit"])]
        old.stop(f"branched from bookmark {name} at {clock(mark['t_s'])}")
        await self.loop.run_in_executor(None, old.join)
        self.branches += 1
        new = self.new_session(f"-branch-{self.branches}", (records, mark["t_s"]))
        new.source.bookmarks = [b for b in old.source.bookmarks if b["t_s"] <= mark["t_s"]]
        self.session = new
        self.latest.clear()
        self.backlog = {"instructor": [], "trainee": []}
        new.start()
        for page in self.pages.values():
            page.put({"type": "reset", "reason": f"branched from bookmark {name} at {clock(mark['t_s'])}"})
            page.put(new.hello(page.role, page.crew))
        return None


def _page_file(name: str) -> web.Response:
    return web.Response(text=(STATIC / name).read_text(encoding="utf-8"), content_type="text/html")


def make_app(hub: Hub) -> web.Application:
    """The station's routes."""
    app = web.Application()

    async def instructor(request):
        return _page_file("instructor.html")

    async def trainee(request):
        crew = request.query.get("crew")
        if crew is not None and crew not in hub.session.run.sim.crew:
            raise web.HTTPNotFound(text=f"no crew member '{crew}' in this drill")
        return _page_file("trainee.html")

    async def index(request):
        raise web.HTTPFound("/instructor")

    async def static(request):
        name = request.match_info["name"]
        if name not in ("station.js", "station.css"):
            raise web.HTTPNotFound()
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        return web.Response(text=(STATIC / name).read_text(encoding="utf-8"), content_type=kind)

    async def state(request):
        role = request.query.get("role", "trainee")
        if role not in ("instructor", "trainee"):
            raise web.HTTPBadRequest(text="role: instructor or trainee")
        return web.Response(text=dumps({"state": hub.latest.get(role), "ended": hub.session.ended}),
                            content_type="application/json")

    async def debrief(request):
        s = hub.session
        if not s.ended:
            return web.Response(text="<!doctype html><title>Debrief</title><p>The session is still running: "
                                     "the debrief appears when it ends (<a href='/instructor'>instructor</a>).",
                                content_type="text/html")
        return web.Response(text=debrief_html(s.run, s.result, s.out), content_type="text/html")

    async def plot(request):
        s = hub.session
        if not s.ended:
            raise web.HTTPNotFound(text="the session is still running")
        png = await hub.loop.run_in_executor(None, pressure_plot_png, s.run, s.result)
        return web.Response(body=png, content_type="image/png")

    async def socket(request):
        role = request.match_info["role"]
        if role not in ("instructor", "trainee"):
            raise web.HTTPNotFound()
        crew = request.query.get("crew") if role == "trainee" else None
        if crew is not None and crew not in hub.session.run.sim.crew:
            raise web.HTTPNotFound(text=f"no crew member '{crew}'")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        page = Page(ws, role, crew, hub.page_id(role))
        hub.pages[page.id] = page
        page.put({**hub.session.hello(role, crew), "page": page.id})
        for message in hub.backlog[role]:  # what happened before the page opened
            page.put(message)
        if role in hub.latest:
            page.put({"type": "state", "state": hub.latest[role]})
        writer = asyncio.ensure_future(page.writer())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await _receive(hub, page, msg.data)
        finally:
            hub.pages.pop(page.id, None)
            writer.cancel()
        return ws

    app.router.add_get("/", index)
    app.router.add_get("/instructor", instructor)
    app.router.add_get("/trainee", trainee)
    app.router.add_get("/debrief", debrief)
    app.router.add_get("/debrief/pressures.png", plot)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/state", state)
    app.router.add_get("/ws/{role}", socket)
    return app


async def _receive(hub: Hub, page: Page, data: str) -> None:
    """A page's message: ``{"type": "command", "text": …}`` or, instructor only, ``{"type": "branch", …}``."""
    try:
        message = json.loads(data)
        kind = message["type"]
    except (ValueError, KeyError, TypeError):
        page.put({"type": "message", "text": "unreadable message", "ok": False})
        return
    if kind == "command" and isinstance(message.get("text"), str):
        refused = hub.session.source.submit(message["text"][:500], page.id, page.role, page.crew)
        if refused:
            page.put({"type": "message", "text": refused, "ok": False})
    elif kind == "branch" and page.role == "instructor" and isinstance(message.get("bookmark"), str):
        why = await hub.branch(message["bookmark"])
        if why:
            page.put({"type": "message", "text": why, "ok": False})
    else:
        page.put({"type": "message", "text": f"cannot do '{kind}' here", "ok": False})


def serve(run: DrillRun, out: Path, speed: float, port: int) -> StationSession:
    """Serve *run* until stopped; returns the (last) session, ended. Prints the pages' URLs."""
    return asyncio.run(_serve(run, out, speed, port))


async def _serve(run: DrillRun, out: Path, speed: float, port: int) -> StationSession:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()

    def new_session(suffix: str, resume) -> StationSession:
        branch_run = DrillRun(run.drill, run.sim.seed, mode="live", play=run.play) if resume else run
        return StationSession(branch_run, Path(f"{out}{suffix}"), speed, hub.publish_threadsafe, resume=resume)

    hub = Hub(loop, new_session)
    hub.session = new_session("", None)
    app = make_app(hub)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    try:
        await site.start()
    except OSError as exc:  # before the session starts: nothing is written
        await runner.cleanup()
        raise UsageError(f"--port {port}: cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    hub.session.start()
    bound = site._server.sockets[0].getsockname()[1]  # the real port when --port 0
    base = f"http://{HOST}:{bound}"
    crew = list(run.sim.crew)
    print(f"instructor: {base}/instructor", flush=True)
    print(f"trainees:   {base}/trainee   (one page per crew member: {base}/trainee?crew={crew[0] if crew else 'ID'})",
          flush=True)
    print(f"debrief:    {base}/debrief   (after the session)", flush=True)
    print(f"session directory: {out}  (Ctrl-C stops the station and saves the session)", flush=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    session = hub.session
    session.stop("station stopped")
    await loop.run_in_executor(None, session.join)
    for page in list(hub.pages.values()):
        await page.ws.close()
    await runner.cleanup()
    return session

