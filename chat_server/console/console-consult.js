/* Warm transfer (docs/console.md, "Warm transfer"): the transfer dialog's "Fråga kollegan
   först" sends `consult`; while it is pending the chat shows "Väntar på svar från …" with
   "Avbryt"; the colleague gets a calm card (alias, reason, note, time left) with "Ta emot" /
   "Avböj". Nothing here ever reaches the tab title: attention() only counts. */
import { addStrings, t } from "/design/staff-i18n.js";
import { CONSULT_STRINGS } from "./console-consult-strings.js";
import { attention } from "./console-notify.js";
import { chats } from "./console-chats.js";
import { describe } from "./console-describe.js";

addStrings(CONSULT_STRINGS);

const RESULT_SHOWN_MS = 15000;
const REASONS = ["language", "topic", "capacity", "break", "other"];

const $ = (id) => document.getElementById(id);
let app = null;
const cards = new Map(); // chat_id -> {node, timer}: consults to me
const asking = new Map(); // chat_id -> the "waiting for an answer" line of my chat

export function initConsult(shared) {
  app = shared;
  const section = document.createElement("section");
  section.id = "consults";
  section.className = "card offers";
  section.hidden = true;
  section.setAttribute("aria-labelledby", "consults-title");
  const title = document.createElement("h2");
  title.id = "consults-title";
  title.textContent = t("consult.cards_title");
  const list = document.createElement("ul");
  list.id = "consult-list";
  list.className = "plain";
  list.setAttribute("aria-live", "polite");
  section.append(title, list);
  $("offers").before(section);
  $("transfer-targets").addEventListener("change", showHow);
}

function reasonLabel(code) { return REASONS.includes(code) ? t(`reason.${code}`) : code; }

/* --- the transfer dialog (console-panels.js opens and submits it) ------------------------ */

/** Fresh choices each time the dialog opens: warm first, no note. */
export function resetConsultChoice() {
  const warm = document.querySelector("input[name=transfer-how][value=warm]");
  if (warm) warm.checked = true;
  $("transfer-note").value = "";
  showHow();
}

function showHow() {
  const to = document.querySelector("input[name=transfer-to]:checked")?.value ?? "";
  $("transfer-how").hidden = !to; // back to the queue has nobody to ask
  $("transfer-note-field").hidden = !to;
}

/** Sends `consult` instead of `transfer` when a colleague and "ask first" are chosen;
    true when it did (the dialog then closes as after a transfer). */
export function consultInstead(chatId, to, reason) {
  const how = document.querySelector("input[name=transfer-how]:checked")?.value ?? "warm";
  if (!to || how !== "warm") return false;
  const note = $("transfer-note").value.trim();
  app.send({ type: "consult", chat_id: chatId, to, reason, note });
  return true;
}

/* --- the holder's side ------------------------------------------------------------------- */

function showPending(frame) {
  const chat = chats.get(frame.chat_id);
  if (!chat) return;
  clearPending(frame.chat_id);
  const line = document.createElement("p");
  line.className = "consult-pending small-text";
  line.setAttribute("role", "status");
  const text = document.createElement("span");
  text.textContent = `${t("consult.pending", { name: frame.name || frame.to })} `;
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "small";
  cancel.textContent = t("consult.cancel");
  cancel.addEventListener("click", () => app.send({ type: "consult_cancel", chat_id: frame.chat_id }));
  line.append(text, cancel);
  chat.node.querySelector(".chat-head").after(line);
  asking.set(frame.chat_id, line);
}

function clearPending(chatId) {
  asking.get(chatId)?.remove();
  asking.delete(chatId);
}

function showResult(frame) {
  clearPending(frame.chat_id);
  const text = t(`consult.result.${frame.result}`, { name: frame.name || frame.to });
  app.alertText(text, { urgent: frame.result !== "accepted" && frame.result !== "cancelled" });
  const chat = chats.get(frame.chat_id);
  if (!chat || chat.ended || frame.result === "accepted") return;
  const line = document.createElement("p");
  line.className = "consult-pending small-text";
  line.setAttribute("role", "status");
  line.textContent = text;
  chat.node.querySelector(".chat-head").after(line);
  asking.set(frame.chat_id, line);
  setTimeout(() => { if (asking.get(frame.chat_id) === line) clearPending(frame.chat_id); },
    RESULT_SHOWN_MS);
}

/* --- the colleague's side ---------------------------------------------------------------- */

function showCard(frame) {
  removeCard(frame.chat_id);
  const li = document.createElement("li");
  li.className = "offer consult";
  const title = document.createElement("b");
  title.textContent = frame.alias;
  const about = document.createElement("span");
  about.textContent = ` ${describe(frame)}`;
  const from = document.createElement("p");
  from.textContent = t("consult.card_from", { name: frame.name, reason: reasonLabel(frame.reason) });
  li.append(title, about, from);
  if (frame.note) {
    const note = document.createElement("p");
    note.className = "consult-note";
    note.textContent = t("consult.card_note", { note: frame.note });
    li.append(note);
  }
  const clock = document.createElement("p");
  clock.className = "countdown small-text";
  clock.setAttribute("aria-hidden", "true"); // a ticking number is not read out
  const take = document.createElement("button");
  take.type = "button";
  take.className = "primary small";
  take.textContent = t("consult.take");
  take.addEventListener("click", () => {
    if (app.send({ type: "consult_answer", chat_id: frame.chat_id, accept: true })) app.expectChat();
  });
  const decline = document.createElement("button");
  decline.type = "button";
  decline.className = "small";
  decline.textContent = t("consult.decline");
  decline.addEventListener("click", () => {
    app.send({ type: "consult_answer", chat_id: frame.chat_id, accept: false });
  });
  const row = document.createElement("div");
  row.className = "button-row";
  row.append(take, decline);
  li.append(clock, row);
  const deadline = Date.now() + (frame.expires_in_s ?? 60) * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    clock.textContent = t("consult.time_left", { seconds: left });
    if (left === 0) removeCard(frame.chat_id);
  };
  tick();
  cards.set(frame.chat_id, { node: li, timer: setInterval(tick, 1000) });
  $("consult-list").append(li);
  $("consults").hidden = false;
  app.alertText(t("consult.request_alert", { name: frame.name }));
  attention("offer");
}

function removeCard(chatId) {
  const card = cards.get(chatId);
  if (!card) return;
  clearInterval(card.timer);
  card.node.remove();
  cards.delete(chatId);
  $("consults").hidden = cards.size === 0;
}

/** Handles the consult frames; true when `frame` was one. */
export function receiveConsult(frame) {
  switch (frame.type) {
    case "consult_sent": showPending(frame); return true;
    case "consult_result": showResult(frame); return true;
    case "consult_request": showCard(frame); return true;
    case "consult_withdrawn": removeCard(frame.chat_id); clearPending(frame.chat_id); return true;
    default: return false;
  }
}
