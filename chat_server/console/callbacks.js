"use strict";
/* Callback work list: JSON over fetch to /console/api/callbacks. The list never holds a phone
   number; claiming a request (only inside one of its windows) shows it to this counsellor, after
   the alias to ask for and what to say if someone else answers (read before dialling). */
const $ = (id) => document.getElementById(id);
const REFRESH_MS = 15000;
let me = null; // {user, name, role, csrf}
let zone = "Europe/Stockholm";
let claimedId = null;

const STATUS = {
  due: "RING NU (due now)",
  overdue: "MISSAD (overdue)",
  upcoming: "Kommande (upcoming)",
  expired: "Utgången (expired)",
};
const TOPICS = {
  violence_close: "Våld i nära relation (violence, close relationship)",
  honour: "Hedersrelaterat (honour-related)",
  sex_for_compensation: "Sex mot ersättning (sex for compensation)",
  older_person: "Våld mot äldre (older person)",
  worried_other: "Orolig för någon annan (worried about someone)",
  professional: "Yrkesroll (professional)",
  other: "Annat (other)",
};
const ERRORS = {
  taken: "En annan rådgivare har redan tagit förfrågan. (Someone else has it.)",
  not_due: "Ingen av tiderna pågår nu – ring inte. (Not inside a window: do not call.)",
  gone: "Förfrågan finns inte längre. (The request no longer exists.)",
  not_holder: "Du håller inte förfrågan längre – ta den igen. (Your claim has expired.)",
  csrf: "Sidan är för gammal – ladda om. (Reload the page.)",
};
const OUTCOME_DONE = {
  reached: "Klart: numret är raderat. (Done: the number is deleted.)",
  failed: "Avslutad utan kontakt: numret är raderat. (Closed: the number is deleted.)",
  retry: "Inget svar: vi försöker igen i nästa tid. (No answer: retry in the next window.)",
};

function notice(text) { $("notice").textContent = text; }

async function api(path, body) {
  const init = { credentials: "same-origin" };
  if (body !== undefined) {
    init.method = "POST";
    init.headers = { "Content-Type": "application/json", "X-CSRF-Token": me.csrf };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) { location.href = "/console/login"; throw new Error("sign_in"); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || String(response.status));
  return data;
}

function fail(error) { notice(ERRORS[error.message] || `Fel (error): ${error.message}`); }

function span(window) {
  const day = new Intl.DateTimeFormat("sv-SE", {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const clock = new Intl.DateTimeFormat("sv-SE", { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  return `${day.format(new Date(window.start))}–${clock.format(new Date(window.end))}`;
}

function about(item) {
  return `${item.language || "sv"}${item.topic ? ` · ${TOPICS[item.topic] || item.topic}` : ""}`;
}

function cell(row, content) {
  const td = document.createElement("td");
  if (typeof content === "string") td.textContent = content; else td.append(content);
  row.append(td);
  return td;
}

function actionFor(item) {
  if (item.claimed_by_me || (!item.claimed_by && item.status === "due")) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = item.claimed_by_me ? "Visa igen (show again)" : "Ta och ring (claim)";
    button.addEventListener("click", () => claim(item.id));
    return button;
  }
  if (item.claimed_by) return `Tas av ${item.claimed_by} (claimed)`;
  return "Vänta på tiden (wait for the window)";
}

function renderList(items) {
  const list = $("list");
  list.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    const status = cell(row, STATUS[item.status] || item.status);
    status.className = item.status === "due" || item.status === "overdue" ? "error" : "";
    const windows = document.createElement("ul");
    for (const window of item.windows) {
      const li = document.createElement("li");
      li.textContent = span(window);
      windows.append(li);
    }
    cell(row, windows);
    cell(row, `${item.attempts} / ${item.max_attempts}`);
    cell(row, about(item));
    cell(row, item.opening ? item.opening.say_sv : "–");
    cell(row, actionFor(item));
    list.append(row);
  }
  $("empty").hidden = items.length > 0;
}

async function refresh() {
  try {
    const [list, counts] = await Promise.all([
      api("/console/api/callbacks"), api("/console/api/callbacks/counts"),
    ]);
    zone = list.tz;
    renderList(list.items);
    $("count-pending").textContent = counts.pending;
    $("count-due").textContent = counts.due;
    $("count-overdue").textContent = counts.overdue;
    $("count-completed").textContent = counts.completed_today;
    $("count-failed").textContent = counts.failed_today;
  } catch (error) { fail(error); }
}

function showClaimed(data) {
  claimedId = data.id;
  const phone = $("claimed-phone");
  phone.textContent = data.phone_display;
  phone.href = `tel:${data.phone}`;
  $("claimed-alias").textContent = data.alias;
  $("claimed-opening").textContent = data.opening ? data.opening.say_sv : "";
  $("claimed-opening-en").textContent = data.opening ? `(${data.opening.say_en})` : "";
  $("claimed-about").textContent = about(data);
  $("claimed-voicemail").textContent = data.voicemail_ok ? "Ja, får lämna meddelande (yes)" : "NEJ – lämna inget meddelande (no)";
  $("claimed-nexus").textContent = data.say_nexus_ok ? "Ja (yes)" : "NEJ – säg inte Nexus (no)";
  $("claimed-attempts").textContent = `${data.attempts} / ${data.max_attempts}`;
  $("claimed-message").textContent = data.message || "–";
  $("claimed").hidden = false;
  $("claimed-title").focus();
}

function hideClaimed() {
  claimedId = null;
  for (const id of ["claimed-phone", "claimed-alias", "claimed-opening", "claimed-opening-en",
    "claimed-about", "claimed-message"]) $(id).textContent = "";
  $("claimed-phone").href = "#";
  $("claimed").hidden = true;
}

async function claim(id) {
  try {
    showClaimed(await api(`/console/api/callbacks/${id}/claim`, {}));
    notice("");
  } catch (error) { fail(error); }
  refresh();
}

async function outcome(kind) {
  if (!claimedId) return;
  try {
    const result = await api(`/console/api/callbacks/${claimedId}/outcome`, { outcome: kind });
    hideClaimed();
    notice(result.retry ? OUTCOME_DONE.retry : kind === "reached" ? OUTCOME_DONE.reached : OUTCOME_DONE.failed);
  } catch (error) {
    fail(error);
    if (error.message === "gone") hideClaimed();
  }
  refresh();
}

async function release() {
  if (!claimedId) return;
  try { await api(`/console/api/callbacks/${claimedId}/release`, {}); } catch (error) { fail(error); }
  hideClaimed();
  refresh();
}

async function start() {
  try { me = await api("/console/api/callbacks/me"); } catch (error) { fail(error); return; }
  $("me").textContent = me.name;
  for (const button of document.querySelectorAll("[data-outcome]")) {
    button.addEventListener("click", () => outcome(button.dataset.outcome));
  }
  $("release").addEventListener("click", release);
  $("refresh").addEventListener("click", refresh);
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
