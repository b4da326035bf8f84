"use strict";
/* Statistics page: fetch the report for a date range and draw it; every cell is already
   suppressed by the server ("<5", "x"), so nothing here can reveal a small count. */
const $ = (id) => document.getElementById(id);
const L = window.NexusLabels;
const C = window.NexusCharts;

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

/* Fields of the report's total starting with `prefix:`, as chart items in report order. */
function group(total, prefix, label) {
  return Object.keys(total).filter((f) => f.startsWith(`${prefix}:`))
    .map((f) => ({ label: label(f.slice(prefix.length + 1)), cell: total[f] }));
}

function nonZero(items) {
  const shown = items.filter((item) => item.cell !== 0);
  return shown.length ? shown : items.slice(0, 1);
}

function draw(report) {
  const t = report.total;
  $("s-offered").textContent = C.cellText(t.chats_offered);
  $("s-answered").textContent = C.cellText(t.chats_answered);
  $("s-abandoned").textContent = C.cellText(t.chats_abandoned);
  $("s-feedback").textContent = C.cellText(t.feedback_responses);
  $("s-median").textContent = report.median_wait ? L.bucket(report.median_wait) : "–";
  $("s-levels").replaceChildren(...Object.entries(report.service_levels).map(([target, share]) => {
    const li = document.createElement("li");
    const pct = share === null ? "– (för få chattar / too few chats)" : `${Math.round(share * 100)} %`;
    li.textContent = `Servicenivå, besvarade inom ${L.bucket(`le_${target}`).replace("≤ ", "")}: ${pct}`;
    return li;
  }));
  C.columnChart($("chart-weeks"), report.weeks.map((w) => w.week.replace(/^\d{4}-W/, "v. ")), [
    { name: "Besvarade (answered)", cls: "answered", cells: report.weeks.map((w) => w.chats_answered) },
    { name: "Avbrutna (abandoned)", cls: "abandoned", cells: report.weeks.map((w) => w.chats_abandoned) },
  ], "Chattar per vecka (chats per week)");
  C.barChart($("chart-wait"), group(t, "wait", (b) => L.bucket(b)), "Väntetid till svar (wait)");
  C.barChart($("chart-topics"), group(t, "topic", (c) => L.name("topic", c)), "Ämnen (topics)");
  C.barChart($("chart-languages"), nonZero(group(t, "language", (c) => L.name("language", c))),
    "Språk (languages)");
  const outcome = (code) => (report.labels[code] ? report.labels[code][0] : L.name("topic", code));
  C.barChart($("chart-outcomes"), nonZero(group(t, "outcome", outcome)), "Resultat (outcomes)");
  C.barChart($("chart-helped"), group(t, "feedback:helped", (s) => (s === "other" ? "ogiltigt" : s)),
    "Fick du den hjälp du behövde? (did you get the help you needed?)");
  const again = { yes: "Ja (yes)", no: "Nej (no)", unsure: "Vet inte (unsure)", other: "ogiltigt" };
  C.barChart($("chart-again"), group(t, "feedback:contact_again", (a) => again[a] ?? a),
    "Skulle du kontakta oss igen? (would you contact us again?)");
  C.barChart($("chart-callbacks"), [
    { label: "Begärda (requested)", cell: t.callbacks_requested },
    { label: "Genomförda (completed)", cell: t.callbacks_completed },
    { label: "Misslyckade (failed)", cell: t.callbacks_failed },
    { label: "Nytt försök (retry)", cell: t.callbacks_retry },
    { label: "Avbokade (cancelled)", cell: t.callbacks_cancelled },
    { label: "Utgångna (expired)", cell: t.callbacks_expired },
  ], "Återuppringningar (callbacks)");
  const hours = group(t, "offered_by_hour", (h) => h);
  C.columnChart($("chart-hours"), hours.map((h) => h.label),
    [{ name: "Chattar (chats)", cls: "answered", cells: hours.map((h) => h.cell) }],
    "Chattar per timme (chats by hour of day)");
}

async function load() {
  const start = $("start").value, end = $("end").value;
  const query = `start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`;
  $("csv-link").href = `/supervisor/api/stats.csv?${query}`;
  $("range-error").textContent = "";
  try {
    const response = await fetch(`/supervisor/api/stats?${query}`, { credentials: "same-origin" });
    if (response.status === 401) { location.href = "/console/login"; return; }
    const data = await response.json();
    if (!response.ok) { $("range-error").textContent = data.message || data.error; return; }
    draw(data);
  } catch {
    $("range-error").textContent = "Kunde inte hämta statistiken. (Could not load the statistics.)";
  }
}

const today = new Date();
$("end").value = isoDay(today);
$("start").value = isoDay(new Date(today.getTime() - 27 * 86400000));
$("range-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
load();
