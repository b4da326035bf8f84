/* Statistics page: fetch the report for a date range and draw it; every cell is already
   suppressed by the server ("<5", "x"), so nothing here can reveal a small count. */
import { lang, t, translatePage, wireLanguageSelect } from "/design/staff-i18n.js";
import { showSignedIn } from "/design/staff-ui.js";
import { barChart, cellText, columnChart } from "./charts.js";
import { bucket, codeName, levelRows, serverMessage } from "./labels.js";

const $ = (id) => document.getElementById(id);

/* Fields of the report's total starting with `prefix:`, as chart items in report order. */
function group(total, prefix, label) {
  return Object.keys(total).filter((f) => f.startsWith(`${prefix}:`))
    .map((f) => ({ label: label(f.slice(prefix.length + 1)), cell: total[f] }));
}

function nonZero(items) {
  const shown = items.filter((item) => item.cell !== 0);
  return shown.length ? shown : items.slice(0, 1);
}

/* One chart per survey question, in the survey's order, then any question found in the
   counts that the survey no longer asks (under its id). */
function drawSurvey(total, questions) {
  const box = $("survey-charts");
  box.replaceChildren();
  const inData = new Set(Object.keys(total).filter((f) => f.startsWith("feedback:"))
    .map((f) => f.split(":")[1]));
  const answerName = (question, value) => {
    if (value === "other") return t("stats.invalid_answer");
    const answer = question?.answers.find((a) => a.value === value);
    if (answer?.text) return answer.text[lang] ?? answer.text.sv;
    return question?.kind === "yes_no" ? t(`stats.answer.${value}`) : value;
  };
  const chart = (id, heading, question) => {
    const title = document.createElement("h3");
    title.textContent = heading;
    const container = document.createElement("div");
    container.id = `chart-survey-${id}`;
    container.className = "chart-box";
    box.append(title, container);
    const values = question ? question.answers.map((a) => a.value) : [];
    const fields = Object.keys(total).filter((f) => f.startsWith(`feedback:${id}:`))
      .map((f) => f.slice(`feedback:${id}:`.length)).filter((v) => !values.includes(v));
    const items = [...values, ...fields].filter((v) => `feedback:${id}:${v}` in total)
      .map((v) => ({ label: answerName(question, v), cell: total[`feedback:${id}:${v}`] }));
    barChart(container, items, heading);
  };
  for (const question of questions) chart(question.id, question.text[lang] ?? question.text.sv, question);
  for (const id of inData) {
    if (!questions.some((q) => q.id === id)) chart(id, t("stats.old_question", { id }), null);
  }
}

function draw(report) {
  const total = report.total;
  $("range-shown").textContent = t("stats.shown", { start: report.start, end: report.end, days: report.days });
  $("s-offered").textContent = cellText(total.chats_offered);
  $("s-answered").textContent = cellText(total.chats_answered);
  $("s-abandoned").textContent = cellText(total.chats_abandoned);
  $("s-feedback").textContent = cellText(total.feedback_responses);
  $("s-median").textContent = report.median_wait ? bucket(report.median_wait) : "–";
  $("s-levels").replaceChildren(...levelRows(report.service_levels));
  const weeks = report.weeks;
  columnChart($("chart-weeks"), weeks.map((w) => t("stats.week", { week: Number(w.week.slice(-2)) })), [
    { name: t("stats.ended"), cls: "offered", cells: weeks.map((w) => w.chats_offered) },
    { name: t("stats.answered"), cls: "answered", cells: weeks.map((w) => w.chats_answered) },
    { name: t("stats.abandoned"), cls: "abandoned", cells: weeks.map((w) => w.chats_abandoned) },
  ], t("stats.weeks"));
  barChart($("chart-wait"), group(total, "wait", bucket), t("stats.wait"));
  barChart($("chart-topics"), group(total, "topic", (c) => codeName("topic", c)), t("stats.topics"));
  barChart($("chart-languages"), nonZero(group(total, "language", (c) => codeName("language", c))),
    t("stats.languages"));
  const which = lang === "en" ? 1 : 0;
  const outcome = (code) => (report.labels[code] ? report.labels[code][which] : codeName("topic", code));
  barChart($("chart-outcomes"), nonZero(group(total, "outcome", outcome)), t("stats.outcomes"));
  drawSurvey(total, report.survey ?? []);
  barChart($("chart-callbacks"), ["requested", "completed", "failed", "retry", "cancelled", "expired"]
    .map((name) => ({ label: t(`stats.cb_${name}`), cell: total[`callbacks_${name}`] })), t("stats.callbacks"));
  const hours = group(total, "offered_by_hour", (h) => h);
  columnChart($("chart-hours"), hours.map((h) => h.label),
    [{ name: t("stats.hours_series"), cls: "answered", cells: hours.map((h) => h.cell) }], t("stats.hours"));
}

// The first view asks for the server's default range (four weeks to the service's today, in
// its time zone); the fields then show it. The browser's clock may be on another day.
async function load(first = false) {
  const start = $("start").value, end = $("end").value;
  const query = first ? "" : `start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`;
  $("csv-link").href = `/supervisor/api/stats.csv?${query}`;
  $("range-error").textContent = "";
  try {
    const response = await fetch(`/supervisor/api/stats?${query}`, { credentials: "same-origin" });
    if (response.status === 401) { location.href = "/console/login"; return; }
    const data = await response.json();
    if (!response.ok) { $("range-error").textContent = serverMessage(data.message) || data.error; return; }
    $("start").value = data.start;
    $("end").value = data.end;
    $("csv-link").href = `/supervisor/api/stats.csv?start=${data.start}&end=${data.end}`;
    draw(data);
    document.body.dataset.drawn = `${data.start}/${data.end}`;
  } catch {
    $("range-error").textContent = t("stats.load_failed");
  }
}

translatePage();
wireLanguageSelect($("lang"));
$("range-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
$("print-button").addEventListener("click", () => window.print());
load(true);
showSignedIn("supervisor");
