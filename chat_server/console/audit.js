/* The audit log page (admins): filter, a table of events newest first, "show older" paging.
   Reads GET /console/api/audit (docs/audit.md); every value is put in the page as text. */
import { addStrings, locale, t, translatePage, wireLanguageSelect } from "/design/staff-i18n.js";
import { showSignedIn } from "/design/staff-ui.js";
import { STRINGS } from "./audit-strings.js";

addStrings(STRINGS);

const form = document.getElementById("filter");
const kindSelect = document.getElementById("kind");
const body = document.querySelector("#events tbody");
const more = document.getElementById("more");
const shown = document.getElementById("shown");
const error = document.getElementById("error");
const timeFormat = new Intl.DateTimeFormat(locale, {
  dateStyle: "short", timeStyle: "medium", timeZone: "Europe/Stockholm",
});
let next = null;
let count = 0;

function query(cursor) {
  const params = new URLSearchParams();
  for (const name of ["since", "until", "kind", "actor"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  if (cursor) params.set("cursor", cursor);
  return `/console/api/audit?${params}`;
}

function who(event) {
  return event.actor === "unknown" ? t("audit.unknown") : event.actor;
}

function concerns(event) {
  const parts = [];
  if (event.target) parts.push(event.target);
  if (event.role) parts.push(t(`audit.role.${event.role}`));
  if (event.alias) parts.push(event.alias);
  if (event.reason) parts.push(t(`audit.reason.${event.reason}`));
  if (event.range) parts.push(t("audit.range", { range: event.range.replace("/", " – ") }));
  return parts.join(", ");
}

function row(event) {
  const tr = document.createElement("tr");
  const time = document.createElement("time");
  time.dateTime = event.at;
  time.textContent = timeFormat.format(new Date(event.at));
  const cells = [
    time,
    t(`audit.kind.${event.kind}`),
    who(event),
    t(`audit.via.${event.via}`),
    t(`audit.outcome.${event.outcome}`),
    concerns(event),
    event.instance ?? "",
  ];
  cells.forEach((value, index) => {
    const td = document.createElement("td");
    if (index === 0) td.className = "when";
    if (value instanceof Node) td.append(value); else td.textContent = value;
    tr.append(td);
  });
  return tr;
}

async function load(cursor) {
  error.textContent = "";
  let answer;
  try {
    const response = await fetch(query(cursor), { credentials: "same-origin" });
    if (response.status === 401) { location.assign("/console/login"); return; }
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error ?? String(response.status));
  } catch (failure) {
    error.textContent = t("audit.failed", { code: failure.message });
    return;
  }
  if (!cursor) { body.replaceChildren(); count = 0; }
  body.append(...answer.events.map(row));
  count += answer.events.length;
  next = answer.next;
  const hadFocus = document.activeElement === more;
  more.hidden = next === null;
  if (hadFocus && more.hidden) shown.focus(); // the button is gone: keep the keyboard's place
  shown.textContent = count === 0 ? t("audit.none")
    : t(next === null ? "audit.shown" : "audit.shown_more", { count });
}

function fillKinds() {
  for (const kind of Object.keys(STRINGS.sv).filter((k) => k.startsWith("audit.kind."))) {
    const option = document.createElement("option");
    option.value = kind.slice("audit.kind.".length);
    option.textContent = t(kind);
    kindSelect.append(option);
  }
}

translatePage();
showSignedIn("admin"); // the server shows this page to admins only
wireLanguageSelect(document.getElementById("lang"));
fillKinds();
form.addEventListener("submit", (event) => { event.preventDefault(); load(null); });
more.addEventListener("click", () => load(next));
load(null);
