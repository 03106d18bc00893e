// The duty officers' dashboard: the national board, a centre's page, and the actions, over
// the API's own routes. The live feed (/dashboard/events) sends the whole board on every
// connection and then only what changed; on a lost connection the page says so and, once
// back, starts again from a whole board (nothing is patched onto stale state).
"use strict";

const STATUS = {
  available: "libre", ringing: "sonne", busy: "en communication", wrap_up: "post-appel",
  paused: "en pause", offline: "hors ligne",
};
const OUTCOMES = {
  reached: "joint", no_answer: "pas de réponse", voicemail: "message laissé",
  invalid_number: "numéro invalide", not_needed: "plus nécessaire",
};
const FIELDS = {
  outgoing_mutual_aid: "entraide sortante", incoming_mutual_aid: "entraide entrante",
  diverted_to: "bascule", crisis_message: "message de crise", active: "CTA virtuel actif",
  paused: "poste en pause",
};
const SVG = "http://www.w3.org/2000/svg";
const TILE = 30;

const app = {
  session: null,
  board: null, // {units: {id: unit}, order: [id], positions: {id: p}, waiting: {unit: [call]}, flows: []}
  clockAt: 0, localAt: 0, speed: 1,
  source: null, retry: 0, retryTimer: null, renderQueued: false,
  changesFor: null, changesStamp: "",
};

// -- small helpers ---------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function $(id) { return document.getElementById(id); }

function nowClock() {
  // The application's clock (faster than real time in the demo), extrapolated from the
  // last message so ages tick between messages.
  return app.clockAt + ((performance.now() - app.localAt) / 1000) * app.speed;
}

function age(iso) {
  if (!iso) return "—";
  const seconds = Math.max(0, Math.round(nowClock() - Date.parse(iso) / 1000));
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}

function share(value) { return value === null || value === undefined ? "—" : `${Math.round(value * 100)} %`; }

function when(iso) {
  return new Date(iso).toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "medium" });
}

function shown(value) {
  if (value === true) return "oui";
  if (value === false) return "non";
  if (value === null || value === undefined) return "—";
  return String(value);
}

function unitName(id) {
  const unit = app.board && app.board.units[id];
  return unit ? unit.name : id;
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && app.session) headers["X-CSRF-Token"] = app.session.csrf_token;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let payload = null;
  try { payload = await response.json(); } catch (_) { payload = null; }
  if (!response.ok) {
    const error = new Error((payload && payload.message) || `erreur ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return payload;
}

// -- pressure and status ---------------------------------------------------------------------

function oldestWait(unit) {
  return unit.oldest_arrived_at ? nowClock() - Date.parse(unit.oldest_arrived_at) / 1000 : 0;
}

function pressure(unit) {
  if (!unit.in_service) return -1;
  const queue = unit.queue_length / Math.max(1, unit.max_queue);
  const wait = oldestWait(unit) / Math.max(1, unit.max_wait_s);
  const busy = unit.positions ? unit.busy_positions / unit.positions : 1;
  return (unit.saturated ? 10 : 0) + Math.max(queue, wait) + busy / 2;
}

function level(unit) {
  const diverted = unit.modes.some((m) => m.diverted_to);
  if (!unit.in_service || diverted) return "off";
  if (unit.saturated) return "saturated";
  if (unit.queue_length > 0 || unit.free_positions === 0) return "tense";
  return "normal";
}

function badges(unit) {
  const list = [];
  const lvl = level(unit);
  if (!unit.in_service) {
    list.push(el("span", { class: "badge off", text: unit.served_by ? `regroupé dans ${unitName(unit.served_by)}` : "hors service" }));
  } else if (lvl === "saturated") {
    list.push(el("span", { class: "badge saturated", text: "saturé", title: unit.saturation_reason }));
  } else if (lvl === "tense") {
    list.push(el("span", { class: "badge tense", text: "tendu" }));
  } else if (lvl === "normal") {
    list.push(el("span", { class: "badge normal", text: "normal" }));
  }
  for (const modes of unit.modes) {
    if (modes.diverted_to) {
      list.push(el("span", { class: "badge diverted", text: `basculé vers ${unitName(modes.diverted_to)}` }));
    }
  }
  if (unit.overflow_held > 0) list.push(el("span", { class: "badge helping", text: `aidant (${unit.overflow_held})` }));
  if (unit.helped_out_now > 0) list.push(el("span", { class: "badge helped", text: `aidé (${unit.helped_out_now})` }));
  return el("div", { class: "badges" }, list);
}

function modeLines(unit) {
  // Only what departs from the ordinary is spelled out; an ordinary centre says so in one line.
  const lines = [];
  for (const m of unit.modes) {
    const prefix = unit.modes.length > 1 ? `${m.centre} : ` : "";
    const aid = [];
    if (!m.outgoing_mutual_aid) aid.push("sortante coupée");
    if (!m.incoming_mutual_aid) aid.push("entrante coupée");
    lines.push(el("span", { class: aid.length ? "mode offmode" : "mode", "data-mode": `aid:${m.centre}`, text: `${prefix}entraide ${aid.length ? aid.join(", ") : "active"}` }));
    if (m.diverted_to) lines.push(el("span", { class: "mode offmode", text: `${prefix}bascule vers ${m.diverted_to}` }));
    if (m.crisis_message) lines.push(el("span", { class: "mode offmode", text: `${prefix}message de crise : ${m.crisis_message}` }));
  }
  if (unit.kind === "vcta") lines.push(el("span", { class: "mode", text: `CTA virtuel ${unit.in_service ? "actif" : "inactif"}` }));
  return lines;
}

function mayChange(unit) {
  return !!app.session && unit.members.every((c) => app.session.may_change.includes(c));
}

// -- the live feed ---------------------------------------------------------------------------

function setConnection(state, text) {
  const node = $("connection");
  node.dataset.state = state;
  node.textContent = text;
}

function fromBoard(board) {
  const units = {}, positions = {}, waiting = {};
  for (const u of board.units) { units[u.id] = u; waiting[u.id] = []; }
  for (const p of board.positions) positions[p.id] = p;
  for (const c of board.waiting) (waiting[c.unit] = waiting[c.unit] || []).push(c);
  return { units, order: board.units.map((u) => u.id), positions, waiting, flows: board.flows };
}

function stamp(at, speed) {
  app.clockAt = Date.parse(at) / 1000;
  app.localAt = performance.now();
  if (speed) app.speed = speed;
}

function connect() {
  clearTimeout(app.retryTimer);
  if (app.source) app.source.close();
  const source = new EventSource("/dashboard/events");
  app.source = source;
  source.addEventListener("board", (message) => {
    const board = JSON.parse(message.data);
    app.board = fromBoard(board);
    stamp(board.at, board.clock_speed);
    app.retry = 0;
    setConnection("live", "en direct");
    app.changesStamp = ""; // resynchronise the audit and callback lists too
    refreshRecords();
    queueRender();
  });
  source.addEventListener("patch", (message) => {
    if (!app.board) return;
    const change = JSON.parse(message.data);
    for (const u of change.units || []) app.board.units[u.id] = u;
    for (const p of change.positions || []) app.board.positions[p.id] = p;
    for (const [unit, calls] of Object.entries(change.waiting || {})) app.board.waiting[unit] = calls;
    if (change.flows) app.board.flows = change.flows;
    stamp(change.at);
    if ((change.units || []).length || (change.positions || []).length) refreshRecords();
    queueRender();
  });
  source.addEventListener("error", () => {
    source.close();
    if (app.source !== source) return;
    app.source = null;
    setConnection("lost", "connexion perdue — reconnexion…");
    // Back off a little, and ask first whether the session is still valid: an expired or
    // revoked token sends the officer to the sign-in form instead of retrying forever.
    app.retry = Math.min(app.retry + 1, 5);
    app.retryTimer = setTimeout(reconnect, 500 * app.retry);
  });
}

async function reconnect() {
  try {
    app.session = await api("GET", "/dashboard/session");
    connect();
  } catch (error) {
    if (error.status === 401) { showSignIn("Session expirée : reconnectez-vous."); return; }
    setConnection("lost", "connexion perdue — reconnexion…");
    app.retry = Math.min(app.retry + 1, 5);
    app.retryTimer = setTimeout(reconnect, 500 * app.retry);
  }
}

function queueRender() {
  if (app.renderQueued) return;
  app.renderQueued = true;
  requestAnimationFrame(() => { app.renderQueued = false; render(); });
}

// -- views -----------------------------------------------------------------------------------

function route() {
  const match = location.hash.match(/^#\/centre\/([^/]+)$/);
  return match ? { view: "centre", unit: decodeURIComponent(match[1]) } : { view: "board" };
}

function render() {
  if (!app.session || !app.board) return;
  const where = route();
  $("board-view").hidden = where.view !== "board";
  $("centre-view").hidden = where.view !== "centre";
  if (where.view === "board") { renderBoard(); renderMap(); } else renderCentre(where.unit);
}

function renderBoard() {
  const units = app.board.order.map((id) => app.board.units[id]);
  units.sort((a, b) => pressure(b) - pressure(a) || a.id.localeCompare(b.id));
  $("board-at").textContent = `mis à jour ${new Date(nowClock() * 1000).toLocaleTimeString("fr-FR")}`;
  const rows = units.map((u) => el("tr", {
    class: `unit${u.in_service ? "" : " off"}`, "data-unit": u.id, "data-level": level(u),
    onclick: () => { location.hash = `#/centre/${encodeURIComponent(u.id)}`; },
  },
  el("td", {}, el("a", { href: `#/centre/${encodeURIComponent(u.id)}`, text: u.name }), el("div", { class: "hint", text: u.id })),
  el("td", { class: "state" }, badges(u)),
  el("td", { class: "num queue", text: String(u.queue_length) }),
  el("td", { class: "num", text: u.oldest_arrived_at ? age(u.oldest_arrived_at) : "—" }),
  el("td", { class: "num", text: `${u.free_positions} / ${u.positions}` }),
  el("td", { class: "num", text: `${share(u.answered_15s_share_15min)} · ${share(u.answered_15s_share_60min)}` }),
  el("td", { class: "num", text: `${u.helped_out_60min} · ${u.helped_in_60min}` }),
  el("td", { class: "modes" }, modeLines(u))));
  $("units").tBodies[0].replaceChildren(...rows);
}

function unitOfDepartments() {
  const found = {};
  for (const id of app.board.order) {
    const unit = app.board.units[id];
    if (unit.kind !== "centre") continue;
    const serving = unit.in_service ? unit : app.board.units[unit.served_by] || unit;
    for (const d of unit.departments) found[d] = { centre: unit, serving };
  }
  return found;
}

function renderMap() {
  const tiles = window.DEPARTMENT_TILES || {};
  const map = $("map");
  const byDepartment = unitOfDepartments();
  let maxCol = 0, maxRow = 0;
  for (const t of Object.values(tiles)) { maxCol = Math.max(maxCol, t.col); maxRow = Math.max(maxRow, t.row); }
  // Units without a department (the national backup) get a tile below the map.
  const extra = app.board.order.filter((id) => app.board.units[id].kind === "centre" && !app.board.units[id].departments.length);
  const centreOf = {};
  const children = [svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#1d4ed8" })))];
  const place = (code, col, row, centre, serving, label) => {
    const x = col * TILE, y = row * TILE;
    const lvl = serving ? level(serving) : null;
    const cls = serving ? `tile p-${lvl}` : "tile none";
    const mark = { saturated: "▲", tense: "●", normal: "○", off: "–" }[lvl] || "";
    const title = serving ? `${label} — ${centre.name} : ${{ saturated: "saturé", tense: "tendu", normal: "normal", off: "hors service ou basculé" }[lvl]}, ${serving.queue_length} en attente` : `${label} — pas de centre dans cette topologie`;
    const group = [svg("rect", { class: cls, x, y, width: TILE - 1, height: TILE - 1, rx: 3, "data-department": code, "data-level": lvl || "none" }, svg("title", { text: title })),
      svg("text", { x: x + TILE / 2, y: y + TILE / 2 - (serving ? 5 : 0), text: label }),
      serving ? svg("text", { class: "mark", x: x + TILE / 2, y: y + TILE / 2 + 7, text: mark }) : null];
    if (centre) {
      centreOf[centre.id] = centreOf[centre.id] || { x: x + TILE / 2, y: y + TILE / 2 };
      const link = svg("a", { href: `#/centre/${encodeURIComponent(serving.id)}` }, group);
      children.push(link);
    } else children.push(...group.filter(Boolean));
  };
  for (const [code, t] of Object.entries(tiles)) {
    const found = byDepartment[code];
    place(code, t.col, t.row, found && found.centre, found && found.serving, code);
  }
  extra.forEach((id, i) => {
    const unit = app.board.units[id];
    const serving = unit.in_service ? unit : app.board.units[unit.served_by] || unit;
    place(id, i * 3, maxRow + 2, unit, serving, unit.name.slice(0, 4));
  });
  // A virtual CTA's point is its first member's.
  for (const id of app.board.order) {
    const unit = app.board.units[id];
    if (unit.kind === "vcta" && !centreOf[id]) {
      const first = unit.members.map((m) => centreOf[m]).find(Boolean);
      if (first) centreOf[id] = first;
    }
  }
  const flowItems = [];
  for (const flow of app.board.flows) {
    const a = centreOf[flow.from_unit], b = centreOf[flow.to_unit];
    const text = `${unitName(flow.from_unit)} → ${unitName(flow.to_unit)} : ${flow.now} en cours, ${flow.last_15min} sur 15 min`;
    flowItems.push(el("li", { "data-flow": `${flow.from_unit}>${flow.to_unit}`, text }));
    if (!a || !b) continue;
    const mx = (a.x + b.x) / 2 + (b.y - a.y) * 0.2, my = (a.y + b.y) / 2 - (b.x - a.x) * 0.2;
    children.push(svg("path", { class: flow.now > 0 ? "flow" : "flow recent", d: `M ${a.x} ${a.y} Q ${mx} ${my} ${b.x} ${b.y}`, "data-flow": `${flow.from_unit}>${flow.to_unit}` }, svg("title", { text })));
  }
  map.setAttribute("viewBox", `-2 -2 ${(maxCol + 1) * TILE + 4} ${(maxRow + 3) * TILE + 4}`);
  map.replaceChildren(...children);
  $("flows").replaceChildren(...(flowItems.length ? flowItems : [el("li", { text: "aucun flux d'entraide" })]));
}

function renderCentre(unitId) {
  const unit = app.board.units[unitId];
  if (!unit) { $("centre-title").textContent = `Unité inconnue : ${unitId}`; return; }
  $("centre-title").textContent = `${unit.name} (${unit.id})`;
  $("centre-badges").replaceChildren(badges(unit), ...modeLines(unit));
  renderActions(unit);
  const allowed = mayChange(unit);
  const serving = Object.values(app.board.positions).filter((p) => p.unit === unit.id || unit.members.includes(p.centre));
  const free = serving.filter((p) => p.status === "available" && p.unit === unit.id);
  const calls = app.board.waiting[unit.id] || [];
  $("waiting").tBodies[0].replaceChildren(...(calls.length ? calls.map((c) => el("tr", { "data-call": c.call_id },
    el("td", { class: "num", text: age(c.arrived_at) }),
    el("td", { text: c.routing_key }),
    el("td", { text: c.came_from ? `${c.home_centre}, venu de ${c.came_from}` : c.home_centre }),
    el("td", { class: "num", text: String(c.hops) }),
    el("td", { class: "action" }, allowed && free.length ? el("button", { type: "button", text: "Prendre", onclick: () => pickDialog(unit, c, free) }) : null))) : [el("tr", {}, el("td", { colspan: 5, text: "aucun appel en attente" }))]));
  $("positions").tBodies[0].replaceChildren(...serving.map((p) => el("tr", { "data-position": p.id, "data-status": p.status },
    el("td", { text: p.id }),
    el("td", { text: STATUS[p.status] || p.status }),
    el("td", { text: p.call_id || "" }),
    el("td", { class: "action" }, app.session.may_change.includes(p.centre) && p.status !== "offline"
      ? (p.status === "paused"
        ? el("button", { type: "button", text: "Reprendre", onclick: () => positionDialog(p, false) })
        : el("button", { type: "button", text: "Pause", onclick: () => positionDialog(p, true) }))
      : null))));
  if (app.changesFor !== unit.id) { app.changesFor = unit.id; app.changesStamp = ""; refreshRecords(); }
}

function renderActions(unit) {
  const box = $("centre-actions");
  if (!mayChange(unit) && !unit.members.some((c) => app.session.may_change.includes(c))) {
    box.replaceChildren(el("p", { class: "hint", text: `Votre jeton (${app.session.scopes.join(", ")}) ne permet pas d'agir sur cette unité.` }));
    return;
  }
  const buttons = [el("h3", { text: "Actions" })];
  for (const m of unit.modes) {
    if (!app.session.may_change.includes(m.centre)) continue;
    const of = unit.modes.length > 1 ? ` (${m.centre})` : "";
    buttons.push(el("button", { type: "button", "data-action": `outgoing:${m.centre}`, text: `${m.outgoing_mutual_aid ? "Couper" : "Rétablir"} l'entraide sortante${of}`, onclick: () => mutualAidDialog(m, "outgoing") }));
    buttons.push(el("button", { type: "button", "data-action": `incoming:${m.centre}`, text: `${m.incoming_mutual_aid ? "Couper" : "Rétablir"} l'entraide entrante${of}`, onclick: () => mutualAidDialog(m, "incoming") }));
    buttons.push(el("button", { type: "button", "data-action": `divert:${m.centre}`, text: m.diverted_to ? `Arrêter la bascule${of}` : `Basculer${of}…`, onclick: () => divertDialog(m) }));
    buttons.push(el("button", { type: "button", "data-action": `crisis:${m.centre}`, text: m.crisis_message ? `Retirer le message de crise${of}` : `Message de crise${of}…`, onclick: () => crisisDialog(m) }));
  }
  for (const id of app.board.order) {
    const vcta = app.board.units[id];
    if (vcta.kind !== "vcta" || !(vcta.id === unit.id || vcta.members.some((c) => unit.members.includes(c)))) continue;
    if (!mayChange(vcta)) continue;
    buttons.push(el("button", { type: "button", "data-action": `vcta:${vcta.id}`, text: `${vcta.in_service ? "Désactiver" : "Activer"} le CTA virtuel ${vcta.name}`, onclick: () => vctaDialog(vcta) }));
  }
  box.replaceChildren(...buttons);
}

// -- records: audit trail, callbacks, chart --------------------------------------------------

async function refreshRecords() {
  const where = route();
  if (where.view !== "centre" || !app.session) return;
  const unit = app.board && app.board.units[where.unit];
  if (!unit) return;
  // Refetch only when the unit's modes or positions moved (the audit trail changes with them).
  const positions = Object.values(app.board.positions).filter((p) => unit.members.includes(p.centre)).map((p) => p.status === "paused");
  const key = JSON.stringify([unit.modes, unit.in_service, positions]);
  if (key === app.changesStamp) return;
  app.changesStamp = key;
  const ids = [unit.id, ...unit.members];
  try {
    const lists = await Promise.all([...new Set(ids)].map((id) => api("GET", `/api/v1/mode-changes?limit=20&unit=${encodeURIComponent(id)}`)));
    const changes = lists.flatMap((l) => l.changes).sort((a, b) => b.at.localeCompare(a.at)).slice(0, 20);
    $("changes").tBodies[0].replaceChildren(...(changes.length ? changes.map((c) => el("tr", { "data-change": c.what },
      el("td", { text: when(c.at) }), el("td", { class: "actor", text: c.actor }),
      el("td", { text: `${FIELDS[c.what] || c.what}${c.position ? ` ${c.position}` : ""} (${c.unit})` }),
      el("td", { text: c.before ? shown(c.before[c.what]) : "—" }), el("td", { text: shown(c.after[c.what]) }),
      el("td", { class: "reason", text: c.reason || "" }))) : [el("tr", {}, el("td", { colspan: 6, text: "aucune décision récente" }))]));
  } catch (error) {
    $("changes").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: 6, text: `journal indisponible : ${error.message}` })));
  }
  refreshCallbacks(unit);
  refreshChart(unit);
}

async function refreshCallbacks(unit) {
  const body = $("callbacks").tBodies[0];
  try {
    const lists = await Promise.all(unit.members.map((c) => api("GET", `/api/v1/callbacks?centre=${encodeURIComponent(c)}`)));
    const callbacks = lists.flatMap((l) => l.callbacks);
    $("callbacks-note").textContent = callbacks.length ? "" : "aucun appelant à rappeler";
    body.replaceChildren(...callbacks.map((c) => el("tr", { "data-callback": c.call_id },
      el("td", { text: when(c.hung_up_at) }), el("td", { text: c.caller || "masqué" }),
      el("td", { class: "num", text: `${Math.round(c.waited_s)} s` }),
      el("td", { class: "action" }, c.home_centre && app.session.may_change.includes(c.home_centre)
        ? el("button", { type: "button", text: "Fait", onclick: () => callbackDialog(c) }) : null))));
  } catch (error) {
    $("callbacks-note").textContent = `liste des rappels indisponible : ${error.message}`;
    body.replaceChildren();
  }
}

async function refreshChart(unit) {
  let data;
  try { data = await api("GET", `/api/v1/units/${encodeURIComponent(unit.id)}/activity`); } catch (_) { return; }
  const chart = $("chart");
  const minutes = data.minutes;
  const width = 600, height = 150, bar = width / minutes.length;
  const top = Math.max(1, ...minutes.map((m) => Math.max(m.calls, m.waiting)));
  const y = (v) => height - 15 - (v / top) * (height - 30);
  const parts = [];
  minutes.forEach((m, i) => {
    parts.push(svg("rect", { class: "bar-calls", x: i * bar, y: y(m.calls), width: bar - 1, height: height - 15 - y(m.calls) }, svg("title", { text: `${new Date(m.start).toLocaleTimeString("fr-FR")} : ${m.calls} appels, ${m.answered_15s} décrochés < 15 s, ${m.waiting} en attente au plus` })));
    parts.push(svg("rect", { class: "bar-in-time", x: i * bar + bar / 4, y: y(m.answered_15s), width: Math.max(1, bar / 2 - 1), height: height - 15 - y(m.answered_15s) }));
  });
  parts.push(svg("polyline", { class: "line-waiting", points: minutes.map((m, i) => `${i * bar + bar / 2},${y(m.waiting)}`).join(" ") }));
  parts.push(svg("text", { x: 0, y: height - 2, text: "-60 min" }), svg("text", { x: width - 40, y: height - 2, text: "maintenant" }), svg("text", { x: 0, y: 10, text: `max ${top}` }));
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.setAttribute("data-minutes", String(minutes.length));
  chart.replaceChildren(...parts);
}

// -- actions ---------------------------------------------------------------------------------

let pending = null;

function openDialog({ title, consequence, fields = [], reason = true, perform }) {
  $("confirm-title").textContent = title;
  $("confirm-consequence").textContent = consequence;
  $("confirm-fields").replaceChildren(...fields);
  $("confirm-reason").value = "";
  $("confirm-reason").required = reason;
  $("confirm-reason").hidden = !reason;
  $("confirm-reason-label").hidden = !reason;
  $("confirm-error").textContent = "";
  $("confirm-ok").disabled = false;
  pending = perform;
  $("confirm").showModal();
  (fields.length ? fields[0].querySelector("input, select") : $("confirm-reason"))?.focus();
}

async function confirmAction(event) {
  event.preventDefault();
  if (!pending) return;
  const reasonBox = $("confirm-reason");
  const reason = reasonBox.value.trim();
  if (!reasonBox.hidden && !reason) { $("confirm-error").textContent = "Indiquez le motif : il est conservé au journal avec votre nom."; return; }
  $("confirm-ok").disabled = true;
  try {
    await pending(reason);
    $("confirm").close();
    pending = null;
    app.changesStamp = "";
    refreshRecords();
  } catch (error) {
    // The API's sentence, as it is: for a refused diversion it is the policy's own.
    $("confirm-error").textContent = error.message;
    $("confirm-ok").disabled = false;
  }
}

function mutualAidDialog(modes, direction) {
  const on = direction === "outgoing" ? modes.outgoing_mutual_aid : modes.incoming_mutual_aid;
  const name = unitName(modes.centre);
  const consequence = direction === "outgoing"
    ? (on ? `Les appels en attente à ${name} ne partiront plus vers les centres voisins, même si ${name} est saturé.`
      : `Quand ${name} est saturé, ses appels en attente pourront de nouveau partir vers les centres voisins.`)
    : (on ? `${name} ne prendra plus d'appels des centres voisins saturés.`
      : `${name} prendra de nouveau des appels des centres voisins saturés, au-delà de sa réserve.`);
  openDialog({
    title: `${on ? "Couper" : "Rétablir"} l'entraide ${direction === "outgoing" ? "sortante" : "entrante"} de ${name}`,
    consequence,
    perform: (reason) => api("PUT", `/api/v1/centres/${encodeURIComponent(modes.centre)}/mutual-aid`, { [direction]: !on, reason }),
  });
}

function divertDialog(modes) {
  const name = unitName(modes.centre);
  if (modes.diverted_to) {
    openDialog({
      title: `Arrêter la bascule de ${name}`,
      consequence: `Les nouveaux appels de ${name} reviendront à ${name} au lieu d'aller à ${unitName(modes.diverted_to)}.`,
      perform: (reason) => api("PUT", `/api/v1/centres/${encodeURIComponent(modes.centre)}/diversion`, { to: null, reason }),
    });
    return;
  }
  const select = el("select", { id: "divert-to", required: true }, app.board.order
    .filter((id) => app.board.units[id].kind === "centre" && id !== modes.centre)
    .map((id) => el("option", { value: id, text: `${app.board.units[id].name} (${id})` })));
  openDialog({
    title: `Basculer ${name}`,
    consequence: `Tous les nouveaux appels de ${name} iront au centre choisi, et les appels qui attendent à ${name} y partent aussi. Une bascule qui ferait une boucle est refusée.`,
    fields: [el("label", { for: "divert-to", text: "Vers" }), select],
    perform: (reason) => api("PUT", `/api/v1/centres/${encodeURIComponent(modes.centre)}/diversion`, { to: select.value, reason }),
  });
}

function crisisDialog(modes) {
  const name = unitName(modes.centre);
  if (modes.crisis_message) {
    openDialog({
      title: `Retirer le message de crise de ${name}`,
      consequence: `Les appelants en attente à ${name} n'entendront plus « ${modes.crisis_message} ».`,
      perform: (reason) => api("PUT", `/api/v1/centres/${encodeURIComponent(modes.centre)}/crisis-message`, { message: null, reason }),
    });
    return;
  }
  const input = el("input", { id: "crisis-message", value: "sound:", required: true });
  openDialog({
    title: `Message de crise pour ${name}`,
    consequence: `Ce message sera joué à chaque appelant en attente à ${name}, à la place du message habituel.`,
    fields: [el("label", { for: "crisis-message", text: "Message (sound:… ou recording:…)" }), input],
    perform: (reason) => api("PUT", `/api/v1/centres/${encodeURIComponent(modes.centre)}/crisis-message`, { message: input.value.trim(), reason }),
  });
}

function vctaDialog(vcta) {
  const members = vcta.members.map(unitName).join(", ");
  openDialog({
    title: `${vcta.in_service ? "Désactiver" : "Activer"} le CTA virtuel ${vcta.name}`,
    consequence: vcta.in_service
      ? `${members} reprendront chacun leurs appels ; les appels en attente retournent à leur centre.`
      : `${members} ne feront plus qu'une file, servie par tous leurs postes ; les appels en attente y passent.`,
    perform: (reason) => api("PUT", `/api/v1/virtual-ctas/${encodeURIComponent(vcta.id)}/active`, { active: !vcta.in_service, reason }),
  });
}

function positionDialog(position, pause) {
  openDialog({
    title: `${pause ? "Mettre en pause" : "Reprendre"} le poste ${position.id}`,
    consequence: pause
      ? `Aucun appel ne sera plus présenté à ${position.id} (un appel en cours continue).`
      : `${position.id} recevra de nouveau des appels.`,
    perform: (reason) => api("POST", `/api/v1/positions/${encodeURIComponent(position.id)}/${pause ? "pause" : "resume"}`, { reason }),
  });
}

function pickDialog(unit, call, free) {
  const select = el("select", { id: "pick-position" }, free.map((p) => el("option", { value: p.id, text: p.id })));
  openDialog({
    title: `Prendre l'appel ${call.routing_key} (${age(call.arrived_at)})`,
    consequence: `Le poste choisi sonnera pour cet appel, avant les autres appels en attente à ${unit.name}.`,
    fields: [el("label", { for: "pick-position", text: "Poste" }), select],
    reason: false, // the API journals the pick itself (who and which position), with no reason
    perform: () => api("POST", `/api/v1/positions/${encodeURIComponent(select.value)}/pick`, { call_id: call.call_id }),
  });
}

function callbackDialog(callback) {
  const select = el("select", { id: "callback-outcome" }, Object.entries(OUTCOMES).map(([value, text]) => el("option", { value, text })));
  openDialog({
    title: `Rappel de ${callback.caller || "l'appelant"} fait`,
    consequence: "Le rappel sortira de la liste, avec votre nom, l'issue et ce compte rendu.",
    fields: [el("label", { for: "callback-outcome", text: "Issue" }), select],
    perform: (note) => api("POST", `/api/v1/callbacks/${encodeURIComponent(callback.call_id)}/done`, { outcome: select.value, note }),
  });
}

// -- sign-in ---------------------------------------------------------------------------------

function showSignIn(message = "") {
  if (app.source) { app.source.close(); app.source = null; }
  clearTimeout(app.retryTimer);
  app.session = null;
  app.board = null;
  $("sign-in-view").hidden = false;
  $("board-view").hidden = true;
  $("centre-view").hidden = true;
  $("who").hidden = true;
  $("sign-in-error").textContent = message;
  setConnection("idle", "non connecté");
  $("token").focus();
}

function signedIn(session) {
  app.session = session;
  $("sign-in-view").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = `${session.name} (${session.scopes.join(", ")})`;
  setConnection("lost", "connexion…");
  connect();
}

async function start() {
  if (new URLSearchParams(location.search).has("mur")) document.body.classList.add("wall");
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    $("token").value = ""; // the token goes to the server once, into an HttpOnly cookie
    try { signedIn(await api("POST", "/dashboard/session", { token })); } catch (error) { $("sign-in-error").textContent = error.message; }
  });
  $("sign-out").addEventListener("click", async () => {
    try { await api("DELETE", "/dashboard/session"); } finally { showSignIn("Déconnecté."); }
  });
  $("wall").addEventListener("click", () => { document.body.classList.toggle("wall"); });
  $("confirm-form").addEventListener("submit", confirmAction);
  $("confirm-cancel").addEventListener("click", () => { pending = null; $("confirm").close(); });
  window.addEventListener("hashchange", () => { app.changesStamp = ""; render(); refreshRecords(); });
  setInterval(() => { if (app.board) render(); }, 1000); // ages and the pressure order tick
  setInterval(() => { app.changesStamp = ""; refreshRecords(); }, 30000); // chart and callbacks
  try { signedIn(await api("GET", "/dashboard/session")); } catch (_) { showSignIn(); }
}

document.addEventListener("DOMContentLoaded", start);
