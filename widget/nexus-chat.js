/* nexus-chat widget: anonymous chat with Nexus, Uppsala kommun.
 * Dependency-free. Embed with one tag:
 *   <script src="https://chat.example/widget/nexus-chat.js" data-lang="sv" defer></script>
 * No cookies, no localStorage: the resume token lives in sessionStorage only (dies with the
 * tab) and is removed when the chat ends. Every request goes to the chat server's origin. */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__nexusChat) return;
  window.__nexusChat = true;

  const server = (script.dataset.server || new URL(script.src).origin).replace(/\/$/, "");
  const lang = script.dataset.lang || "sv";
  const exitUrl = script.dataset.exitUrl || "https://www.smhi.se/";
  const STORE_KEY = "nexus-chat";
  const RECONNECT_MS = [500, 1000, 2000, 4000, 8000];

  let t = {};
  let ws = null;
  let state = "idle"; // idle | connecting | waiting | active | ended
  let lastSeq = 0;
  let attempts = 0;
  let clientSeq = 0;
  const pending = new Map(); // client_id -> element
  const seen = new Set();

  const saved = () => {
    try { return JSON.parse(sessionStorage.getItem(STORE_KEY) || "null"); } catch { return null; }
  };
  const save = (token) => sessionStorage.setItem(STORE_KEY, JSON.stringify({ token, lastSeq }));
  const forget = () => sessionStorage.removeItem(STORE_KEY);
  const fmt = (key, vars = {}) =>
    (t[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));

  // --- DOM -----------------------------------------------------------------------------
  const host = document.createElement("div");
  host.id = "nexus-chat";
  const root = host.attachShadow({ mode: "open" });
  const el = (tag, attrs = {}, text = "") => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  };

  function build() {
    const css = el("link", { rel: "stylesheet", href: `${server}/widget/nexus-chat.css` });
    const launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false",
      "aria-controls": "nc-panel" }, t.launcher);
    const panel = el("section", { id: "nc-panel", class: "panel", role: "dialog",
      "aria-labelledby": "nc-title", hidden: "" });
    panel.lang = lang;
    panel.dir = lang === "ar" ? "rtl" : "ltr";
    const header = el("header");
    header.append(el("h2", { id: "nc-title" }, t.title));
    const exit = el("button", { class: "exit", type: "button" }, t.quick_exit);
    const close = el("button", { class: "close", type: "button", "aria-label": t.close }, "×");
    header.append(exit, close);
    const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
    const danger = el("p", { class: "danger" }, t.danger);
    const log = el("ol", { class: "log", "aria-live": "polite", "aria-label": t.title });
    const typing = el("p", { class: "typing", hidden: "" }, t.typing);
    const start = el("button", { class: "start primary", type: "button" }, t.start);
    const form = el("form", { class: "compose", hidden: "" });
    const label = el("label", { for: "nc-input" }, t.message_label);
    const input = el("textarea", { id: "nc-input", rows: "3", maxlength: "2000" });
    const send = el("button", { type: "submit", class: "primary" }, t.send);
    form.append(label, input, send);
    const end = el("button", { class: "end", type: "button", hidden: "" }, t.end);
    const alt = el("p", { class: "alternatives" }, t.alternatives);
    panel.append(header, danger, el("p", { class: "intro" }, t.intro), status, log, typing,
      start, form, end, alt);
    root.append(css, launcher, panel);
    document.body.append(host);
    return { launcher, panel, exit, close, status, log, typing, start, form, input, end };
  }

  let ui;

  function setStatus(text) { ui.status.textContent = text; }

  function show(next) {
    state = next;
    ui.start.hidden = !(next === "idle" || next === "ended");
    ui.start.textContent = next === "ended" ? t.new_chat : t.start;
    ui.form.hidden = !(next === "waiting" || next === "active");
    ui.end.hidden = !(next === "waiting" || next === "active");
    if (next !== "active") ui.typing.hidden = true;
  }

  function addLine(sender, text, extraClass = "") {
    const item = el("li", { class: `msg ${sender} ${extraClass}`.trim() });
    const who = sender === "visitor" ? t.you : sender === "counsellor" ? t.counsellor : "";
    if (who) item.append(el("span", { class: "who" }, `${who}: `));
    item.append(document.createTextNode(text));
    ui.log.append(item);
    ui.log.scrollTop = ui.log.scrollHeight;
    return item;
  }

  // --- protocol ------------------------------------------------------------------------
  function connect(hello) {
    if (ws) return;
    show(state === "idle" || state === "ended" ? "connecting" : state);
    setStatus(t.connecting);
    ws = new WebSocket(`${server.replace(/^http/, "ws")}/ws/visitor`);
    ws.onopen = () => { attempts = 0; ws.send(JSON.stringify(hello())); };
    ws.onmessage = (event) => receive(JSON.parse(event.data));
    ws.onclose = (event) => {
      ws = null;
      const resume = saved();
      if (resume && (state === "waiting" || state === "active" || state === "connecting")
          && event.code !== 4404 && event.code !== 4409) {
        setStatus(t.reconnecting);
        const delay = RECONNECT_MS[Math.min(attempts++, RECONNECT_MS.length - 1)];
        setTimeout(() => connect(resumeHello), delay);
      }
    };
  }

  const startHello = () => ({ type: "start", language: lang });
  const resumeHello = () => {
    const resume = saved();
    return { type: "resume", token: resume ? resume.token : "", last_seq: lastSeq };
  };

  function receive(frame) {
    switch (frame.type) {
      case "welcome":
        if (frame.token) save(frame.token);
        show(frame.state === "active" ? "active" : "waiting");
        setStatus(frame.state === "active" ? t.joined : t.waiting_hint);
        break;
      case "queue":
        if (state === "waiting") {
          setStatus(frame.position <= 1 ? t.waiting_first : fmt("waiting", frame));
        }
        break;
      case "message":
        if (seen.has(frame.seq)) break;
        seen.add(frame.seq);
        lastSeq = Math.max(lastSeq, frame.seq);
        if (saved()) save(saved().token);
        if (frame.client_id && pending.has(frame.client_id)) { confirm(frame.client_id, frame.seq); break; }
        addLine(frame.sender, frame.text);
        if (frame.sender === "counsellor") ui.typing.hidden = true;
        break;
      case "ack":
        if (pending.has(frame.client_id)) confirm(frame.client_id, frame.seq);
        seen.add(frame.seq);
        lastSeq = Math.max(lastSeq, frame.seq);
        break;
      case "state":
        lastSeq = Math.max(lastSeq, frame.seq || 0);
        show("active");
        setStatus(t.joined);
        addLine("system", t.joined);
        break;
      case "typing":
        ui.typing.hidden = !frame.active;
        break;
      case "ended":
        finish(frame.by === "counsellor" ? t.ended_counsellor : t.ended);
        break;
      case "service":
        setStatus(frame.status === "ok" ? "" : t.unavailable);
        break;
      case "error":
        onError(frame);
        break;
    }
  }

  function confirm(clientId, seq) {
    const item = pending.get(clientId);
    item.classList.remove("pending");
    item.dataset.seq = seq;
    pending.delete(clientId);
  }

  function onError(frame) {
    if (frame.code === "chat_not_found") { finish(t.expired); return; }
    const text = { text_too_long: t.too_long, rate_limited: t.slow_down }[frame.code] || t.not_sent;
    setStatus(text);
    const item = frame.client_id && pending.get(frame.client_id);
    if (item) {
      // The message was refused: take it back out of the log and into the box, so nothing is lost.
      pending.delete(frame.client_id);
      item.remove();
      if (!ui.input.value.trim()) ui.input.value = item.dataset.text;
    }
  }

  function finish(text) {
    forget();
    show("ended");
    setStatus(text);
    addLine("system", text);
    if (ws) ws.close(1000);
  }

  function sendText(event) {
    event.preventDefault();
    const text = ui.input.value.trim();
    if (!text) return;
    if (!ws || ws.readyState !== WebSocket.OPEN) { setStatus(t.not_sent); return; }
    const clientId = `c${++clientSeq}`;
    const item = addLine("visitor", text, "pending");
    item.dataset.text = text;
    pending.set(clientId, item);
    ws.send(JSON.stringify({ type: "message", text, client_id: clientId }));
    ui.input.value = "";
    ui.input.focus();
  }

  function quickExit() {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end", quick: true }));
    forget();
    ui.log.replaceChildren();
    try { history.replaceState(null, "", "/"); } catch { /* not allowed here */ }
    window.location.replace(exitUrl);
  }

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    (open ? ui.panel.querySelector("button.start:not([hidden]), textarea") || ui.close : ui.launcher).focus();
  }

  async function init() {
    try {
      const res = await fetch(`${server}/widget/i18n/${encodeURIComponent(lang)}.json`, { credentials: "omit" });
      t = await res.json();
    } catch { t = {}; }
    ui = build();
    ui.launcher.addEventListener("click", () => toggle(ui.panel.hidden));
    ui.close.addEventListener("click", () => toggle(false));
    ui.exit.addEventListener("click", quickExit);
    ui.start.addEventListener("click", () => { ui.log.replaceChildren(); seen.clear(); lastSeq = 0; connect(startHello); });
    ui.form.addEventListener("submit", sendText);
    ui.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) sendText(e);
    });
    ui.end.addEventListener("click", () => {
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end" }));
      else finish(t.ended);
    });
    show("idle");
    if (saved()) { toggle(true); connect(resumeHello); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
