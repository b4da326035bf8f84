"use strict";
/* Supervisor live view: one WebSocket to /ws/supervisor; the server pushes every change. */
const $ = (id) => document.getElementById(id);
const L = window.NexusLabels;
let ws = null;
let retry = 0;
let csrf = "";
let clockOffsetMs = 0; // server time minus this browser's time
let latest = null;
let shownControls = "";

function connect() {
  ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/supervisor`);
  ws.onopen = () => { retry = 0; $("connection").textContent = "Ansluten (connected)"; };
  ws.onmessage = (event) => receive(JSON.parse(event.data));
  ws.onclose = (event) => {
    ws = null;
    if (event.code === 4401) { location.href = "/console/login"; return; }
    $("connection").textContent = "Anslutningen bröts, försöker igen… (reconnecting)";
    setTimeout(connect, Math.min(8000, 500 * 2 ** retry++));
  };
}

function receive(frame) {
  if (frame.type === "hello") {
    csrf = frame.csrf;
    $("me").textContent = frame.name;
  } else if (frame.type === "live") {
    clockOffsetMs = frame.now_ms - Date.now();
    latest = frame;
    render(frame);
  } else if (frame.type === "queue_history") {
    window.NexusCharts.stepChart($("history-chart"), frame.points,
      "Kölängd de senaste timmarna (queue length over the last hours)");
  }
}

function fillList(id, counts, kind) {
  const items = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const list = $(id);
  list.replaceChildren();
  if (items.length === 0) {
    const li = document.createElement("li");
    li.textContent = "Ingen väntar (nobody waiting)";
    list.append(li);
  }
  for (const [code, n] of items) {
    const li = document.createElement("li");
    li.textContent = `${L.name(kind, code)}: ${n}`;
    list.append(li);
  }
}

function cell(text, cls = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function render(f) {
  $("waiting").textContent = f.waiting;
  $("urgent").textContent = f.waiting_urgent;
  $("active").textContent = f.active;
  $("available").textContent = f.available;
  tick();
  fillList("by-topic", f.waiting_by_topic, "topic");
  fillList("by-language", f.waiting_by_language, "language");
  const rows = f.counsellors.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.name), cell(L.name("presence", c.presence), `presence-${c.presence}`),
      cell(`${c.chats} / ${c.capacity}`));
    return tr;
  });
  $("counsellors").replaceChildren(...rows);
  const hands = f.raised_hands.map((h) => {
    const li = document.createElement("li");
    const since = new Date(h.since_ms).toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit" });
    li.textContent = `${h.name} räcker upp handen sedan ${since} (raised hand)`;
    return li;
  });
  $("hands").replaceChildren(...hands);
  const t = f.today;
  $("offered").textContent = t.offered;
  $("answered").textContent = t.answered;
  $("abandoned").textContent = t.abandoned;
  $("median-wait").textContent = t.median_wait ? L.bucket(t.median_wait) : "–";
  const levels = Object.entries(t.service_levels).map(([target, share]) => {
    const li = document.createElement("li");
    const pct = share === null ? "–" : `${Math.round(share * 100)} %`;
    li.textContent = `Besvarade inom ${L.bucket(`le_${target}`).replace("≤ ", "")}: ${pct}`;
    return li;
  });
  $("service-levels").replaceChildren(...levels);
  for (const name of ["pending", "due", "overdue"]) {
    $(`cb-${name}`).textContent = f.callbacks ? f.callbacks[name] : "–";
  }
  renderControls(f.controls);
}

function renderControls(c) {
  const state = c.intake_paused ? "Nya chattar är pausade. (Intake is paused.)"
    : "Nya chattar tas emot. (Intake is open.)";
  const day = { open: " Öppet hela dagen i dag. (Open today.)", closed: " Stängt i dag. (Closed today.)" }[c.day_override] ?? "";
  $("control-state").textContent = state + day;
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
  $("longest-wait").textContent = oldest === null ? "–" : L.seconds((Date.now() + clockOffsetMs - oldest) / 1000);
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
    if (!response.ok) { $("control-error").textContent = data.message || data.error; return; }
    renderControls(data.controls);
  } catch {
    $("control-error").textContent = "Kunde inte spara – försök igen. (Could not save.)";
  }
}

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
