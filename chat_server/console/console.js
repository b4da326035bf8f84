/* Duty console: one WebSocket to /ws/console, the app bar's controls, the keyboard shortcuts,
   and the dispatch of server frames to the chat panes (console-chats.js) and the side panels
   (console-panels.js). One language at a time (staff-i18n.js, docs/design.md). */
import { addStrings, t, translatePage, wireLanguageSelect } from "/design/staff-i18n.js";
import { revealNav, wireMenus } from "/design/staff-ui.js";
import { STRINGS } from "./console-strings.js";
import { initMonitor, receiveMonitorFrame } from "./console-monitor.js";
import { attention, enableDesktop, saveSettings, setBaseTitle, settings } from "./console-notify.js";
import {
  activeChatId, applyLayout, heldCount, initChats, openChat, receiveChatError,
  receiveChatFrame, selectChat, switchChat,
} from "./console-chats.js";
import {
  acceptFirstOffer, alertText, initPanels, openTransfer, receiveBackchannel, receiveBackchannelHistory,
  receiveHand, removeOffer, renderQueue, renderQueuePage, showBreak, showOffer, transferFailed,
  wireQueue,
} from "./console-panels.js";
import { initConsult, receiveConsult } from "./console-consult.js";

addStrings(STRINGS);

const WELLBEING_CHECK_MS = 60000;
const ERROR_CODES = new Set([
  "not_your_chat", "chat_not_found", "at_capacity", "queue_empty", "not_allowed_now",
  "text_too_long", "offered_elsewhere", "target_unavailable", "target_at_capacity",
  "unavailable", "unknown_type", "supervisors_only", "not_monitoring",
]);
const TRANSFER_ERRORS = new Set(["target_unavailable", "target_at_capacity"]);

const $ = (id) => document.getElementById(id);
let ws = null;
let retry = 0;
let me = { user: "", supervisor: false, outcomes: [], outcome_groups: {}, transfer_reasons: [] };
let texts = [];
let capacity = 0;
// A chat this console asked for (take, accept) gets the focus when it opens; one that arrives
// on its own (auto-accept, a transfer, another console) never steals it.
let focusNextChat = false;
// The presence this tab had, kept for a reload (sessionStorage dies with the tab).
const PRESENCE_KEY = "nexus-console-presence";
let lastPresence = sessionStorage.getItem(PRESENCE_KEY) || "";

function notePresence(value) {
  $("presence").value = lastPresence = value;
  $("presence").dataset.presence = value;
  sessionStorage.setItem(PRESENCE_KEY, value);
}

function send(frame, { quiet = false } = {}) {
  if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
  if (!quiet) notice(t("console.not_connected"));
  return false;
}

function notice(text) { $("notice").textContent = text; }

function showLoad() {
  $("load").textContent = capacity ? t("console.load", { held: heldCount(), capacity }) : "";
}

function takeNext() {
  if (acceptFirstOffer() || send({ type: "take" })) focusNextChat = true;
}

const shared = {
  send, notice, openTransfer,
  expectChat: () => { focusNextChat = true; },
  names: new Map(), // username -> display name, from the staff list
  me: () => me,
  texts: () => texts,
  layout: () => settings.layout,
  onChatsChanged: showLoad,
};

async function loadJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) { location.href = "/console/login"; return null; }
  if (!response.ok) return null;
  return response.json();
}

function showService(key) {
  $("service").textContent = key ? t(key) : "";
  $("service").hidden = !key;
}

function connect() {
  ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/console`);
  // The hello carries the presence this console had (none at the first open: the server keeps
  // the stored one), so a reconnect never turns a paused counsellor available.
  ws.onopen = () => {
    retry = 0;
    ws.send(JSON.stringify(lastPresence ? { type: "hello", presence: lastPresence }
      : { type: "hello" }));
  };
  ws.onmessage = (event) => receive(JSON.parse(event.data));
  ws.onclose = (event) => {
    ws = null;
    if (event.code === 4401) { location.href = "/console/login"; return; }
    showService("common.reconnecting");
    setTimeout(connect, Math.min(8000, 500 * 2 ** retry++));
  };
}

function onHello(frame) {
  const role = frame.role !== "counsellor" ? ` · ${t(`role.${frame.role}`)}` : "";
  $("me").textContent = `${frame.name}${role}`;
  notePresence(frame.presence);
  for (const input of document.querySelectorAll("input.csrf")) input.value = frame.csrf;
  showService("");
  capacity = frame.capacity;
  if (typeof frame.auto_accept === "boolean") $("auto-accept").checked = frame.auto_accept;
  for (const info of frame.chats) openChat(info);
  showLoad();
  send({ type: "wellbeing" });
  send({ type: "outcomes_pending" }); // chats that ended while this console was away
}

function onError(frame) {
  focusNextChat = false;
  const text = ERROR_CODES.has(frame.code) ? t(`error.${frame.code}`)
    : `${frame.message} (${frame.code})`;
  notice(text);
  if (TRANSFER_ERRORS.has(frame.code)) { transferFailed(); alertText(text, { urgent: true }); }
  receiveChatError(frame);
}

function receive(frame) {
  if (receiveConsult(frame)) return;
  if (receiveMonitorFrame(frame)) return; // live supervision (console-monitor.js)
  if (receiveChatFrame(frame)) {
    if (frame.type === "chat_opened") {
      removeOffer(frame.chat_id);
      notice("");
      if (focusNextChat) { focusNextChat = false; selectChat(frame.chat_id); }
    }
    return;
  }
  switch (frame.type) {
    case "hello": onHello(frame); break;
    case "queue": renderQueue(frame); break;
    case "queue_page": renderQueuePage(frame); break;
    case "presence":
      notePresence(frame.presence);
      if (frame.reason === "offer_timeout") alertText(t("console.paused_alert"));
      break;
    case "auto_accept": $("auto-accept").checked = frame.enabled; break;
    case "offer": showOffer(frame); break;
    case "offer_withdrawn": removeOffer(frame.chat_id, frame.reason); break;
    case "backup_alert":
      alertText(t("console.backup_alert", { minutes: Math.round((frame.longest_wait_s ?? 0) / 60) }),
        { urgent: true });
      attention("backup");
      break;
    case "backchannel": receiveBackchannel(frame); break;
    case "backchannel_history": receiveBackchannelHistory(frame); break;
    case "hand_raised": case "hand_answered": case "hand_sent": receiveHand(frame); break;
    case "break_suggested": showBreak(frame); break;
    case "service": showService(frame.status === "ok" ? "" : "console.service_down"); break;
    case "error": onError(frame); break;
    default: break; // frames from a newer server are ignored
  }
}

/* Keyboard first: Alt+1…9 a chat, Alt+PageDown / Alt+PageUp the next / previous chat,
   Alt+N accepts the oldest offer or else takes the next chat from the queue (docs/console.md). */
function onShortcut(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  const digit = /^Digit([1-9])$/.exec(event.code);
  if (digit) { event.preventDefault(); switchChat({ index: Number(digit[1]) - 1 }); return; }
  if (event.key === "PageDown") { event.preventDefault(); switchChat({ delta: 1 }); return; }
  if (event.key === "PageUp") { event.preventDefault(); switchChat({ delta: -1 }); return; }
  if (event.code === "KeyN") { event.preventDefault(); takeNext(); }
}

function wireHeader() {
  $("presence").addEventListener("change", (e) => {
    const value = e.target.value;
    send({ type: "presence", presence: value });
    if (lastPresence === "paused" && value === "available") send({ type: "break_over" });
    notePresence(value);
  });
  $("take-next").addEventListener("click", takeNext);
  $("raise-hand").addEventListener("click", () => {
    const chatId = activeChatId();
    send(chatId ? { type: "raise_hand", chat_id: chatId } : { type: "raise_hand" });
  });
  $("sound").checked = settings.sound;
  $("flash").checked = settings.flash;
  $("desktop").checked = settings.desktop;
  $("layout").value = settings.layout;
  $("sound").addEventListener("change", (e) => { settings.sound = e.target.checked; saveSettings(); });
  $("flash").addEventListener("change", (e) => { settings.flash = e.target.checked; saveSettings(); });
  $("desktop").addEventListener("change", async (e) => {
    settings.desktop = e.target.checked && await enableDesktop();
    e.target.checked = settings.desktop;
    saveSettings();
  });
  $("layout").addEventListener("change", (e) => {
    settings.layout = e.target.value;
    saveSettings();
    applyLayout();
  });
  $("auto-accept").addEventListener("change", (e) => {
    send({ type: "auto_accept", enabled: e.target.checked });
  });
  wireLanguageSelect($("language"));
  wireMenus();
  document.addEventListener("keydown", onShortcut);
}

async function start() {
  translatePage();
  setBaseTitle(t("console.page_title"));
  initChats(shared);
  initPanels(shared);
  initConsult({ ...shared, alertText });
  initMonitor(shared);
  wireHeader();
  wireQueue();
  applyLayout();
  const [profile, standard] = await Promise.all([
    loadJson("/console/api/me"), loadJson("/console/api/standard-texts"),
  ]);
  me = profile ?? me; // without the API (an older server) the console still chats
  texts = standard?.texts ?? [];
  $("supervision").hidden = !me.supervisor;
  revealNav(me.role);
  connect();
  setInterval(() => send({ type: "wellbeing" }, { quiet: true }), WELLBEING_CHECK_MS);
}

start();
