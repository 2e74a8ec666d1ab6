/* stepmap dashboard: a single page over /ui/api (or over the data a static report embeds).
 *
 * Safety rule: user data (state names, inputs, outputs, causes) is only ever put in the page with
 * textContent or as an attribute value set through the DOM; never innerHTML. Layout: dagre (vendored).
 * Live updates: while what is shown is RUNNING, the view re-reads its JSON every POLL_MS.
 */
"use strict";
(function () {
  const POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";
  const STATUSES = ["not_run", "running", "succeeded", "failed", "caught", "retried"];
  const reportEl = document.getElementById("stepmap-report");
  const REPORT = reportEl ? JSON.parse(reportEl.textContent) : null;
  let timer = null;
  let apiChanged = true;  // did any answer differ from the last one for the same request?
  const lastText = new Map();
  let generation = 0;

  // -- DOM helpers ------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "onclick") node.addEventListener("click", v);
      else if (k === "onchange") node.addEventListener("change", v);
      else if (k === "onsubmit") node.addEventListener("submit", v);
      else if (k === "oninput") node.addEventListener("input", v);
      else node.setAttribute(k, String(v));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }
  function badge(status) { return el("span", { class: "badge " + String(status || ""), text: status || "" }); }
  function link(href, text) {
    if (REPORT && !REPORT.pages[href]) return el("span", { text: text });
    return el("a", { href: href, text: text });
  }
  function pretty(text) {
    if (text === null || text === undefined) return "";
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }
  function fmtDate(s) { return s ? String(s).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC") : ""; }
  function shortArn(arn) { const parts = String(arn || "").split(":"); return parts[parts.length - 1]; }

  // -- data --------------------------------------------------------------------------------------
  async function api(route, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") qs.set(k, v);
    const key = route + "?" + qs.toString();
    if (REPORT) {
      if (!(key in REPORT.api)) throw new Error("not in this report: " + key);
      return REPORT.api[key];
    }
    const response = await fetch("/ui/api/" + key, { credentials: "same-origin" });
    const text = await response.text();
    const body = JSON.parse(text);
    if (!response.ok) throw new Error(body.error || response.statusText);
    if (lastText.get(key) !== text) { lastText.set(key, text); apiChanged = true; }
    return body;
  }

  function route() {
    const hash = location.hash.replace(/^#/, "") || (REPORT ? REPORT.start : "/");
    const [path, query] = hash.split("?");
    const params = Object.fromEntries(new URLSearchParams(query || ""));
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { parts, params };
  }

  function live(text) { const node = document.getElementById("live"); if (node) node.textContent = text; }

  async function render() {
    clearTimeout(timer);
    const mine = ++generation;
    const { parts, params } = route();
    const main = document.getElementById("main");
    const view = {
      "": () => executionsView(params),
      "state-machines": () => stateMachinesView(),
      "state-machine": () => stateMachineView(parts[1]),
      "execution": () => executionView(parts[1], params),
      "map-run": () => parts[2] === "child" ? childView(parts[1], parts[3]) : mapRunView(parts[1]),
    }[parts[0] || ""];
    const started = performance.now();
    apiChanged = false;
    try {
      if (!view) throw new Error("no such page");
      const { node, running } = await view();
      if (mine !== generation) return;
      const current = main.firstElementChild;
      if (apiChanged || !current || current.dataset.view !== location.hash) {
        const keepScroll = window.scrollY;
        show(main, node);
        window.scrollTo(0, keepScroll);
      }
      if (running && !REPORT) {
        // never spend more than a fifth of the time reading and drawing (a huge history polls slower);
        // a hidden tab polls every 5 s
        const busy = performance.now() - started;
        const delay = Math.max(running === "slow" ? 3 * POLL_MS : POLL_MS, 5 * busy, document.hidden ? 5000 : 0);
        live("live: refreshing every " + (delay / 1000).toFixed(1) + " s");
        const refresh = () => {
          if (mine !== generation) return;
          const focus = document.activeElement;
          // do not redraw under someone typing in a filter
          if (focus && main.contains(focus) && /^(INPUT|SELECT)$/.test(focus.tagName)) timer = setTimeout(refresh, delay);
          else render();
        };
        timer = setTimeout(refresh, delay);
      } else live(REPORT ? "static report" : "");
    } catch (err) {
      if (mine !== generation) return;
      main.replaceChildren(el("p", { class: "error", text: "Error: " + err.message }));
    }
  }

  // A refresh replaces only the sections whose content changed: the browser lays out and paints a few
  // counters, not the whole page, every second (and a form being filled keeps its state).
  function show(main, node) {
    const view = location.hash;
    const old = main.firstElementChild;
    const olds = old ? [...old.children] : [];
    const news = [...node.children];
    if (old && old.dataset.view === view && olds.length === news.length) {
      news.forEach((b, i) => { if (olds[i].outerHTML !== b.outerHTML) olds[i].replaceWith(b); });
      return;
    }
    node.dataset.view = view;
    main.replaceChildren(node);
  }

  // -- views: lists --------------------------------------------------------------------------------
  async function stateMachinesView() {
    const data = await api("state-machines");
    const rows = data.stateMachines.map((m) => el("tr", {},
      el("td", {}, link("#/state-machine/" + encodeURIComponent(m.name), m.name)),
      el("td", {}, link("#/?stateMachine=" + encodeURIComponent(m.name), String(m.executions))),
      el("td", { text: m.running }), el("td", { text: m.succeeded }), el("td", { text: m.failed }),
      el("td", { text: fmtDate(m.lastStart) })));
    return { node: el("div", {}, el("h1", { text: "State machines" }),
      el("table", {}, el("tr", {}, ...["Name", "Executions", "Running", "Succeeded", "Failed/other", "Last start"].map((h) => el("th", { text: h }))), ...rows)) };
  }

  async function stateMachineView(name) {
    const data = await api("state-machine", { name });
    const detail = el("div", { class: "panel" }, el("p", { class: "muted", text: "Click a state to see its definition." }));
    const states = {};
    const graph = drawGraph(data.graph, states, (state) => {
      detail.replaceChildren(el("h2", { text: state }), el("pre", { text: pretty(findState(data.definition, state)) }));
    });
    return { node: el("div", {}, el("h1", { text: "State machine " + name }),
      el("p", {}, link("#/?stateMachine=" + encodeURIComponent(name), "Executions of this state machine")),
      el("div", { class: "layout" }, graph, detail),
      el("h2", { text: "Definition" }), el("pre", { text: JSON.stringify(data.definition, null, 2) })) };
  }

  function findState(machine, name) {
    const states = (machine && machine.States) || {};
    if (Object.prototype.hasOwnProperty.call(states, name)) return states[name];
    for (const state of Object.values(states)) {
      for (const child of [...(state.Branches || []), state.ItemProcessor, state.Iterator]) {
        if (child) { const found = findState(child, name); if (found) return found; }
      }
    }
    return null;
  }

  async function executionsView(params) {
    const data = await api("executions", { status: params.status, name: params.name, stateMachine: params.stateMachine, cursor: params.cursor, limit: params.limit });
    const status = el("select", { name: "status" }, ...["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"].map((s) => {
      const o = el("option", { value: s, text: s || "any status" }); if (s === (params.status || "")) o.selected = true; return o; }));
    const name = el("input", { name: "name", placeholder: "name contains", value: params.name || "" });
    const machine = el("input", { name: "stateMachine", placeholder: "state machine", value: params.stateMachine || "" });
    const form = el("form", { class: "filters", onsubmit: (e) => {
      e.preventDefault();
      const qs = new URLSearchParams();
      for (const input of [status, name, machine]) if (input.value) qs.set(input.name, input.value);
      location.hash = "#/?" + qs.toString();
    } }, status, name, machine, el("button", { type: "submit", text: "Filter" }));
    const rows = data.executions.map((x) => el("tr", { "data-status": x.status },
      el("td", {}, link("#/execution/" + encodeURIComponent(x.executionArn), x.name)),
      el("td", {}, badge(x.status)),
      el("td", {}, link("#/state-machine/" + encodeURIComponent(x.stateMachine), x.stateMachine)),
      el("td", { text: fmtDate(x.startDate) }), el("td", { text: fmtDate(x.stopDate) })));
    const pager = el("div", { class: "pager" });
    if (params.cursor) pager.appendChild(el("button", { text: "← Newest", onclick: () => { history.back(); } }));
    if (data.nextCursor) {
      const qs = new URLSearchParams({ ...params, cursor: data.nextCursor });
      pager.appendChild(link("#/?" + qs.toString(), "Older →"));
    }
    // the first page follows new executions too (every 3 s); older pages are still
    const running = params.cursor ? false : data.executions.some((x) => x.status === "RUNNING") || "slow";
    return { running, node: el("div", {}, el("h1", { text: "Executions" }), form,
      data.executions.length ? el("table", { id: "executions" }, el("tr", {}, ...["Name", "Status", "State machine", "Started", "Stopped"].map((h) => el("th", { text: h }))), ...rows)
        : el("p", { class: "muted", text: "No executions match. Run one with `stepmap run ... --state-dir` and it appears here." }),
      pager) };
  }

  // -- graph -------------------------------------------------------------------------------------
  const layoutCache = { key: null, svg: null };

  // The graph laid out by dagre as SVG. Clicks are handled by the container (one listener), so that a graph
  // whose states did not change is a clone of the last one, not laid out again.
  function drawGraph(graph, states, onSelect, cacheKey) {
    let root;
    if (cacheKey && layoutCache.key === cacheKey) root = layoutCache.svg.cloneNode(true);
    else {
      root = layoutGraph(graph, states);
      if (cacheKey) { layoutCache.key = cacheKey; layoutCache.svg = root.cloneNode(true); }
    }
    const container = el("div", { class: "graph", id: "graph" }, root);
    const select = (target) => {
      const group = target.closest ? target.closest(".node") : null;
      if (!group || group.classList.contains("start")) return;
      for (const other of container.querySelectorAll(".node.selected")) other.classList.remove("selected");
      group.classList.add("selected");
      onSelect(group.getAttribute("data-state"));
    };
    container.addEventListener("click", (ev) => select(ev.target));
    container.addEventListener("keydown", (ev) => { if (ev.key === "Enter") select(ev.target); });
    return container;
  }

  function layoutGraph(graph, states) {
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 34, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    const groups = new Set(graph.nodes.filter((n) => ["ParallelGroup", "Branch", "Iteration"].includes(n.type)).map((n) => n.id));
    for (const n of graph.nodes) {
      if (groups.has(n.id)) g.setNode(n.id, { label: n.state, clusterLabelPos: "top", paddingTop: 18 });
      else {
        const label = n.state + (n.type && n.type !== "Start" ? "" : "");
        g.setNode(n.id, { label, width: Math.min(260, Math.max(90, label.length * 7.2 + 28)), height: 34 });
      }
    }
    for (const n of graph.nodes) if (n.parent) g.setParent(n.id, n.parent);
    graph.edges.forEach((e, i) => { if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to, { label: e.label, width: e.label ? e.label.length * 5.5 : 0, height: e.label ? 12 : 0 }, "e" + i); });
    dagre.layout(g);
    const size = g.graph();
    const W = Math.ceil(size.width || 200), H = Math.ceil(size.height || 100);
    const root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#687078" }));
    defs.appendChild(marker);
    root.appendChild(defs);
    const byId = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
    const depth = (id) => { let d = 0; for (let p = byId[id].parent; p; p = byId[p] && byId[p].parent) d++; return d; };
    for (const id of [...groups].sort((a, b) => depth(a) - depth(b))) {
      const box = g.node(id);
      const group = svg("g", { class: "cluster" });
      group.appendChild(svg("rect", { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height, rx: 6 }));
      const text = svg("text", { x: box.x - box.width / 2 + 8, y: box.y - box.height / 2 + 13 });
      text.textContent = byId[id].state;
      group.appendChild(text);
      root.appendChild(group);
    }
    for (const e of g.edges()) {
      const edge = g.edge(e);
      const group = svg("g", { class: "edge" });
      const d = edge.points.map((p, i) => (i ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1)).join(" ");
      group.appendChild(svg("path", { d, "marker-end": "url(#arrow)" }));
      if (edge.label) {
        const text = svg("text", { x: edge.x, y: edge.y, "text-anchor": "middle" });
        text.textContent = edge.label;
        group.appendChild(text);
      }
      root.appendChild(group);
    }
    for (const n of graph.nodes) {
      if (groups.has(n.id)) continue;
      const box = g.node(n.id);
      const info = states[n.state];
      const status = n.type === "Start" ? "start" : (info ? info.status : "not_run");
      const group = svg("g", { class: "node " + status, "data-state": n.state, "data-status": status, tabindex: 0 });
      group.appendChild(svg("rect", { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height, rx: 6 }));
      const text = svg("text", { x: box.x, y: box.y + 4, "text-anchor": "middle" });
      const label = n.state.length > 34 ? n.state.slice(0, 33) + "…" : n.state;
      text.textContent = label + (info && info.visits > 1 ? " ×" + info.visits : "");
      group.appendChild(text);
      const title = svg("title");
      title.textContent = n.state + " (" + n.type + (n.mode ? ", " + n.mode : "") + "): " + status;
      group.appendChild(title);
      root.appendChild(group);
    }
    return root;
  }

  function legend() {
    return el("div", { class: "legend" }, ...STATUSES.map((s) => badge(s)));
  }

  // -- execution ---------------------------------------------------------------------------------
  const selected = { state: null, states: {} };

  function stateDetail(name, info) {
    const panel = [el("h2", { text: name }), el("p", {}, badge(info ? info.status : "not_run"), " ",
      el("span", { class: "muted", text: info ? info.visits + " visit(s)" + (info.visits > info.details.length ? ", first " + info.details.length + " shown" : "") : "not run" }))];
    for (const v of (info ? info.details : [])) {
      const box = el("div", { class: "visit" }, el("h3", { text: (v.iteration.length ? "Iteration " + v.iteration.join(".") + " · " : "") + fmtDate(v.timestamp) }), badge(v.status));
      if (v.retries) box.appendChild(el("p", { class: "retries", text: "Retries: " + v.retries }));
      for (const e of v.errors) {
        box.appendChild(el("p", { class: "error" }, el("strong", { text: "Error: " }), el("span", { class: "error-name", text: e.error || "" })));
        box.appendChild(el("p", { class: "muted", text: "Cause (" + e.event + "):" }));
        box.appendChild(el("pre", { class: "cause", text: pretty(e.cause) }));
      }
      box.appendChild(el("p", { class: "muted", text: "Input" }));
      box.appendChild(el("pre", { class: "input", text: pretty(v.input) }));
      if (v.output !== null && v.output !== undefined) {
        box.appendChild(el("p", { class: "muted", text: "Output" }));
        box.appendChild(el("pre", { class: "output", text: pretty(v.output) }));
      }
      if (Object.keys(v.variables).length) {
        box.appendChild(el("p", { class: "muted", text: "Variables assigned" }));
        box.appendChild(el("pre", { class: "variables", text: pretty(v.variables) }));
      }
      panel.push(box);
    }
    return panel;
  }

  function timeline(states, record) {
    const start = Date.parse(record.startDate);
    const end = record.stopDate ? Date.parse(record.stopDate) : Date.now();
    const span = Math.max(1, end - start);
    const rows = [];
    for (const [name, info] of Object.entries(states)) {
      for (const v of info.details) {
        if (v.iteration.length) continue;
        const a = Date.parse(v.timestamp) - start;
        const b = (v.exitedAt ? Date.parse(v.exitedAt) : end) - start;
        const bar = el("div", { class: "bar " + v.status });
        bar.style.marginLeft = (100 * a / span).toFixed(2) + "%";
        bar.style.width = Math.max(0.3, 100 * (b - a) / span).toFixed(2) + "%";
        rows.push([a, el("tr", {}, el("td", { text: name }), el("td", { text: ((b - a) / 1000).toFixed(3) + " s" }), el("td", { class: "tl-cell" }, bar))]);
      }
    }
    rows.sort((x, y) => x[0] - y[0]);
    return el("table", { class: "timeline" }, el("tr", {}, el("th", { text: "State" }), el("th", { text: "Duration" }), el("th", { text: "Timeline (" + (span / 1000).toFixed(2) + " s)" })), ...rows.map((r) => r[1]));
  }

  const EVENT_FILTERS = {
    all: () => true,
    errors: (e) => /Failed|TimedOut|Aborted/.test(e.type),
    transitions: (e) => /StateEntered|StateExited/.test(e.type),
    tasks: (e) => /^(Task|LambdaFunction|Activity)/.test(e.type),
    map: (e) => /^(Map|Parallel)/.test(e.type),
    execution: (e) => /^Execution/.test(e.type),
  };

  const historyCache = { arn: null, events: [] };
  const historyFilter = { kind: "all", search: "" };
  const rowsCache = { key: null, body: null };

  async function historyTable(arn, count) {
    // events never change once written: a refresh reads only the ones after the last it has
    if (historyCache.arn !== arn) { historyCache.arn = arn; historyCache.events = []; }
    let events = historyCache.events;
    if (REPORT || events.length !== Math.min(count, 20000)) {
      let after = events.length ? String(events[events.length - 1].id) : null;
      do {
        const page = await api("history", { arn, after });
        events = events.concat(page.events);
        after = page.next;
      } while (after && events.length < 20000);
      if (!REPORT) historyCache.events = events;
    }
    const kind = el("select", { id: "event-filter" }, ...Object.keys(EVENT_FILTERS).map((k) => el("option", { value: k, text: k })));
    const search = el("input", { id: "event-search", placeholder: "search events" });
    kind.value = historyFilter.kind;
    search.value = historyFilter.search;
    const body = el("tbody");
    const fill = () => {
      historyFilter.kind = kind.value;
      historyFilter.search = search.value;
      const key = arn + "#" + events.length + "#" + kind.value + "#" + search.value;
      if (rowsCache.key === key) { body.replaceChildren(...rowsCache.body.cloneNode(true).childNodes); return; }
      const test = EVENT_FILTERS[kind.value];
      const needle = search.value.toLowerCase();
      const shown = events.filter((e) => test(e) && (!needle || JSON.stringify(e).toLowerCase().includes(needle)));
      body.replaceChildren(...shown.slice(0, 2000).map((e) => {
        const details = Object.entries(e).find(([k]) => k.endsWith("EventDetails"));
        const step = details && details[1].name ? details[1].name : "";
        return el("tr", { class: "event", "data-type": e.type }, el("td", { text: e.id }), el("td", { text: e.type }), el("td", { text: step }),
          el("td", { text: fmtDate(e.timestamp) }), el("td", { class: "wrap" }, details ? el("pre", { text: pretty(details[1]) }) : ""));
      }));
      rowsCache.key = key;
      rowsCache.body = body.cloneNode(true);
    };
    kind.addEventListener("change", fill);
    search.addEventListener("input", fill);
    fill();
    return el("div", {}, el("form", { class: "filters", onsubmit: (e) => e.preventDefault() }, kind, search,
      el("span", { class: "muted", text: events.length + " events" + (events.length >= 20000 ? " (first 20000)" : "") })),
      el("table", { id: "history" }, el("thead", {}, el("tr", {}, ...["ID", "Type", "Step", "Timestamp", "Details"].map((h) => el("th", { text: h })))), body));
  }

  async function executionView(arn) {
    const data = await api("execution", { arn });
    const r = data.record;
    const detail = el("div", { class: "panel", id: "state-detail" });
    selected.states = data.states;  // a graph kept from an earlier refresh shows the newest details too
    const fill = (panel, name) => panel.replaceChildren(...stateDetail(name, selected.states[name]));
    const showState = (name) => {
      selected.state = name;
      fill(document.getElementById("state-detail") || detail, name);
    };
    const graph = drawGraph(data.graph, data.states, showState, r.executionArn + "#" + data.eventCount + "#" + r.status);
    if (selected.state && data.states[selected.state]) {
      fill(detail, selected.state);
      const node = graph.querySelector('.node[data-state="' + CSS.escape(selected.state) + '"]');
      if (node) node.classList.add("selected");
    } else detail.appendChild(el("p", { class: "muted", text: "Click a state in the graph to see its input, output, variables, error and retries." }));
    const summary = el("dl", { class: "summary" });
    const add = (k, v) => { summary.appendChild(el("dt", { text: k })); summary.appendChild(el("dd", {}, v)); };
    add("Status", badge(r.status));
    add("State machine", link("#/state-machine/" + encodeURIComponent(data.stateMachine), data.stateMachine));
    add("ARN", r.executionArn);
    add("Started", fmtDate(r.startDate));
    if (r.stopDate) add("Stopped", fmtDate(r.stopDate));
    if (r.error) add("Error", el("span", { class: "error", id: "execution-error", text: r.error }));
    if (r.cause) add("Cause", el("pre", { text: pretty(r.cause) }));
    const parts = [el("h1", { text: "Execution " + r.name }), summary];
    if (data.mapRuns.length) {
      parts.push(el("h2", { text: "Map Runs" }));
      parts.push(el("table", { id: "map-runs" }, el("tr", {}, ...["State", "Map Run", "Status", "Items"].map((h) => el("th", { text: h }))),
        ...data.mapRuns.map((m) => el("tr", {}, el("td", { text: m.stateName || m.label || "" }),
          el("td", {}, link("#/map-run/" + encodeURIComponent(m.mapRunArn), shortArn(m.mapRunArn))), el("td", {}, badge(m.status)),
          el("td", { text: m.itemCounts.succeeded + " succeeded, " + m.itemCounts.failed + " failed of " + m.itemCounts.total })))));
    }
    if (data.children.length) {
      parts.push(el("h2", { text: "Child executions" }));
      parts.push(el("ul", {}, ...data.children.map((c) => el("li", {}, link("#/execution/" + encodeURIComponent(c.executionArn), c.name), " ", badge(c.status)))));
    }
    parts.push(el("h2", { text: "Graph" }), legend(), el("div", { class: "layout" }, graph, detail));
    if (r.input !== undefined) parts.push(el("h2", { text: "Input" }), el("pre", { id: "execution-input", text: pretty(r.input) }));
    if (r.output !== undefined) parts.push(el("h2", { text: "Output" }), el("pre", { id: "execution-output", text: pretty(r.output) }));
    parts.push(el("h2", { text: "Timeline" }), timeline(data.states, r));
    parts.push(el("h2", { text: "Event history" }), await historyTable(r.executionArn, data.eventCount));
    return { running: r.status === "RUNNING", node: el("div", {}, ...parts) };
  }

  // -- Map Run -----------------------------------------------------------------------------------
  function chart(samples) {
    const points = [];
    for (let i = 1; i < samples.length; i++) {
      const dt = samples[i].at - samples[i - 1].at;
      const done = (s) => s.succeeded + s.failed + s.timedOut + s.aborted;
      if (dt > 0) points.push([samples[i].at - samples[0].at, Math.max(0, (done(samples[i]) - done(samples[i - 1])) / dt)]);
    }
    const W = 640, H = 180, P = 34;
    const root = svg("svg", { width: W, height: H, class: "chart", id: "items-chart" });
    root.appendChild(svg("line", { class: "axis", x1: P, y1: H - P, x2: W - 8, y2: H - P }));
    root.appendChild(svg("line", { class: "axis", x1: P, y1: 8, x2: P, y2: H - P }));
    if (!points.length) {
      const t = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" });
      t.textContent = "items/s appears after the first seconds of the run";
      root.appendChild(t);
      return root;
    }
    const maxT = Math.max(1, points[points.length - 1][0]);
    const maxV = Math.max(1, ...points.map((p) => p[1]));
    const x = (t) => P + (W - P - 8) * t / maxT;
    const y = (v) => H - P - (H - P - 8) * v / maxV;
    root.appendChild(svg("path", { class: "line", d: points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ") }));
    const labels = [[P - 4, 14, "end", Math.round(maxV) + "/s"], [P - 4, H - P, "end", "0"], [W - 8, H - P + 14, "end", maxT.toFixed(0) + " s"], [P, H - P + 14, "start", "0 s"]];
    for (const [lx, ly, anchor, text] of labels) {
      const t = svg("text", { x: lx, y: ly, "text-anchor": anchor });
      t.textContent = text;
      root.appendChild(t);
    }
    return root;
  }

  async function mapRunView(arn) {
    const data = await api("map-run", { arn });
    const r = data.record, c = r.itemCounts;
    const counters = el("div", { class: "counters", id: "counters" }, ...[["pending", c.pending], ["running", c.running], ["succeeded", c.succeeded],
      ["failed", c.failed], ["timedOut", c.timedOut], ["aborted", c.aborted], ["total", c.total]].map(([k, v]) =>
      el("div", { class: "counter", "data-counter": k }, el("div", { class: "n", text: v }), el("div", { class: "l", text: k }))));
    const parent = data.execution;
    const summary = el("dl", { class: "summary" });
    const add = (k, v) => { summary.appendChild(el("dt", { text: k })); summary.appendChild(el("dd", {}, v)); };
    add("Status", badge(r.status));
    add("Execution", link("#/execution/" + encodeURIComponent(parent.executionArn), parent.name || parent.executionArn));
    add("State", data.stateName || "");
    add("Started", fmtDate(r.startDate));
    if (r.stopDate) add("Stopped", fmtDate(r.stopDate));
    add("Max concurrency", String(r.maxConcurrency));
    add("Tolerated failures", r.toleratedFailureCount + " items or " + r.toleratedFailurePercentage + " %");
    if (r.error) add("Error", el("span", { class: "error", text: r.error }));
    if (r.cause) add("Cause", el("pre", { text: pretty(r.cause) }));
    const parts = [el("h1", { text: "Map Run " + shortArn(r.mapRunArn) }), summary, el("h2", { text: "Items" }), counters,
      el("h2", { text: "Items per second" }), chart(data.samples)];
    parts.push(el("h2", { text: "Failed child executions (" + data.failureCount + ")" }));
    if (data.failures.length) {
      parts.push(el("table", { id: "failures" }, el("tr", {}, ...["Item", "Status", "Error", "Cause"].map((h) => el("th", { text: h }))),
        ...data.failures.map((f) => el("tr", { class: "failure" },
          el("td", {}, link("#/map-run/" + encodeURIComponent(r.mapRunArn) + "/child/" + f.index, "item " + f.index)),
          el("td", {}, badge(f.status)), el("td", { class: "error", text: f.error || "" }), el("td", { class: "wrap", text: f.cause || "" })))));
      if (data.failureCount > data.failures.length) parts.push(el("p", { class: "muted", text: "First " + data.failures.length + " shown." }));
    } else parts.push(el("p", { class: "muted", text: "None." }));
    parts.push(el("h2", { text: "Child executions" }));
    parts.push(el("p", { class: "muted", text: c.succeeded + " succeeded child executions. stepmap runs Distributed Map children without an event history (for speed); their results are in the ResultWriter files below, failed ones are listed above." }));
    const rw = data.resultWriter;
    parts.push(el("h2", { text: "ResultWriter" }));
    if (!rw) parts.push(el("p", { class: "muted", text: r.status === "RUNNING" ? "The manifest is written when the Map Run ends." : "This Map Run has no ResultWriter (or wrote no manifest)." }));
    else if (rw.error) parts.push(el("p", { class: "error", text: "Manifest s3://" + rw.bucket + "/" + rw.key + ": " + rw.error }));
    else {
      const fileHref = (key) => "/ui/api/result-file?" + new URLSearchParams({ mapRun: r.mapRunArn, key }).toString();
      const a = (key) => REPORT ? el("span", { text: key }) : el("a", { href: fileHref(key), target: "_blank", rel: "noopener", text: key });
      parts.push(el("p", {}, "Manifest: s3://" + rw.bucket + "/", a(rw.key)));
      parts.push(el("table", { id: "result-files" }, el("tr", {}, ...["Category", "File", "Size"].map((h) => el("th", { text: h }))),
        ...rw.files.map((f) => el("tr", {}, el("td", { text: f.category }), el("td", {}, a(f.key)), el("td", { text: f.size + " bytes" })))));
    }
    return { running: r.status === "RUNNING", node: el("div", {}, ...parts) };
  }

  async function childView(mapRunArn, index) {
    const data = await api("map-run", { arn: mapRunArn });
    const failure = data.failures.find((f) => String(f.index) === String(index));
    const summary = el("dl", { class: "summary" });
    const add = (k, v) => { summary.appendChild(el("dt", { text: k })); summary.appendChild(el("dd", {}, v)); };
    add("Item", String(index));
    add("Status", badge(failure ? failure.status : "SUCCEEDED"));
    add("Map Run", link("#/map-run/" + encodeURIComponent(mapRunArn), shortArn(mapRunArn)));
    add("Parent execution", link("#/execution/" + encodeURIComponent(data.execution.executionArn), data.execution.name || ""));
    if (failure) {
      add("Error", el("span", { class: "error", id: "child-error", text: failure.error || "" }));
      add("Cause", el("pre", { id: "child-cause", text: pretty(failure.cause) }));
    }
    return { node: el("div", {}, el("h1", { text: "Child execution: item " + index }), summary,
      el("p", { class: "muted", text: "A Distributed Map child runs without an event history in stepmap; its status, error and cause are what the Map Run records." })) };
  }

  window.addEventListener("hashchange", () => {
    selected.state = null;
    historyFilter.kind = "all";
    historyFilter.search = "";
    window.scrollTo(0, 0);
    render();
  });
  render();
})();
