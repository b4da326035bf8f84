/* The side panels: offers with a countdown, the queue, supervision (questions and raised
   hands), the break suggestion, the transfer dialog and short alerts. */
import { clockTime, duration, t } from "/design/staff-i18n.js";
import { attention } from "./console-notify.js";
import { chats, showAsk } from "./console-chats.js";
import { describe } from "./console-describe.js";
import { consultInstead, resetConsultChoice } from "./console-consult.js";

const ALERT_MS = 15000;
const REASONS = ["language", "topic", "capacity", "break", "other"];

const $ = (id) => document.getElementById(id);
let app = null;
const offers = new Map(); // chat_id -> {node, timer}
const threads = new Map(); // chat_id -> thread node (supervisors)
let transferChatId = "";

export function initPanels(shared) {
  app = shared;
  $("transfer-form").addEventListener("submit", onTransferSubmit);
  $("break-back").addEventListener("click", () => { app.send({ type: "break_over" }); hideBreak(); });
  $("break-skip").addEventListener("click", () => {
    app.send({ type: "presence", presence: "available" });
    hideBreak();
  });
}

export function alertText(text, { urgent = false } = {}) {
  const item = document.createElement("p");
  item.className = urgent ? "alert urgent" : "alert";
  item.textContent = text;
  $("alerts").append(item);
  setTimeout(() => item.remove(), ALERT_MS);
}

/* --- queue -------------------------------------------------------------------------------- */

// The queue frame lists the first QUEUE_PAGE chats; "Visa fler" asks for the next page with
// queue_page, and the pages asked for are asked again after each queue frame.
const QUEUE_PAGE = 50;
let extraPages = 0;

function queueRow(item) {
  const li = document.createElement("li");
  li.className = item.urgent ? "queue-row urgent" : "queue-row";
  const about = describe(item);
  const text = document.createElement("span");
  text.className = "queue-text";
  text.textContent = `${item.alias} · ${duration(item.waited_s)}${about ? ` · ${about}` : ""}`;
  li.append(text);
  const take = document.createElement("button");
  take.type = "button";
  take.className = "small";
  take.textContent = t("console.take");
  take.setAttribute("aria-label", t("console.take_alias", { alias: item.alias }));
  take.addEventListener("click", () => {
    if (app.send({ type: "take", chat_id: item.chat_id })) app.expectChat();
  });
  li.append(take);
  return li;
}

function showMore(waiting) {
  const shown = $("queue-list").children.length;
  $("queue-more").hidden = shown >= waiting;
  $("queue-more").textContent = t("console.queue_more", { count: waiting - shown });
}

export function renderQueue(frame) {
  $("waiting").textContent = frame.waiting;
  const urgent = frame.chats.filter((c) => c.urgent).length;
  const longest = frame.chats.reduce((m, c) => Math.max(m, c.waited_s), 0);
  $("queue-summary").textContent = frame.waiting
    ? t("console.queue_longest", { time: duration(longest) })
      + (urgent ? ` · ${t("console.queue_urgent", { count: urgent })}` : "")
    : t("console.queue_empty");
  $("take-next").disabled = frame.waiting === 0;
  $("queue-list").replaceChildren(...frame.chats.map(queueRow));
  showMore(frame.waiting);
  for (let page = 1; page <= extraPages && page * QUEUE_PAGE < frame.waiting; page++) {
    app.send({ type: "queue_page", offset: page * QUEUE_PAGE });
  }
}

export function renderQueuePage(frame) {
  const list = $("queue-list");
  if (frame.offset !== list.children.length) return; // a page of an older queue frame
  list.append(...frame.chats.map(queueRow));
  showMore(frame.waiting);
}

export function wireQueue() {
  $("queue-more").addEventListener("click", () => {
    extraPages += 1;
    app.send({ type: "queue_page", offset: $("queue-list").children.length });
  });
}

/* --- offers ------------------------------------------------------------------------------- */

export function showOffer(frame) {
  removeOffer(frame.chat_id);
  const li = document.createElement("li");
  li.className = `offer${frame.urgent ? " urgent" : ""}`;
  const title = document.createElement("b");
  title.textContent = frame.alias;
  const about = document.createElement("span");
  about.textContent = ` ${describe(frame)} `;
  const clock = document.createElement("span");
  clock.className = "countdown";
  clock.setAttribute("aria-hidden", "true");
  const accept = document.createElement("button");
  accept.type = "button";
  accept.className = "primary small";
  accept.textContent = t("console.accept");
  accept.addEventListener("click", () => {
    if (app.send({ type: "accept", chat_id: frame.chat_id })) app.expectChat();
  });
  const decline = document.createElement("button");
  decline.type = "button";
  decline.className = "small";
  decline.textContent = t("console.decline");
  decline.addEventListener("click", () => app.send({ type: "decline", chat_id: frame.chat_id }));
  li.append(title, about, clock, accept, decline);
  const deadline = Date.now() + (frame.expires_in_s ?? 30) * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    clock.textContent = `${left} s`;
    if (left === 0) removeOffer(frame.chat_id);
  };
  tick();
  offers.set(frame.chat_id, { node: li, timer: setInterval(tick, 1000) });
  $("offer-list").append(li);
  $("offers").hidden = false;
  alertText(t("console.offer_alert", { alias: frame.alias, seconds: frame.expires_in_s ?? 30 }));
  attention("offer");
}

/** Accept the oldest offer, if there is one (Alt+N); true when one was accepted. */
export function acceptFirstOffer() {
  const first = offers.keys().next();
  if (first.done) return false;
  return app.send({ type: "accept", chat_id: first.value });
}

export function removeOffer(chatId, reason = "") {
  const offer = offers.get(chatId);
  if (!offer) return;
  clearInterval(offer.timer);
  offer.node.remove();
  offers.delete(chatId);
  $("offers").hidden = offers.size === 0;
  if (reason === "timeout") {
    alertText(t("console.offer_timeout"));
  }
}

/* --- supervision ------------------------------------------------------------------------ */

function clearEmpty(holder) { holder.querySelector(".empty")?.remove(); }

function threadFor(frame) {
  if (threads.has(frame.chat_id)) return threads.get(frame.chat_id);
  const node = $("thread-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".thread-title").textContent =
    `${frame.alias || t("console.chat")} – ${frame.counsellor_name || frame.counsellor || frame.name}`;
  node.querySelector(".reply-send").addEventListener("click", () => {
    const area = node.querySelector(".reply-text");
    const text = area.value.trim();
    if (text && app.send({ type: "backchannel", chat_id: frame.chat_id, text })) area.value = "";
  });
  clearEmpty($("threads"));
  $("threads").prepend(node);
  threads.set(frame.chat_id, node);
  return node;
}

function entryLine(entry) {
  const li = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = entry.name;
  const text = document.createElement("span");
  text.textContent = entry.text;
  li.append(who, ": ", text);
  return li;
}

export function receiveBackchannel(frame) {
  const mine = chats.get(frame.chat_id);
  if (mine) showAsk(mine, [frame], true);
  if (app.me().supervisor) {
    threadFor(frame).querySelector(".ask-log").append(entryLine(frame));
  }
  if (frame.from !== app.me().user) {
    const text = mine ? t("console.answer_from", { name: frame.name, alias: frame.alias })
      : t("console.question_from", { name: frame.name, alias: frame.alias });
    alertText(`${text}: ”${frame.text}”`);
    attention(mine ? "answer" : "hand");
  }
}

export function receiveBackchannelHistory(frame) {
  const mine = chats.get(frame.chat_id);
  if (mine) showAsk(mine, frame.entries, false);
  if (app.me().supervisor && threads.has(frame.chat_id)) {
    const log = threads.get(frame.chat_id).querySelector(".ask-log");
    log.replaceChildren(...frame.entries.map(entryLine));
  }
}

export function receiveHand(frame) {
  if (frame.type === "hand_raised") {
    if (!app.me().supervisor) return;
    const li = document.createElement("li");
    li.dataset.user = frame.user;
    const text = document.createElement("span");
    text.textContent = t(frame.alias ? "console.hand_raised_chat" : "console.hand_raised",
      { name: frame.name, alias: frame.alias, time: clockTime(frame.ts) });
    const answer = document.createElement("button");
    answer.type = "button";
    answer.className = "small primary";
    answer.textContent = t("console.hand_coming");
    li.append(text);
    answer.addEventListener("click", () => app.send({ type: "hand_answer", user: frame.user }));
    li.append(answer);
    clearEmpty($("hands"));
    $("hands").append(li);
    attention("hand");
  } else if (frame.type === "hand_answered") {
    if (frame.user === app.me().user) {
      alertText(t("console.hand_answered", { name: frame.name }), { urgent: true });
      attention("answer");
    }
    for (const li of $("hands").querySelectorAll(`li[data-user="${CSS.escape(frame.user)}"]`)) li.remove();
  } else if (frame.type === "hand_sent") {
    alertText(t("console.hand_sent"));
  }
}

/* --- wellbeing -------------------------------------------------------------------------- */

export function showBreak(frame) {
  $("break-text").textContent = frame.reason === "chats"
    ? t("console.break_chats", { count: frame.chats })
    : t("console.break_hours", { hours: Math.round(frame.minutes / 6) / 10 });
  $("break-card").hidden = false;
  attention("break");
}

function hideBreak() { $("break-card").hidden = true; }

/* --- transfer ----------------------------------------------------------------------------- */

export async function openTransfer(chatId) {
  transferChatId = chatId;
  $("transfer-error").textContent = "";
  const reasons = $("transfer-reason");
  reasons.replaceChildren(new Option(t("console.choose"), ""));
  for (const code of app.me().transfer_reasons ?? REASONS) {
    reasons.append(new Option(REASONS.includes(code) ? t(`reason.${code}`) : code, code));
  }
  const targets = $("transfer-targets");
  targets.replaceChildren(targetChoice("", t("console.transfer_queue"), true));
  try {
    const response = await fetch("/console/api/staff", { credentials: "same-origin" });
    const { staff } = await response.json();
    for (const person of staff) app.names.set(person.username, person.name);
    for (const person of staff.filter((s) => !s.me)) {
      const langs = person.languages.join(", ");
      const text = t("console.transfer_target", {
        name: person.name, presence: t(`presence.${person.presence}`), load: person.load,
        capacity: person.capacity, languages: langs,
      });
      targets.append(targetChoice(person.username, text, false, !person.can_take));
    }
  } catch {
    $("transfer-error").textContent = t("console.transfer_no_staff");
  }
  resetConsultChoice();
  $("transfer-dialog").showModal();
}

function targetChoice(value, text, checked, unavailable = false) {
  const label = document.createElement("label");
  const radio = document.createElement("input");
  radio.type = "radio";
  radio.name = "transfer-to";
  radio.value = value;
  radio.checked = checked;
  label.className = "check";
  label.append(radio, text);
  if (unavailable) label.classList.add("muted");
  return label;
}

function onTransferSubmit(event) {
  if (event.submitter?.value !== "transfer") return;
  const reason = $("transfer-reason").value;
  const to = document.querySelector("input[name=transfer-to]:checked")?.value ?? "";
  if (!reason) {
    event.preventDefault();
    $("transfer-error").textContent = t("console.transfer_reason_missing");
    return;
  }
  if (consultInstead(transferChatId, to, reason)) return; // warm: the chat stays until a yes
  const chat = chats.get(transferChatId);
  if (chat && app.send({ type: "transfer", chat_id: transferChatId, to, reason })) {
    chat.releasing = true;
  }
}

export function transferFailed() {
  for (const chat of chats.values()) chat.releasing = false;
}
