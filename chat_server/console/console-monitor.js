/* Live supervision (docs/console.md "Live supervision"). On a supervisor's console: the
   "Pågående samtal" list (chats_active), and a read-only pane per monitored chat with its
   live transcript, a whisper box (the chat's back-channel), "join the conversation" (then a
   message box; the visitor reads "Handledare") and "stop monitoring". On a counsellor's
   console: "Medlyssnas av …" on every chat someone monitors (the monitors frame), and the
   supervisor's joining, leaving and messages in the transcript. */
import { addStrings, clockTime, duration, t } from "/design/staff-i18n.js";
import { chats, line } from "./console-chats.js";
import { describe } from "./console-describe.js";

addStrings({
  sv: {
    "monitor.active_title": "Pågående samtal",
    "monitor.none_active": "Inga pågående samtal.",
    "monitor.refresh": "Uppdatera",
    "monitor.start": "Medlyssna",
    "monitor.start_alias": "Medlyssna på {alias}",
    "monitor.row": "{alias} · {name} · {time}",
    "monitor.watching": "Du medlyssnar",
    "monitor.pane_label": "Medlyssning: {alias}",
    "monitor.counsellor": "Rådgivare: {name}",
    "monitor.read_only": "Du läser med. Besökaren ser dig inte.",
    "monitor.joined_state": "Du är ansluten – besökaren ser dina meddelanden som från Handledare.",
    "monitor.whisper_label": "Viska till {name}",
    "monitor.whisper_send": "Viska",
    "monitor.join": "Anslut till samtalet",
    "monitor.leave": "Lämna samtalet",
    "monitor.stop": "Sluta medlyssna",
    "monitor.message_label": "Till besökaren (som Handledare)",
    "monitor.send": "Skicka",
    "monitor.sender": "Handledare",
    "monitor.counsellor_sender": "Rådgivare",
    "monitor.you_whispered": "Du viskade",
    "monitor.joined": "En handledare anslöt till samtalet.",
    "monitor.left": "Handledaren lämnade samtalet.",
    "monitor.by": "Medlyssnas av {names}",
    "monitor.name_joined": "{name} (ansluten)",
    "monitor.stopped": "Medlyssningen har slutat.",
    "monitor.ended": "Chatten har avslutats.",
    "error.supervisors_only": "Bara handledare kan medlyssna.",
    "error.not_monitoring": "Medlyssna på chatten först.",
  },
  en: {
    "monitor.active_title": "Ongoing chats",
    "monitor.none_active": "No ongoing chats.",
    "monitor.refresh": "Refresh",
    "monitor.start": "Monitor",
    "monitor.start_alias": "Monitor {alias}",
    "monitor.row": "{alias} · {name} · {time}",
    "monitor.watching": "You are monitoring",
    "monitor.pane_label": "Monitoring: {alias}",
    "monitor.counsellor": "Counsellor: {name}",
    "monitor.read_only": "You are reading along. The visitor does not see you.",
    "monitor.joined_state": "You have joined – the visitor sees your messages as from Supervisor.",
    "monitor.whisper_label": "Whisper to {name}",
    "monitor.whisper_send": "Whisper",
    "monitor.join": "Join the conversation",
    "monitor.leave": "Leave the conversation",
    "monitor.stop": "Stop monitoring",
    "monitor.message_label": "To the visitor (as Supervisor)",
    "monitor.send": "Send",
    "monitor.sender": "Supervisor",
    "monitor.counsellor_sender": "Counsellor",
    "monitor.you_whispered": "You whispered",
    "monitor.joined": "A supervisor joined the conversation.",
    "monitor.left": "The supervisor left the conversation.",
    "monitor.by": "Monitored by {names}",
    "monitor.name_joined": "{name} (joined)",
    "monitor.stopped": "Monitoring has ended.",
    "monitor.ended": "The chat has ended.",
    "error.supervisors_only": "Only supervisors can monitor.",
    "error.not_monitoring": "Monitor the chat first.",
  },
});

const LIST_REFRESH_MS = 2000;
const FOLLOWED = new Set(["message", "chat_state", "typing", "visitor_presence",
  "visitor_not_alone", "chat_transferred", "chat_ended", "idle_warning", "idle_cleared"]);

const $ = (id) => document.getElementById(id);
const monitored = new Map(); // chat_id -> pane state
const tabId = Math.random().toString(36).slice(2, 8);
let app = null; // console.js's shared: {send, notice, ...}
let clientSeq = 0;
let listTimer = null;
let supervisor = false;
let lastList = null; // the last chats_active frame, drawn again when monitoring changes

export function initMonitor(shared) {
  app = shared;
  $("active-refresh").addEventListener("click", () => app.send({ type: "chats_active" }));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/* --- the list of active chats ------------------------------------------------------------- */

function askForList() {
  if (!supervisor || listTimer) return;
  listTimer = setTimeout(() => { listTimer = null; app.send({ type: "chats_active" }, { quiet: true }); },
    LIST_REFRESH_MS);
}

function renderList(frame) {
  lastList = frame;
  const list = $("active-chats");
  const now = Date.now();
  const rows = frame.chats.map((item) => {
    const about = describe(item);
    const text = t("monitor.row", { alias: item.alias, name: item.name,
      time: duration(Math.max(0, (now - item.answered_ms) / 1000)) }) + (about ? ` · ${about}` : "");
    const li = el("li", { class: "queue-row" }, el("span", { class: "queue-text", text }));
    if (item.monitoring || monitored.has(item.chat_id)) {
      li.append(el("span", { class: "badge", text: t("monitor.watching") }));
    } else {
      const start = el("button", { type: "button", class: "small", text: t("monitor.start"),
        "aria-label": t("monitor.start_alias", { alias: item.alias }) });
      start.addEventListener("click", () => app.send({ type: "monitor", chat_id: item.chat_id }));
      li.append(start);
    }
    return li;
  });
  if (!rows.length) rows.push(el("li", { class: "muted empty", text: t("monitor.none_active") }));
  list.replaceChildren(...rows);
}

/* --- a monitored chat's pane --------------------------------------------------------------- */

function field(labelText, cls) {
  const area = el("textarea", { class: cls, rows: "2", maxlength: "2000" });
  return [el("label", { class: "field" }, el("span", { class: "label", text: labelText }), area), area];
}

function openPane(frame) {
  const old = monitored.get(frame.chat_id);
  if (old) old.node.remove();
  const log = el("ol", { class: "log", tabindex: "0", "aria-live": "polite",
    "aria-label": t("console.log") });
  const state = el("p", { class: "chat-state small-text", role: "status" });
  const join = el("button", { type: "button", class: "small join" });
  const stop = el("button", { type: "button", class: "small", text: t("monitor.stop") });
  const [whisperField, whisperBox] = field(t("monitor.whisper_label", { name: frame.name }), "whisper-text");
  const whisper = el("button", { type: "button", class: "small whisper-send", text: t("monitor.whisper_send") });
  const [sayField, sayBox] = field(t("monitor.message_label"), "say-text");
  const say = el("button", { type: "submit", class: "primary small", text: t("monitor.send") });
  const sayForm = el("form", { class: "compose say" }, sayField, say);
  const node = el("article", { class: "chat monitored", tabindex: "-1",
    id: `monitor-${frame.chat_id}`, "aria-label": t("monitor.pane_label", { alias: frame.alias }) },
  el("header", { class: "chat-head" },
    el("div", { class: "chat-title" }, el("h3", { class: "alias", text: frame.alias }),
      el("span", { class: "meta small-text",
        text: [t("monitor.counsellor", { name: frame.name }), describe(frame)].filter(Boolean).join(" · ") })),
    el("div", { class: "button-row chat-actions" }, join, stop), state),
  log,
  el("div", { class: "compose whisper" }, whisperField, whisper),
  sayForm);
  const pane = { id: frame.chat_id, alias: frame.alias, node, log, state, join, sayForm,
    joined: frame.joined === true, seen: new Set(), pending: new Map() };
  join.addEventListener("click", () => app.send({ type: pane.joined ? "leave" : "join", chat_id: pane.id }));
  stop.addEventListener("click", () => app.send({ type: "monitor_stop", chat_id: pane.id }));
  whisper.addEventListener("click", () => {
    const text = whisperBox.value.trim();
    if (text && app.send({ type: "backchannel", chat_id: pane.id, text })) whisperBox.value = "";
  });
  sayBox.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sayForm.requestSubmit(); }
  });
  sayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = sayBox.value.trim();
    const clientId = `m${tabId}-${++clientSeq}`;
    if (!text || !app.send({ type: "message", chat_id: pane.id, text, client_id: clientId })) return;
    pane.pending.set(clientId, addLine(pane, "supervisor", text, { cls: "pending" }));
    sayBox.value = "";
  });
  monitored.set(pane.id, pane);
  showJoined(pane);
  $("monitored").append(node);
  $("monitored").hidden = false;
  node.focus();
}

function addLine(pane, sender, text, { cls = "", ts = Date.now() } = {}) {
  const who = { visitor: pane.alias, counsellor: t("monitor.counsellor_sender"), supervisor: t("monitor.sender") }[sender] ?? "";
  const head = el("span", { class: "msg-head" });
  if (who) head.append(el("b", { text: who }), " ");
  head.append(el("time", { datetime: new Date(ts).toISOString(), text: clockTime(ts) }));
  const style = { counsellor: "colleague", supervisor: "counsellor" }[sender] ?? sender; // own lines right
  const item = el("li", { class: `msg ${style} ${cls}`.trim() },
    el("div", { class: "bubble" }, head, el("span", { class: "msg-text", text })));
  pane.log.append(item);
  pane.log.scrollTop = pane.log.scrollHeight;
  return item;
}

function showJoined(pane) {
  pane.join.textContent = t(pane.joined ? "monitor.leave" : "monitor.join");
  pane.sayForm.hidden = !pane.joined;
  pane.state.textContent = t(pane.joined ? "monitor.joined_state" : "monitor.read_only");
}

function closePane(pane, text) {
  addLine(pane, "system", text);
  monitored.delete(pane.id);
  for (const part of pane.node.querySelectorAll(".compose, .chat-actions")) part.remove();
  pane.node.classList.add("ended");
  setTimeout(() => {
    pane.node.remove();
    $("monitored").hidden = monitored.size === 0;
  }, 30000);
  askForList();
}

function paneFrame(pane, frame) {
  switch (frame.type) {
    case "message":
      if (pane.seen.has(frame.seq)) return;
      pane.seen.add(frame.seq);
      if (frame.client_id && pane.pending.has(frame.client_id)) {
        pane.pending.get(frame.client_id).classList.remove("pending");
        pane.pending.delete(frame.client_id);
        return;
      }
      addLine(pane, frame.sender, frame.text, { ts: frame.ts });
      return;
    case "chat_ended":
      pane.ended = true;
      addLine(pane, "system", t("monitor.ended"));
      return;
    case "typing":
      pane.state.textContent = frame.active ? t("console.visitor_typing") : "";
      if (!frame.active) showJoined(pane);
      return;
    default:
      return; // state, presence, transfers: the counsellor's business
  }
}

/* --- the counsellor's side ---------------------------------------------------------------- */

function showMonitors(frame) {
  const chat = chats.get(frame.chat_id);
  if (!chat) return;
  let bar = chat.node.querySelector(".monitored-by");
  if (!bar) {
    bar = el("p", { class: "monitored-by small-text", role: "status" });
    chat.node.querySelector(".chat-head").after(bar);
  }
  const names = frame.monitors.map((m) => (m.joined ? t("monitor.name_joined", { name: m.name }) : m.name));
  bar.textContent = names.length ? t("monitor.by", { names: names.join(", ") }) : "";
  bar.hidden = !names.length;
}

/* Frames of live supervision, and those of a monitored chat; true when handled here. */
export function receiveMonitorFrame(frame) {
  const pane = monitored.get(frame.chat_id);
  switch (frame.type) {
    case "hello":
      supervisor = frame.role !== "counsellor";
      if (supervisor) app.send({ type: "chats_active" });
      return false;
    case "queue":
      askForList(); // a chat was taken or ended: the list may have changed
      return false;
    case "chats_active": renderList(frame); return true;
    case "monitor_opened":
      openPane(frame);
      if (lastList) renderList(lastList);
      return true;
    case "monitor_stopped":
      if (pane) closePane(pane, t(frame.reason === "chat_ended" ? "monitor.ended" : "monitor.stopped"));
      return true;
    case "monitors":
      showMonitors(frame);
      if (pane) {
        const me = frame.monitors.find((m) => m.user === app.me().user);
        pane.joined = me?.joined === true;
        showJoined(pane);
      }
      return true;
    case "supervisor": {
      const text = t(frame.joined ? "monitor.joined" : "monitor.left");
      if (pane) addLine(pane, "system", text, { ts: frame.ts });
      else if (chats.has(frame.chat_id)) line(chats.get(frame.chat_id), "system", text, { ts: frame.ts });
      return true;
    }
    case "backchannel":
      if (pane && frame.from === app.me().user) addLine(pane, "system", `${t("monitor.you_whispered")}: ”${frame.text}”`);
      return false; // the supervision panel shows it too
    case "error":
      for (const other of monitored.values()) {
        const item = frame.client_id && other.pending.get(frame.client_id);
        if (!item) continue;
        other.pending.delete(frame.client_id);
        item.remove();
        const box = other.node.querySelector(".say-text");
        if (box && !box.value) box.value = item.querySelector(".msg-text").textContent;
      }
      return false;
    default:
      if (pane && FOLLOWED.has(frame.type)) { paneFrame(pane, frame); return true; }
      return false;
  }
}
