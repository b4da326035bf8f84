/* Callback work list: JSON over fetch to /console/api/callbacks. The list never holds a phone
   number; claiming a request (only inside one of its windows) shows it to this counsellor, after
   the alias to ask for and what to say if someone else answers (read before dialling).
   One language at a time (staff-i18n.js). */
import {
  addStrings, lang, locale, t, translatePage, wireLanguageSelect,
} from "/design/staff-i18n.js";
import { revealNav, wireMenus } from "/design/staff-ui.js";
import { STRINGS } from "./console-strings.js";
import { describe } from "./console-describe.js";
const $ = (id) => document.getElementById(id);
const REFRESH_MS = 15000;
let me = null; // {user, name, role, csrf}
let zone = "Europe/Stockholm";
let claimedId = null;

addStrings({
  sv: {
    "callbacks.page_title": "Återuppringningar – Nexus",
    "callbacks.skip": "Hoppa till arbetslistan",
    "callbacks.overview": "Översikt",
    "callbacks.count_pending": "Väntar", "callbacks.count_due": "Ring nu",
    "callbacks.count_overdue": "Missade", "callbacks.count_completed": "Klara i dag",
    "callbacks.count_failed": "Avslutade utan kontakt i dag",
    "callbacks.to_call": "Att ringa nu", "callbacks.read_first": "Läs innan du ringer",
    "callbacks.ask_for": "Fråga först efter", "callbacks.if_other": "Om någon annan svarar",
    "callbacks.phone": "Telefonnummer", "callbacks.about": "Språk, ämne",
    "callbacks.voicemail": "Röstbrevlåda", "callbacks.say_nexus": "Får säga ”Nexus”",
    "callbacks.attempts": "Försök", "callbacks.message": "Meddelande", "callbacks.outcome": "Utfall",
    "callbacks.reached": "Nådd", "callbacks.no_answer": "Inget svar", "callbacks.not_safe": "Inte säkert",
    "callbacks.wrong_number": "Fel nummer", "callbacks.release": "Släpp utan utfall",
    "callbacks.work_list": "Arbetslista", "callbacks.empty": "Inga förfrågningar.",
    "callbacks.col_status": "Status", "callbacks.col_windows": "Tider", "callbacks.col_attempts": "Försök",
    "callbacks.col_about": "Språk, ämne", "callbacks.col_action": "Åtgärd",
    "callbacks.status_due": "RING NU", "callbacks.status_overdue": "MISSAD",
    "callbacks.status_upcoming": "Kommande", "callbacks.status_expired": "Utgången",
    "callbacks.claim": "Ta och ring", "callbacks.show_again": "Visa igen",
    "callbacks.claimed_by": "Tas av {name}", "callbacks.wait": "Vänta på tiden",
    "callbacks.voicemail_yes": "Ja, får lämna meddelande", "callbacks.voicemail_no": "NEJ – lämna inget meddelande",
    "callbacks.nexus_yes": "Ja", "callbacks.nexus_no": "NEJ – säg inte Nexus",
    "callbacks.error_taken": "En annan rådgivare har redan tagit förfrågan.",
    "callbacks.error_not_due": "Ingen av tiderna pågår nu – ring inte.",
    "callbacks.error_gone": "Förfrågan finns inte längre.",
    "callbacks.error_not_holder": "Du håller inte förfrågan längre – ta den igen.",
    "callbacks.error_csrf": "Sidan är för gammal – ladda om.",
    "callbacks.done_reached": "Klart: numret är raderat.",
    "callbacks.done_failed": "Avslutad utan kontakt: numret är raderat.",
    "callbacks.done_retry": "Inget svar: vi försöker igen i nästa tid.",
  },
  en: {
    "callbacks.page_title": "Callbacks – Nexus",
    "callbacks.skip": "Skip to the work list",
    "callbacks.overview": "Overview",
    "callbacks.count_pending": "Pending", "callbacks.count_due": "Call now",
    "callbacks.count_overdue": "Missed", "callbacks.count_completed": "Completed today",
    "callbacks.count_failed": "Closed without contact today",
    "callbacks.to_call": "To call now", "callbacks.read_first": "Read before you dial",
    "callbacks.ask_for": "Ask for this first", "callbacks.if_other": "If someone else answers",
    "callbacks.phone": "Phone number", "callbacks.about": "Language, topic",
    "callbacks.voicemail": "Voicemail", "callbacks.say_nexus": "May say “Nexus”",
    "callbacks.attempts": "Attempts", "callbacks.message": "Message", "callbacks.outcome": "Outcome",
    "callbacks.reached": "Reached", "callbacks.no_answer": "No answer", "callbacks.not_safe": "Not safe",
    "callbacks.wrong_number": "Wrong number", "callbacks.release": "Release without an outcome",
    "callbacks.work_list": "Work list", "callbacks.empty": "No requests.",
    "callbacks.col_status": "Status", "callbacks.col_windows": "Windows", "callbacks.col_attempts": "Attempts",
    "callbacks.col_about": "Language, topic", "callbacks.col_action": "Action",
    "callbacks.status_due": "CALL NOW", "callbacks.status_overdue": "MISSED",
    "callbacks.status_upcoming": "Upcoming", "callbacks.status_expired": "Expired",
    "callbacks.claim": "Claim and call", "callbacks.show_again": "Show again",
    "callbacks.claimed_by": "Claimed by {name}", "callbacks.wait": "Wait for the window",
    "callbacks.voicemail_yes": "Yes, a message may be left", "callbacks.voicemail_no": "NO – leave no message",
    "callbacks.nexus_yes": "Yes", "callbacks.nexus_no": "NO – do not say Nexus",
    "callbacks.error_taken": "Another counsellor has already claimed the request.",
    "callbacks.error_not_due": "No window is open now – do not call.",
    "callbacks.error_gone": "The request no longer exists.",
    "callbacks.error_not_holder": "You no longer hold the request – claim it again.",
    "callbacks.error_csrf": "The page is too old – reload it.",
    "callbacks.done_reached": "Done: the number is deleted.",
    "callbacks.done_failed": "Closed without contact: the number is deleted.",
    "callbacks.done_retry": "No answer: we try again in the next window.",
  },
});
addStrings(STRINGS); // topics and languages, shared with the console
const ERRORS = new Set(["taken", "not_due", "gone", "not_holder", "csrf"]);
const STATUSES = new Set(["due", "overdue", "upcoming", "expired"]);

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

function fail(error) {
  notice(ERRORS.has(error.message) ? t(`callbacks.error_${error.message}`)
    : t("common.error", { code: error.message }));
}

function span(window) {
  const day = new Intl.DateTimeFormat(locale, {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const clock = new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  return `${day.format(new Date(window.start))}–${clock.format(new Date(window.end))}`;
}

function about(item) {
  return describe({ language: item.language || "sv", topic: item.topic });
}

function say(opening) {
  return opening ? (lang === "en" ? opening.say_en : opening.say_sv) : "";
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
    button.className = item.claimed_by_me ? "small" : "small primary";
    button.textContent = t(item.claimed_by_me ? "callbacks.show_again" : "callbacks.claim");
    button.addEventListener("click", () => claim(item.id));
    return button;
  }
  if (item.claimed_by) return t("callbacks.claimed_by", { name: item.claimed_by });
  return t("callbacks.wait");
}

function renderList(items) {
  const list = $("list");
  list.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    const status = cell(row, STATUSES.has(item.status) ? t(`callbacks.status_${item.status}`) : item.status);
    status.className = `status-cell ${item.status}`;
    const windows = document.createElement("ul");
    for (const window of item.windows) {
      const li = document.createElement("li");
      li.textContent = span(window);
      windows.append(li);
    }
    cell(row, windows);
    cell(row, `${item.attempts} / ${item.max_attempts}`);
    cell(row, about(item));
    cell(row, say(item.opening) || "–");
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
  $("claimed-opening").textContent = say(data.opening);
  $("claimed-about").textContent = about(data);
  $("claimed-voicemail").textContent = t(data.voicemail_ok ? "callbacks.voicemail_yes" : "callbacks.voicemail_no");
  $("claimed-nexus").textContent = t(data.say_nexus_ok ? "callbacks.nexus_yes" : "callbacks.nexus_no");
  $("claimed-attempts").textContent = `${data.attempts} / ${data.max_attempts}`;
  $("claimed-message").textContent = data.message || "–";
  $("claimed").hidden = false;
  $("claimed-title").focus();
}

function hideClaimed() {
  claimedId = null;
  for (const id of ["claimed-phone", "claimed-alias", "claimed-opening", "claimed-about",
    "claimed-message"]) $(id).textContent = "";
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
    notice(t(result.retry ? "callbacks.done_retry" : kind === "reached" ? "callbacks.done_reached"
      : "callbacks.done_failed"));
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
  translatePage();
  document.title = t("callbacks.page_title");
  wireLanguageSelect($("language"));
  wireMenus();
  try { me = await api("/console/api/callbacks/me"); } catch (error) { fail(error); return; }
  $("me").textContent = me.name;
  revealNav(me.role);
  for (const button of document.querySelectorAll("[data-outcome]")) {
    button.addEventListener("click", () => outcome(button.dataset.outcome));
  }
  $("release").addEventListener("click", release);
  $("refresh").addEventListener("click", refresh);
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
