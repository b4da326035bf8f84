/* The side panels: offers with a countdown, the queue, supervision (questions and raised
   hands), the break suggestion, the transfer dialog and short alerts. */
import { attention } from "./console-notify.js";
import { chats, describe, showAsk } from "./console-chats.js";

const ALERT_MS = 15000;
const REASON_LABELS = {
  language: "Språk (language)", topic: "Ämne (topic)", capacity: "Arbetsbelastning (workload)",
  break: "Paus (break)", other: "Annat (other)",
};
const PRESENCE_LABELS = { available: "tillgänglig", paused: "paus", offline: "offline" };

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
  const mins = Math.floor(item.waited_s / 60);
  const about = describe(item);
  li.textContent = `${item.alias} · ${mins} min${about ? ` · ${about}` : ""} `;
  const take = document.createElement("button");
  take.type = "button";
  take.textContent = "Ta (take)";
  take.setAttribute("aria-label", `Ta ${item.alias} (take)`);
  take.addEventListener("click", () => app.send({ type: "take", chat_id: item.chat_id }));
  li.append(take);
  return li;
}

function showMore(waiting) {
  const shown = $("queue-list").children.length;
  $("queue-more").hidden = shown >= waiting;
  $("queue-more").textContent = `Visa fler i kön (${waiting - shown} till)`;
}

export function renderQueue(frame) {
  $("waiting").textContent = frame.waiting;
  const urgent = frame.chats.filter((c) => c.urgent).length;
  const longest = frame.chats.reduce((m, c) => Math.max(m, c.waited_s), 0);
  $("queue-summary").textContent = frame.waiting
    ? `Längst väntan ${Math.floor(longest / 60)} min${urgent ? ` · ${urgent} brådskande` : ""}`
    : "Ingen väntar. (Nobody is waiting.)";
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
  accept.textContent = "Ta emot (accept)";
  accept.addEventListener("click", () => app.send({ type: "accept", chat_id: frame.chat_id }));
  const decline = document.createElement("button");
  decline.type = "button";
  decline.textContent = "Avböj (decline)";
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
  alertText(`Ny chatt till dig: ${frame.alias}. Svara inom ${frame.expires_in_s ?? 30} s. (New chat offered.)`);
  attention(`Ny chatt – ${frame.alias}`);
}

export function removeOffer(chatId, reason = "") {
  const offer = offers.get(chatId);
  if (!offer) return;
  clearInterval(offer.timer);
  offer.node.remove();
  offers.delete(chatId);
  $("offers").hidden = offers.size === 0;
  if (reason === "timeout") {
    alertText("Erbjudandet gick ut och du är nu pausad. (The offer ran out; you are paused.)");
  }
}

/* --- supervision ------------------------------------------------------------------------ */

function clearEmpty(holder) { holder.querySelector(".empty")?.remove(); }

function threadFor(frame) {
  if (threads.has(frame.chat_id)) return threads.get(frame.chat_id);
  const node = $("thread-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".thread-title").textContent =
    `${frame.alias || "Chatt"} – ${frame.counsellor_name || frame.counsellor || frame.name}`;
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
  who.textContent = `${entry.name}: `;
  li.append(who, document.createTextNode(entry.text));
  return li;
}

export function receiveBackchannel(frame) {
  const mine = chats.get(frame.chat_id);
  if (mine) showAsk(mine, [frame], true);
  if (app.me().supervisor) {
    threadFor(frame).querySelector(".ask-log").append(entryLine(frame));
  }
  if (frame.from !== app.me().user) {
    const text = mine ? `Svar från ${frame.name} om ${frame.alias}` : `${frame.name} frågar om ${frame.alias}`;
    alertText(`${text}: ”${frame.text}”`);
    if (mine) mine.node.querySelector("details.ask")?.setAttribute("open", "");
    attention(text);
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
    const time = new Date(frame.ts).toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit" });
    li.textContent = `${frame.name} räcker upp handen${frame.alias ? ` (${frame.alias})` : ""} ${time} `;
    const answer = document.createElement("button");
    answer.type = "button";
    answer.textContent = "Jag kommer (I'm coming)";
    answer.addEventListener("click", () => app.send({ type: "hand_answer", user: frame.user }));
    li.append(answer);
    clearEmpty($("hands"));
    $("hands").append(li);
    attention(`${frame.name} räcker upp handen`);
  } else if (frame.type === "hand_answered") {
    if (frame.user === app.me().user) {
      alertText(`${frame.name} kommer till dig. (${frame.name} is coming.)`, { urgent: true });
      attention(`${frame.name} kommer`);
    }
    for (const li of $("hands").querySelectorAll(`li[data-user="${CSS.escape(frame.user)}"]`)) li.remove();
  } else if (frame.type === "hand_sent") {
    alertText("Handledaren har fått din signal. (The supervisor has been alerted.)");
  }
}

/* --- wellbeing -------------------------------------------------------------------------- */

export function showBreak(frame) {
  $("break-text").textContent = frame.reason === "chats"
    ? `Du har haft ${frame.chats} chattar i rad. (You have had ${frame.chats} chats in a row.)`
    : `Du har arbetat ${Math.round(frame.minutes / 6) / 10} timmar utan paus. (Time for a pause.)`;
  $("break-card").hidden = false;
  attention("Dags för en paus");
}

function hideBreak() { $("break-card").hidden = true; }

/* --- transfer ----------------------------------------------------------------------------- */

export async function openTransfer(chatId) {
  transferChatId = chatId;
  $("transfer-error").textContent = "";
  const reasons = $("transfer-reason");
  reasons.replaceChildren(new Option("Välj… (choose)", ""));
  for (const code of app.me().transfer_reasons ?? Object.keys(REASON_LABELS)) {
    reasons.append(new Option(REASON_LABELS[code] ?? code, code));
  }
  const targets = $("transfer-targets");
  targets.replaceChildren(targetChoice("", "Tillbaka till kön (back to the queue)", true));
  try {
    const response = await fetch("/console/api/staff", { credentials: "same-origin" });
    const { staff } = await response.json();
    for (const person of staff) app.names.set(person.username, person.name);
    for (const person of staff.filter((s) => !s.me)) {
      const langs = person.languages.join(", ");
      const text = `${person.name} – ${PRESENCE_LABELS[person.presence] ?? person.presence}, ` +
        `${person.load}/${person.capacity} chattar, ${langs}`;
      targets.append(targetChoice(person.username, text, false, !person.can_take));
    }
  } catch {
    $("transfer-error").textContent = "Kunde inte hämta kollegor. (Could not load colleagues.)";
  }
  $("transfer-dialog").showModal();
}

function targetChoice(value, text, checked, unavailable = false) {
  const label = document.createElement("label");
  const radio = document.createElement("input");
  radio.type = "radio";
  radio.name = "transfer-to";
  radio.value = value;
  radio.checked = checked;
  label.append(radio, ` ${text}`);
  if (unavailable) label.classList.add("muted");
  return label;
}

function onTransferSubmit(event) {
  if (event.submitter?.value !== "transfer") return;
  const reason = $("transfer-reason").value;
  const to = document.querySelector("input[name=transfer-to]:checked")?.value ?? "";
  if (!reason) {
    event.preventDefault();
    $("transfer-error").textContent = "Välj en anledning. (Choose a reason.)";
    return;
  }
  const chat = chats.get(transferChatId);
  if (chat && app.send({ type: "transfer", chat_id: transferChatId, to, reason })) {
    chat.releasing = true;
  }
}

export function transferFailed() {
  for (const chat of chats.values()) chat.releasing = false;
}
