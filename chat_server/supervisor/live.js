/* Supervisor live view: one WebSocket to /ws/supervisor; the server pushes every change. */
import { clockTime, t, translatePage, wireLanguageSelect } from "/design/staff-i18n.js";
import { revealNav } from "/design/staff-ui.js";
import { stepChart } from "./charts.js";
import { bucket, codeName, levelRows, seconds, serverMessage } from "./labels.js";

const $ = (id) => document.getElementById(id);
let ws = null;
let retry = 0;
let csrf = "";
let clockOffsetMs = 0; // server time minus this browser's time
let latest = null;
let shownControls = "";
let shownHands = "";

function connect() {
  ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/supervisor`);
  ws.onopen = () => { retry = 0; $("connection").textContent = t("live.connected"); };
  ws.onmessage = (event) => receive(JSON.parse(event.data));
  ws.onclose = (event) => {
    ws = null;
    if (event.code === 4401) { location.href = "/console/login"; return; }
    $("connection").textContent = t("common.reconnecting");
    setTimeout(connect, Math.min(8000, 500 * 2 ** retry++));
  };
}

function receive(frame) {
  if (frame.type === "hello") {
    csrf = frame.csrf;
    $("me").textContent = frame.name;
    revealNav(frame.role);
  } else if (frame.type === "live") {
    clockOffsetMs = frame.now_ms - Date.now();
    latest = frame;
    render(frame);
  } else if (frame.type === "queue_history") {
    stepChart($("history-chart"), frame.points, t("live.history"));
  }
}

function cell(text, cls = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
}

/* A count table, largest first; an empty queue says so in a full-width row. */
function fillCounts(id, counts, kind) {
  const items = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (items.length === 0) {
    const empty = cell(t("live.nobody_waiting"), "muted");
    empty.colSpan = 2;
    $(id).replaceChildren(row(empty));
    return;
  }
  $(id).replaceChildren(...items.map(([code, n]) => row(cell(codeName(kind, code)), cell(String(n), "num count"))));
}

function render(f) {
  $("waiting").textContent = f.waiting;
  $("urgent").textContent = f.waiting_urgent;
  $("active").textContent = f.active;
  $("available").textContent = f.available;
  $("free-seats").textContent = f.counsellors
    .filter((c) => c.presence === "available")
    .reduce((sum, c) => sum + Math.max(0, c.capacity - c.chats), 0);
  tick();
  fillCounts("by-topic", f.waiting_by_topic, "topic");
  fillCounts("by-language", f.waiting_by_language, "language");
  const rows = f.counsellors.map((c) => row(cell(c.name),
    cell(codeName("presence", c.presence), `presence presence-${c.presence}`),
    cell(t("live.chats_of", { chats: c.chats, capacity: c.capacity }),
      `num count${c.chats >= c.capacity ? " full" : ""}`)));
  if (rows.length === 0) {
    const empty = cell(t("live.no_counsellors"), "muted");
    empty.colSpan = 3;
    rows.push(row(empty));
  }
  $("counsellors").replaceChildren(...rows);
  renderHands(f.raised_hands);
  const today = f.today;
  $("offered").textContent = today.offered;
  $("answered").textContent = today.answered;
  $("abandoned").textContent = today.abandoned;
  $("median-wait").textContent = today.median_wait ? bucket(today.median_wait) : "–";
  $("service-levels").replaceChildren(...levelRows(today.service_levels));
  for (const name of ["pending", "due", "overdue"]) {
    $(`cb-${name}`).textContent = f.callbacks ? f.callbacks[name] : "–";
  }
  renderControls(f.controls);
}

/* Only when the hands change: the list is an assertive live region, and rewriting it on every
   live frame would make a screen reader repeat it. */
function renderHands(raised) {
  const key = JSON.stringify(raised);
  if (key === shownHands) return;
  shownHands = key;
  const hands = raised.map((h) => {
    const li = document.createElement("li");
    li.className = "alert urgent";
    const words = { name: h.name, clock: clockTime(h.since_ms), alias: h.alias };
    li.textContent = t(h.alias ? "live.hand_since_chat" : "live.hand_since", words);
    return li;
  });
  if (hands.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = t("live.no_hands");
    hands.push(li);
  }
  $("hands").replaceChildren(...hands);
}

function renderControls(c) {
  const state = c.intake_paused ? t("live.intake_paused") : t("live.intake_open");
  const day = { open: t("live.day_open_state"), closed: t("live.day_closed_state") }[c.day_override] ?? "";
  if ($("control-state").textContent !== state + day) $("control-state").textContent = state + day;
  $("control-state").className = c.intake_paused ? "paused" : "";
  const key = JSON.stringify(c);
  if (key === shownControls) return;
  shownControls = key;
  const set = (id, value) => { if (document.activeElement !== $(id)) $(id).value = value; };
  set("pause-sv", c.pause_message_sv);
  set("pause-en", c.pause_message_en);
  set("notice-sv", c.notice_sv);
  set("notice-en", c.notice_en);
  for (const radio of document.querySelectorAll('input[name="day"]')) radio.checked = radio.value === c.day_override;
}

function tick() {
  if (!latest) return;
  const oldest = latest.oldest_enqueued_ms;
  $("longest-wait").textContent = oldest === null ? "–" : seconds((Date.now() + clockOffsetMs - oldest) / 1000);
}

async function post(path, body) {
  $("control-error").textContent = "";
  try {
    const response = await fetch(`/supervisor/api/controls/${path}`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) { $("control-error").textContent = serverMessage(data.message) || data.error; return; }
    renderControls(data.controls);
  } catch {
    $("control-error").textContent = t("live.save_failed");
  }
}

translatePage();
wireLanguageSelect($("lang"));
$("intake-form").addEventListener("submit", (event) => {
  event.preventDefault();
  post("intake", { paused: true, message_sv: $("pause-sv").value, message_en: $("pause-en").value });
});
$("resume-button").addEventListener("click", () => post("intake", { paused: false }));
$("notice-form").addEventListener("submit", (event) => {
  event.preventDefault();
  post("notice", { sv: $("notice-sv").value, en: $("notice-en").value });
});
$("notice-clear").addEventListener("click", () => {
  $("notice-sv").value = ""; $("notice-en").value = "";
  post("notice", { sv: "", en: "" });
});
$("day-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const chosen = document.querySelector('input[name="day"]:checked');
  post("day", { override: chosen ? chosen.value : "" });
});
setInterval(tick, 1000);
connect();
