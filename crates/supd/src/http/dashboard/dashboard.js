// supd's dashboard: plain DOM, no framework, no build step.
//
// What it shows comes from the JSON API of the supd that served it: the status once, state
// changes live over /api/events (each one updates its row at once, then that program's
// status is fetched), CPU and memory once a second while the page is visible, and the log
// of the selected program over /api/programs/NAME/logs?follow=1.
"use strict";

(() => {
  // Set once per page load; the end-to-end test checks that live updates never reload it.
  window.supdPageLoadId = Math.random().toString(36).slice(2);

  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  const LIVE_STATES = new Set(["starting", "running", "stopping"]);
  const RESOURCE_PERIOD_MS = 1000;
  const LOG_LINES = 200;
  const LOG_KEEP = 5000;

  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // program name -> { tr, cells, status, startedAt }
  let order = [];
  let selected = null;
  let logStream = "both";
  let logSource = null;
  let toastTimer = null;

  // ---- talking to supd -------------------------------------------------------------------

  const withToken = (path) =>
    token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;

  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(path, { ...options, headers, cache: "no-store" });
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      body = null;
    }
    if (!res.ok) {
      const why = body && body.message ? body.message : res.status + " " + res.statusText;
      const hint = res.status === 401 ? " (open the page as /#token=YOUR_TOKEN)" : "";
      throw new Error(why + hint);
    }
    return body;
  }

  const programPath = (name) => "api/programs/" + encodeURIComponent(name);

  // ---- formatting ------------------------------------------------------------------------

  function duration(ms) {
    let s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    s %= 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + s + "s";
    return s + "s";
  }

  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
  }

  function clock(ms) {
    const t = new Date(ms);
    const two = (n) => String(n).padStart(2, "0");
    return two(t.getHours()) + ":" + two(t.getMinutes()) + ":" + two(t.getSeconds());
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- dependency order ------------------------------------------------------------------

  // Programs after the ones they depend on, otherwise in supd's (the config's) order; each
  // with its depth in the dependency tree.
  function dependencyOrder(programs) {
    const byName = new Map(programs.map((p) => [p.name, p]));
    const depth = new Map();
    const placed = new Set();
    const out = [];
    const visit = (p, seen) => {
      if (placed.has(p.name) || seen.has(p.name)) return depth.get(p.name) || 0;
      seen.add(p.name);
      let d = 0;
      for (const dep of p.depends_on || []) {
        const q = byName.get(dep);
        if (q) d = Math.max(d, visit(q, seen) + 1);
      }
      depth.set(p.name, d);
      placed.add(p.name);
      out.push(p);
      return d;
    };
    for (const p of programs) visit(p, new Set());
    return out.map((p) => ({ program: p, depth: depth.get(p.name) || 0 }));
  }

  // ---- the table -------------------------------------------------------------------------

  function makeRow(name) {
    const tr = el("tr");
    tr.dataset.program = name;
    const cells = {};
    for (const key of ["program", "state", "pid", "uptime", "restarts", "exit", "health", "cpu", "mem", "actions"]) {
      cells[key] = el("td");
      tr.append(cells[key]);
    }
    for (const key of ["pid", "uptime", "restarts", "cpu", "mem"]) cells[key].className = "num";
    cells.actions.className = "actions";
    cells.pid.classList.add("pid");
    cells.restarts.classList.add("restarts");
    cells.state.classList.add("state");

    const prog = el("div", "prog");
    const title = el("div", "title");
    const tree = el("span", "tree");
    const label = el("span", "label", name);
    title.append(tree, label);
    const deps = el("div", "deps");
    prog.append(title, deps);
    cells.program.append(prog);
    cells.tree = tree;
    cells.deps = deps;

    const buttons = {};
    for (const action of ["start", "stop", "restart"]) {
      const b = el("button", "", action);
      b.type = "button";
      b.dataset.action = action;
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        act(name, action, b);
      });
      buttons[action] = b;
      cells.actions.append(b);
    }
    cells.buttons = buttons;

    const cpu = el("span", "bar-cell");
    const meter = el("span", "meter");
    const fill = el("span");
    meter.append(fill);
    const cpuText = el("span", "", "–");
    cpu.append(meter, cpuText);
    cells.cpu.append(cpu);
    cells.cpuFill = fill;
    cells.cpuText = cpuText;

    tr.addEventListener("click", () => select(name));
    return { tr, cells, status: null, startedAt: null };
  }

  function render(programs) {
    const ordered = dependencyOrder(programs);
    const names = ordered.map((o) => o.program.name);
    for (const [name, row] of rows) {
      if (!names.includes(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    const body = document.querySelector("#programs tbody");
    for (const { program, depth } of ordered) {
      let row = rows.get(program.name);
      if (!row) {
        row = makeRow(program.name);
        rows.set(program.name, row);
      }
      row.cells.tree.textContent = depth ? "\u00a0".repeat((depth - 1) * 3) + "└─" : "";
      row.cells.deps.textContent = program.depends_on && program.depends_on.length
        ? "after " + program.depends_on.join(", ")
        : "";
      body.append(row.tr); // moves it into dependency order
      update(row, program);
    }
    order = names;
    $("empty").hidden = programs.length > 0;
    $("empty").textContent = "No programs.";
    summarise();
    if (selected && !rows.has(selected)) closeLog();
  }

  function pill(cell, text, kind, title) {
    cell.textContent = "";
    const p = el("span", "pill " + kind, text);
    if (title) p.title = title;
    cell.append(p);
  }

  function update(row, s) {
    const c = row.cells;
    const previous = row.status;
    row.status = s;
    row.startedAt = s.uptime_ms != null ? Date.now() - s.uptime_ms : null;
    pill(c.state, s.state, s.state, s.reason || "");
    c.state.dataset.state = s.state;
    c.pid.textContent = s.pid != null ? String(s.pid) : "–";
    c.restarts.textContent = String(s.restarts);
    c.exit.textContent = s.last_exit || "–";
    c.exit.className = badExit(s) ? "exit-bad" : "muted";
    if (s.health) {
      const kind = s.health === "healthy" ? "healthy" : s.health.startsWith("unhealthy") ? "unhealthy" : "";
      pill(c.health, s.health, kind);
    } else {
      c.health.textContent = "–";
      c.health.className = "muted";
    }
    usage(row, s.usage);
    tick(row);
    const pointless = {
      start: s.state === "running" || s.state === "starting",
      stop: ["stopped", "exited", "fatal"].includes(s.state),
      restart: false,
    };
    for (const [action, b] of Object.entries(c.buttons)) {
      b.disabled = pointless[action] || b.classList.contains("busy");
    }
    if (previous && (previous.pid !== s.pid || previous.restarts !== s.restarts)) flash(row);
  }

  // A run that failed or crashed, rather than one that was stopped.
  const STOP_SIGNALS = new Set(["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"]);
  function badExit(s) {
    if (s.exit_code != null) return s.exit_code !== 0;
    return s.signal != null && !STOP_SIGNALS.has(s.signal);
  }

  function usage(row, u) {
    const c = row.cells;
    c.cpuFill.parentNode.hidden = !u;
    if (!u) {
      c.cpuText.textContent = "–";
      c.cpuFill.style.width = "0";
      c.mem.textContent = "–";
      c.mem.title = "";
      return;
    }
    const pct = u.cpu_percent;
    c.cpuText.textContent = pct.toFixed(pct < 10 ? 1 : 0) + " %";
    c.cpuFill.style.width = Math.min(100, pct) + "%";
    c.mem.textContent = bytes(u.rss_bytes);
    c.mem.title = u.processes + (u.processes === 1 ? " process" : " processes");
  }

  function tick(row) {
    const live = row.status && LIVE_STATES.has(row.status.state) && row.startedAt != null;
    row.cells.uptime.textContent = live ? duration(Date.now() - row.startedAt) : "–";
  }

  function flash(row) {
    row.tr.classList.remove("flash");
    void row.tr.offsetWidth; // restarts the animation
    row.tr.classList.add("flash");
  }

  function summarise() {
    const counts = new Map();
    for (const { status } of rows.values()) {
      if (status) counts.set(status.state, (counts.get(status.state) || 0) + 1);
    }
    const summary = $("summary");
    summary.textContent = "";
    summary.append(el("span", "pill", rows.size + (rows.size === 1 ? " program" : " programs")));
    for (const state of ["running", "starting", "backoff", "stopping", "fatal", "exited", "stopped"]) {
      if (counts.get(state)) summary.append(el("span", "pill " + state, counts.get(state) + " " + state));
    }
  }

  // ---- live updates ----------------------------------------------------------------------

  async function refreshAll() {
    try {
      const { programs } = await api("api/status");
      render(programs);
    } catch (e) {
      toast(e.message, true);
    }
  }

  const refreshing = new Set();
  async function refreshOne(name) {
    if (refreshing.has(name)) return;
    refreshing.add(name);
    try {
      const status = await api(programPath(name));
      const row = rows.get(name);
      if (row) {
        update(row, status);
        summarise();
      }
    } catch (_) {
      refreshAll(); // gone (a reload removed it) or supd is away: start over
    } finally {
      refreshing.delete(name);
    }
  }

  function onState(event) {
    const row = rows.get(event.program);
    if (!row) {
      refreshAll(); // a program a reload added
      return;
    }
    // What the event says, at once; the rest (restarts, exit, health) from its status.
    const s = { ...row.status, state: event.to, pid: event.pid, reason: event.reason };
    if (event.pid != null && (!row.status || row.status.pid !== event.pid)) {
      s.uptime_ms = Math.max(0, Date.now() - event.ts_ms);
    } else if (!LIVE_STATES.has(event.to)) {
      s.uptime_ms = null;
    } else {
      s.uptime_ms = row.startedAt != null ? Date.now() - row.startedAt : null;
    }
    update(row, s);
    summarise();
    refreshOne(event.program);
  }

  function follow() {
    const source = new EventSource(withToken("api/events"));
    const live = $("live");
    source.addEventListener("open", () => {
      live.textContent = "live";
      live.classList.add("on");
      refreshAll(); // whatever happened while not connected
    });
    source.addEventListener("error", () => {
      live.textContent = "reconnecting";
      live.classList.remove("on");
    });
    source.addEventListener("state", (e) => onState(JSON.parse(e.data)));
    source.addEventListener("skipped", () => refreshAll());
  }

  // CPU and memory: sampled by supd only while someone asks, so only while the page shows.
  let sampling = null;
  function sample() {
    if (document.visibilityState === "visible" && !sampling) {
      sampling = api("api/status")
        .then(({ programs }) => {
          const names = programs.map((p) => p.name);
          if (names.length !== order.length || names.some((n) => !rows.has(n))) {
            render(programs);
            return;
          }
          for (const p of programs) update(rows.get(p.name), p);
          summarise();
        })
        .catch(() => {})
        .finally(() => {
          sampling = null;
        });
    }
    for (const row of rows.values()) tick(row);
  }

  // ---- actions ---------------------------------------------------------------------------

  async function act(name, action, button) {
    button.classList.add("busy");
    button.disabled = true;
    try {
      const { outcomes } = await api(programPath(name) + "/" + action, { method: "POST" });
      const failed = outcomes.some((o) => !o.ok);
      toast(outcomes.map((o) => o.name + ": " + o.message).join("\n"), failed);
    } catch (e) {
      toast(name + ": " + e.message, true);
    } finally {
      button.classList.remove("busy");
      refreshOne(name);
    }
  }

  function toast(text, error) {
    const t = $("toast");
    t.textContent = text;
    t.classList.toggle("error", !!error);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      t.hidden = true;
    }, error ? 8000 : 4000);
  }

  // ---- the log pane ----------------------------------------------------------------------

  function select(name) {
    if (selected === name) return;
    for (const row of rows.values()) row.tr.classList.toggle("selected", row.tr.dataset.program === name);
    selected = name;
    $("log").hidden = false;
    $("log-name").textContent = name;
    openLog();
  }

  function closeLog() {
    if (logSource) logSource.close();
    logSource = null;
    selected = null;
    $("log").hidden = true;
    for (const row of rows.values()) row.tr.classList.remove("selected");
  }

  function openLog() {
    if (logSource) logSource.close();
    const lines = $("log-lines");
    lines.textContent = "";
    const live = $("log-live");
    live.classList.remove("on");
    live.textContent = "connecting";
    let path = programPath(selected) + "/logs?follow=1&lines=" + LOG_LINES;
    if (logStream !== "both") path += "&stream=" + logStream;
    const source = new EventSource(withToken(path));
    logSource = source;
    source.addEventListener("open", () => {
      live.textContent = "following";
      live.classList.add("on");
      // A reconnect sends the recent lines again.
      lines.textContent = "";
    });
    source.addEventListener("error", () => {
      live.textContent = "reconnecting";
      live.classList.remove("on");
    });
    source.addEventListener("log", (e) => appendLog(JSON.parse(e.data)));
    source.addEventListener("skipped", (e) => {
      const { skipped } = JSON.parse(e.data);
      appendNote(skipped + " chunks of output skipped (this page fell behind)");
    });
  }

  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  }

  function appendLog(chunk) {
    const box = $("log-lines");
    const stick = atBottom(box);
    const line = el("div", "line " + chunk.stream);
    line.append(el("span", "time", clock(chunk.ts_ms)), el("span", "text", chunk.text.replace(/\n$/, "")));
    line.title = chunk.stream;
    box.append(line);
    while (box.childElementCount > LOG_KEEP) box.firstElementChild.remove();
    if (stick) box.scrollTop = box.scrollHeight;
  }

  function appendNote(text) {
    $("log-lines").append(el("div", "note", text));
  }

  function setStream(stream) {
    logStream = stream;
    for (const b of document.querySelectorAll(".segmented button")) {
      b.setAttribute("aria-pressed", String(b.dataset.stream === stream));
    }
    if (selected) openLog();
  }

  // ---- start -----------------------------------------------------------------------------

  function start() {
    $("host").textContent = location.host;
    $("empty").hidden = false;
    for (const b of document.querySelectorAll(".segmented button")) {
      b.addEventListener("click", () => setStream(b.dataset.stream));
    }
    $("log-close").addEventListener("click", closeLog);
    const wrap = $("log-wrap");
    const setWrap = () => $("log-lines").classList.toggle("wrap", wrap.checked);
    wrap.addEventListener("change", setWrap);
    setWrap();
    document.addEventListener("visibilitychange", sample);
    setInterval(sample, RESOURCE_PERIOD_MS);
    refreshAll();
    follow();
  }

  start();
})();
