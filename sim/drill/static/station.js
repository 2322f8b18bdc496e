// The Safehaven browser station: one script for the instructor and the trainee pages.
// Everything shown comes from the server's websocket messages; nothing is computed here but layout.
"use strict";
(function () {
  const role = document.body.dataset.role;
  const crewId = new URLSearchParams(location.search).get("crew");
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const station = window.station = {log: [], gaps: [], info: null, state: null, lastSeq: 0, page: null};
  let ws = null;

  function send(text) { ws.send(JSON.stringify({type: "command", text: text})); }
  station.send = send;

  function line(box, text, cls, keep) {
    const el = document.createElement("div");
    el.textContent = text;
    if (cls) el.className = cls;
    box.appendChild(el);
    while (box.childElementCount > (keep || 300)) box.removeChild(box.firstChild);
    box.scrollTop = box.scrollHeight;
  }

  function colour(p, floor) {
    if (p === null || p === undefined) return "#ced4da";
    const r = Math.max(0, Math.min(1, (p - floor) / (760 - floor)));
    if (p <= floor) return "hsl(0, 75%, 35%)";
    return `hsl(${Math.round(120 * r)}, 70%, ${Math.round(62 - 8 * r)}%)`;
  }

  function xy(name) {
    const [x, y] = station.info.layout[name];
    return [30 + x * 940, 30 + y * 540];
  }

  function buildDiagram() {
    const svg = $("diagram");
    if (!svg) return;
    const info = station.info;
    let out = "";
    for (const h of info.hatches) {
      const [a, b] = h.between.map(xy);
      out += `<line id="h-${esc(h.id)}" x1="${a[0]}" y1="${a[1]}" x2="${b[0]}" y2="${b[1]}" stroke="#868e96" stroke-width="4"><title>${esc(h.id)}</title></line>`;
      if (h.valve) out += `<circle id="v-${esc(h.id)}" cx="${(a[0] + b[0]) / 2}" cy="${(a[1] + b[1]) / 2}" r="4" fill="#fff" stroke="#495057"/>`;
    }
    for (const c of info.compartments) {
      const [x, y] = xy(c);
      const vehicle = info.vehicles.includes(c);
      out += vehicle
        ? `<rect id="c-${esc(c)}" x="${x - 20}" y="${y - 13}" width="40" height="26" rx="8" fill="#ced4da" stroke="#343a40"/>`
        : `<circle id="c-${esc(c)}" cx="${x}" cy="${y}" r="18" fill="#ced4da" stroke="#343a40"/>`;
      out += `<text x="${x}" y="${y + 30}" text-anchor="middle">${esc(c)}</text>`;
      out += `<text id="p-${esc(c)}" x="${x}" y="${y + 4}" text-anchor="middle"></text>`;
      out += `<text id="crew-${esc(c)}" class="crew" x="${x + 22}" y="${y - 14}"></text>`;
      out += `<text id="leak-${esc(c)}" class="leak" x="${x - 30}" y="${y - 12}"></text>`;
    }
    svg.innerHTML = out;
  }

  function renderDiagram(s) {
    if (!$("diagram")) return;
    const floor = station.info.reserve_floor_mmHg;
    for (const c of s.compartments) {
      $(`c-${c.id}`).setAttribute("fill", colour(c.p_mmHg, floor));
      $(`p-${c.id}`).textContent = c.p_mmHg.toFixed(0);
    }
    for (const h of s.hatches) {
      const el = $(`h-${h.id}`);
      el.style.display = h.gone ? "none" : "";
      el.setAttribute("stroke", h.jammed ? "#e03131" : h.open ? "#2b8a3e" : "#868e96");
      el.setAttribute("stroke-dasharray", h.open ? "" : "6,4");
      el.setAttribute("stroke-width", h.jammed ? "7" : "4");
      const v = $(`v-${h.id}`);
      if (v) { v.setAttribute("fill", h.valve_open ? "#1c7ed6" : "#fff"); v.setAttribute("stroke", h.valve_stuck ? "#e03131" : "#495057"); }
    }
    const at = {};
    for (const m of s.crew) (at[m.aboard || m.location] ??= []).push(m.id);
    for (const c of station.info.compartments) $(`crew-${c}`).textContent = (at[c] || []).join(" ");
    const leaks = {};
    for (const l of s.leaks) if (l.active) leaks[l.at] = true;
    for (const c of station.info.compartments) $(`leak-${c}`).textContent = leaks[c] ? "✱" : "";
  }

  function table(id, head, rows) {
    const el = $(id);
    if (!el) return;
    el.innerHTML = `<tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>` + rows.join("");
  }

  function renderInstructor(s) {
    $("treserve").textContent = s.treserve;
    renderDiagram(s);
    table("compartments", ["", "p mmHg", "dP/dt 10 s mmHg/min", "60-s trend", "Treserve"], s.compartments.map((c) =>
      `<tr class="${c.dpdt_mmHg_min < -0.005 ? "falling" : ""}"><td>${esc(c.id)}</td><td class="num">${c.p_mmHg.toFixed(1)}</td>` +
      `<td class="num">${c.dpdt_mmHg_min.toFixed(2)}</td><td class="num">${c.trend_mmHg_min.toFixed(2)}</td><td class="num">${esc(c.treserve)}</td></tr>`));
    table("crew", ["", "where", "status", "task", ""], s.crew.map((m) =>
      `<tr><td>${esc(m.id)}</td><td>${esc(m.aboard || m.location)}</td><td>${esc(m.status)}</td><td>${esc(m.activity)}` +
      `${m.trapped ? ` <span class="tag jam">trapped</span>` : ""}${m.blocked_by.length ? ` (${esc(m.blocked_by.join("; "))})` : ""}</td>` +
      `<td>${m.activity !== "idle" ? `<button data-cancel="${esc(m.id)}">cancel task</button>` : ""}</td></tr>`));
    table("hatches", ["hatch", "state", "valve", ""], s.hatches.filter((h) => !h.gone).map((h) =>
      `<tr><td>${esc(h.id)}</td><td>${h.open ? "open" : "closed"}</td><td>${h.valve_open ? "open" : "closed"}</td>` +
      `<td>${h.jammed ? '<span class="tag jam">jammed</span>' : ""}${h.valve_stuck ? '<span class="tag jam">valve stuck</span>' : ""}</td></tr>`));
    table("leaks", ["leak", "at", "CdA m²", "isolated", "repaired"], s.leaks.map((l) =>
      `<tr><td>${esc(l.id)}</td><td>${esc(l.at)}</td><td class="num">${Number(l.cda_m2).toExponential(2)}</td>` +
      `<td>${l.isolated ? "yes" : ""}</td><td>${l.repaired ? "yes" : ""}</td></tr>`));
    table("injects", ["inject", "fault", "note", ""], s.injects.map((i) =>
      `<tr><td>${esc(i.name)}</td><td>${esc(i.fault)} (${esc(i.trigger)})</td><td>${esc(i.note || "")}</td>` +
      `<td>${i.fired_s === null ? `<button data-inject="${esc(i.name)}">fire</button>` : `fired ${esc(i.fired_at)}`}</td></tr>`));
    table("procedures", ["label", "procedure", "phase", ""], s.procedures.map((p) =>
      `<tr><td>${esc(p.label)}</td><td>${esc(p.name)}</td><td>${esc(p.phase || "")}</td><td><button data-stop="${esc(p.label)}">stop</button></td></tr>`));
    table("bookmarks", ["bookmark", "at", ""], (s.bookmarks || []).map((b) =>
      `<tr><td>${esc(b.name)}</td><td>${esc(b.at)}</td><td><button data-branch="${esc(b.name)}">branch from here</button></td></tr>`));
    if (s.score) {
      $("score").textContent = s.score.score === null ? "live score: --" : `live score ${s.score.score}`;
      table("expectations", ["expectation", "so far"], s.score.expectations.map((x) =>
        `<tr><td>${esc(x.name)}</td><td>${esc(x.status)}</td></tr>`));
    }
  }

  function renderTrainee(s) {
    table("gauges", ["compartment", "reading mmHg"], s.gauges.map((g) =>
      `<tr><td>${esc(g.id)}</td><td class="num">${g.reading_mmHg === null ? "no reading" : g.reading_mmHg.toFixed(1)}</td></tr>`));
    table("crew", ["", "where", "status", "task"], s.crew.map((m) =>
      `<tr><td>${esc(m.id)}${m.id === crewId ? " (you)" : ""}</td><td>${esc(m.aboard || m.location)}</td><td>${esc(m.status)}</td><td>${esc(m.activity)}</td></tr>`));
    table("hatches", ["hatch", "state", "valve", ""], s.hatches.map((h) =>
      `<tr><td>${esc(h.id)}</td><td>${h.open ? "open" : "closed"}</td><td>${h.valve_open ? "open" : "closed"}</td>` +
      `<td>${h.reported_jammed ? '<span class="tag jam">reported jammed</span>' : ""}${h.reported_valve_stuck ? '<span class="tag jam">valve reported stuck</span>' : ""}</td></tr>`));
  }

  function render(s) {
    station.state = s;
    $("clock").textContent = s.clock;
    $("status").textContent = s.paused ? "FROZEN" : (s.speed ? `running ×${s.speed}` : "running");
    const alarms = $("alarms");
    alarms.textContent = s.alarms.length ? s.alarms.join(", ") : "none";
    alarms.className = s.alarms.length ? "alarm" : "ok";
    (role === "instructor" ? renderInstructor : renderTrainee)(s);
  }

  function eventText(e) {
    const rest = Object.entries(e).filter(([k]) => !["t_s", "t", "clock", "kind"].includes(k)).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`).join(" ");
    return `${e.clock} ${e.kind} ${rest}`;
  }

  function onMessage(m) {
    station.log.push(m);
    if (m.seq !== station.lastSeq + 1) station.gaps.push([station.lastSeq, m.seq]);
    station.lastSeq = m.seq;
    if (m.type === "hello") {
      station.info = m.info;
      station.page = m.page || station.page;
      $("drill").textContent = m.info.drill;
      if ($("me")) $("me").textContent = crewId ? `you are ${crewId}` : "";
      buildDiagram();
      if (m.ended) ended(m);
    } else if (m.type === "state") {
      render(m.state);
    } else if (m.type === "event") {
      const e = Object.assign({}, m.event);
      e.clock = e.clock || clockText(e.t ?? e.t_s);
      line($("events"), e.reading ? `${e.clock} ${e.by || ""} read: ${e.reading}` : eventText(e), e.kind === "inject" ? "bad" : "");
    } else if (m.type === "message") {
      line($("messages"), (m.page ? `[${m.page}] ` : "") + m.text, m.ok ? "good" : "bad", 100);
    } else if (m.type === "ended") {
      ended(m);
    } else if (m.type === "reset") {
      $("events").innerHTML = ""; $("messages").innerHTML = "";
      line($("messages"), m.reason, "good");
    }
  }

  function clockText(t) {
    t = Math.round(t);
    const p = (n) => String(n).padStart(2, "0");
    return `${p(Math.floor(t / 3600))}:${p(Math.floor((t % 3600) / 60))}:${p(t % 60)}`;
  }

  function ended(m) {
    $("status").textContent = "ENDED";
    const card = m.scorecard;
    const score = card ? (card.score === null ? "no score" : `score ${card.score}`) : "";
    $("ended").innerHTML = `<p class="ended">The session has ended (${esc(score)}). <a href="/debrief">Debrief</a></p>`;
  }

  function connect() {
    const q = crewId ? `?crew=${encodeURIComponent(crewId)}` : "";
    ws = new WebSocket(`ws://${location.host}/ws/${role}${q}`);
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = () => { $("status").textContent = "disconnected"; };
  }

  document.addEventListener("click", (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLElement)) return;
    if (t.id === "pause") send("pause");
    else if (t.id === "resume") send("resume");
    else if (t.id === "set-speed") send(`speed ${$("speed").value}`);
    else if (t.id === "bookmark") send(`bookmark ${$("bookmark-name").value || "mark"}`);
    else if (t.dataset.inject) send(`inject ${t.dataset.inject}`);
    else if (t.dataset.stop) send(`stop ${t.dataset.stop}`);
    else if (t.dataset.cancel) send(`cancel ${t.dataset.cancel}`);
    else if (t.dataset.branch) ws.send(JSON.stringify({type: "branch", bookmark: t.dataset.branch}));
  });
  $("command-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("command").value.trim();
    if (text) { line($("messages"), `> ${text}`, "", 100); send(text); }
    $("command").value = "";
  });
  connect();
})();
