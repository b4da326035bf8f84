/* The chats a counsellor holds: panes side by side or as tabs, with unread counts, typing both
   ways, standard texts, private notes, ask-a-supervisor and the outcome picker. A chat that
   ended without the counsellor's "end" (the visitor left, a quick exit) keeps its pane until
   its outcome is saved ("outcome" frame) or the counsellor closes it. */
import { attention } from "./console-notify.js";

const TYPING_IDLE_MS = 3000;
const TYPING_REPEAT_MS = 2500;
export const TOPIC_LABELS = {
  violence_close: "Våld i nära relation", honour: "Hedersrelaterat våld",
  sex_for_compensation: "Sex mot ersättning", older_person: "Våld mot äldre",
  worried_other: "Orolig för någon annan", professional: "Yrkesroll", other: "Annat",
};
export const LANGUAGE_LABELS = {
  sv: "svenska", en: "engelska (English)", ar: "arabiska", fa: "persiska", so: "somaliska",
  ti: "tigrinja", ku: "kurdiska", tr: "turkiska", uk: "ukrainska", ru: "ryska", pl: "polska",
  es: "spanska", fr: "franska", de: "tyska", fi: "finska", bs: "bosniska", sr: "serbiska",
  hr: "kroatiska", prs: "dari", am: "amhariska",
};

export const chats = new Map(); // chat_id -> chat state
let app = null; // shared: {send, notice, me, texts, onChatsChanged}
let selected = null;
let clientSeq = 0;

export function initChats(shared) { app = shared; }

const $ = (id) => document.getElementById(id);

export function describe(info) {
  const parts = [];
  if (info.topic) parts.push(TOPIC_LABELS[info.topic] ?? info.topic);
  if (info.language) parts.push(LANGUAGE_LABELS[info.language] ?? info.language);
  if (info.urgent) parts.push("BRÅDSKANDE (urgent)");
  return parts.join(" · ");
}

function line(chat, sender, text, cls = "") {
  const item = document.createElement("li");
  item.className = `msg ${sender} ${cls}`.trim();
  const who = { visitor: chat.alias, counsellor: "Du (you)", system: "" }[sender] ?? "";
  if (who) {
    const b = document.createElement("b");
    b.textContent = `${who}: `;
    item.append(b);
  }
  item.append(document.createTextNode(text));
  const log = chat.node.querySelector(".log");
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

function confirmLine(chat, clientId, seq) {
  const item = chat.pending.get(clientId);
  item.classList.remove("pending");
  item.dataset.seq = seq;
  chat.pending.delete(clientId);
}

/* --- tabs, selection, unread ----------------------------------------------------------- */

function isLooking(chat) {
  if (document.hidden) return false;
  if (app.layout() === "tabs") return selected === chat.id;
  return chat.node.contains(document.activeElement) || chats.size === 1;
}

function markUnread(chat) {
  if (isLooking(chat)) return;
  chat.unread += 1;
  updateTab(chat);
}

function updateTab(chat) {
  const unread = chat.unread ? ` (${chat.unread})` : "";
  const waiting = ["pending", "saving", "failed"].includes(chat.outcomeState);
  const state = !chat.ended ? "" : waiting ? " – avslutad, utfall saknas" : " – avslutad";
  chat.tab.textContent = `${chat.alias}${unread}${state}`;
  chat.tab.setAttribute("aria-label", `${chat.alias}${chat.unread ? `, ${chat.unread} olästa (unread)` : ""}`
    + `${waiting ? ", utfall saknas (outcome missing)" : ""}`);
  chat.tab.classList.toggle("unread", chat.unread > 0);
}

export function selectChat(chatId, focus = true) {
  const chat = chats.get(chatId);
  if (!chat) return;
  selected = chatId;
  for (const other of chats.values()) {
    const on = other.id === chatId;
    other.tab.setAttribute("aria-selected", String(on));
    other.tab.tabIndex = on ? 0 : -1;
    other.node.classList.toggle("selected", on);
  }
  chat.unread = 0;
  updateTab(chat);
  if (focus) {
    chat.node.scrollIntoView({ block: "nearest" });
    chat.node.querySelector("textarea.message")?.focus();
  }
}

export function applyLayout() {
  const tabs = app.layout() === "tabs";
  $("chats").classList.toggle("tabbed", tabs);
  $("chats").classList.toggle("side-by-side", !tabs);
  if (selected) selectChat(selected, false);
}

export function activeChatId() {
  const chat = selected && chats.get(selected);
  return chat && !chat.ended ? chat.id : "";
}

/* --- one chat pane ---------------------------------------------------------------------- */

function fillStandardTexts(chat) {
  const select = chat.node.querySelector(".std");
  for (const [lang, label] of [["sv", "Svenska"], ["en", "English"]]) {
    const group = document.createElement("optgroup");
    group.label = label;
    for (const text of app.texts()) {
      const option = new Option(text.title[lang], `${text.id}:${lang}`);
      group.append(option);
    }
    select.append(group);
  }
}

function insertStandardText(chat) {
  const [id, lang] = chat.node.querySelector(".std").value.split(":");
  const text = app.texts().find((t) => t.id === id);
  if (!text) return;
  const box = chat.node.querySelector("textarea.message");
  const start = box.selectionStart ?? box.value.length;
  box.setRangeText(text.text[lang], start, box.selectionEnd ?? start, "end");
  box.focus();
  box.dispatchEvent(new Event("input"));
}

function fillOutcomes(chat) {
  const holder = chat.node.querySelector(".outcome-choices");
  const me = app.me();
  for (const [group, labels] of Object.entries(me.outcome_groups ?? {})) {
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = `${labels.sv} (${labels.en})`;
    fieldset.append(legend);
    for (const outcome of me.outcomes.filter((o) => o.group === group)) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = outcome.code;
      box.className = "outcome-box";
      box.addEventListener("change", () => {
        if (box.checked) chat.outcome.add(outcome.code); else chat.outcome.delete(outcome.code);
        chat.node.querySelector(".outcome-count").textContent =
          chat.outcome.size ? `– ${chat.outcome.size} valda (chosen)` : "";
      });
      label.append(box, ` ${outcome.sv} `);
      const en = document.createElement("span");
      en.lang = "en";
      en.textContent = `(${outcome.en})`;
      label.append(en);
      fieldset.append(label);
    }
    holder.append(fieldset);
  }
}

function sendTyping(chat, active) {
  chat.typingSentAt = active ? Date.now() : 0;
  app.send({ type: "typing", chat_id: chat.id, active });
}

function onComposeInput(chat) {
  if (chat.ended) return;
  if (Date.now() - chat.typingSentAt > TYPING_REPEAT_MS) sendTyping(chat, true);
  clearTimeout(chat.typingTimer);
  chat.typingTimer = setTimeout(() => sendTyping(chat, false), TYPING_IDLE_MS);
}

function wire(chat) {
  const node = chat.node;
  const box = node.querySelector("textarea.message");
  const form = node.querySelector("form.compose");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text || chat.ended) return;
    const clientId = `k${++clientSeq}`;
    if (!app.send({ type: "message", chat_id: chat.id, text, client_id: clientId })) return;
    chat.pending.set(clientId, line(chat, "counsellor", text, "pending"));
    box.value = "";
    clearTimeout(chat.typingTimer);
    if (chat.typingSentAt) sendTyping(chat, false);
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  box.addEventListener("input", () => onComposeInput(chat));
  node.addEventListener("focusin", () => { if (chat.unread) { chat.unread = 0; updateTab(chat); } });
  node.querySelector(".insert").addEventListener("click", () => insertStandardText(chat));
  node.querySelector(".end").addEventListener("click", () => {
    if (chat.ended) { removeChat(chat.id); return; }
    app.send({ type: "end", chat_id: chat.id, outcome: [...chat.outcome] });
  });
  node.querySelector(".save-outcome").addEventListener("click", () => saveOutcome(chat));
  node.querySelector(".transfer").addEventListener("click", () => app.openTransfer(chat.id));
  node.querySelector(".save-note").addEventListener("click", () => {
    const text = node.querySelector("textarea.note").value;
    if (app.send({ type: "note", chat_id: chat.id, text })) {
      node.querySelector(".note-status").textContent = "Sparar… (saving)";
    }
  });
  node.querySelector(".ask-send").addEventListener("click", () => {
    const area = node.querySelector(".ask-text");
    const text = area.value.trim();
    if (text && app.send({ type: "backchannel", chat_id: chat.id, text })) area.value = "";
  });
}

// A quiet chat lapses (its keys expire) unless someone writes or keeps it open.
function showIdle(chat, lapsesInS) {
  const silentMin = Math.max(0, Math.floor((Date.now() - chat.lastVisitorTs) / 60000));
  const closesMin = Math.max(1, Math.round(lapsesInS / 60));
  chat.node.querySelector(".idle-text").textContent =
    `Besökaren har varit tyst i ${silentMin} min. Chatten stängs om ${closesMin} min om ingen skriver. `;
  chat.node.querySelector(".idle").hidden = false;
}

// "Någon kommer": the visitor covered the chat because someone came in. The notice stays at the
// top of the pane until they come back; coming back is a line in the transcript.
function showNotAlone(chat, on) {
  const notice = chat.node.querySelector(".not-alone > span");
  const was = !notice.hidden;
  notice.hidden = !on;
  chat.node.classList.toggle("visitor-not-alone", on);
  if (was && !on) line(chat, "system", "Besökaren är tillbaka (the visitor is back)");
  if (on && !was && !isLooking(chat)) attention(`Besökaren är inte ensam – ${chat.alias}`);
}

export function openChat(info) {
  if (chats.has(info.chat_id)) return chats.get(info.chat_id);
  const node = $("chat-template").content.firstElementChild.cloneNode(true);
  node.dataset.chatId = info.chat_id;
  node.id = `chat-${info.chat_id}`;
  node.setAttribute("aria-label", info.alias);
  node.querySelector(".alias").textContent = info.alias;
  node.querySelector(".meta").textContent = describe(info);
  const tab = document.createElement("button");
  tab.type = "button";
  tab.setAttribute("role", "tab");
  tab.setAttribute("aria-controls", node.id);
  const chat = {
    id: info.chat_id, node, tab, alias: info.alias, seen: new Set(), pending: new Map(),
    unread: 0, ended: false, releasing: false, typingSentAt: 0, typingTimer: null,
    outcome: new Set(), outcomeState: "", // "" | pending | saving | saved | failed
    lastVisitorTs: Date.now(), // for "the visitor has been silent for N min"
  };
  chats.set(chat.id, chat);
  tab.addEventListener("click", () => selectChat(chat.id));
  updateTab(chat);
  fillStandardTexts(chat);
  fillOutcomes(chat);
  wire(chat);
  node.querySelector(".keep-open").addEventListener("click", () => {
    app.send({ type: "keep_open", chat_id: chat.id });
  });
  $("tabs").append(tab);
  $("chats").append(node);
  $("no-chats").hidden = true;
  if (!selected || !chats.has(selected) || chats.get(selected).ended) selectChat(chat.id, false);
  else selectChat(selected, false);
  if (info.not_alone) showNotAlone(chat, true);
  if (info.transferred_from) {
    line(chat, "system", `Överlämnad av ${info.transferred_from} (handed over to you)`);
  }
  if (!info.ended) {
    app.send({ type: "note_get", chat_id: chat.id });
    app.send({ type: "backchannel_get", chat_id: chat.id });
  }
  app.onChatsChanged();
  return chat;
}

export function closeChat(chatId, text, { finished = true, outcomePending = false } = {}) {
  const chat = chats.get(chatId);
  if (!chat || chat.ended) return;
  const hadFocus = chat.node.contains(document.activeElement);
  chat.ended = true;
  clearTimeout(chat.typingTimer);
  line(chat, "system", text);
  chat.node.classList.add("ended");
  chat.node.querySelector("form.compose").remove();
  chat.node.querySelector(".transfer").remove();
  for (const extra of chat.node.querySelectorAll("details")) {
    if (!(outcomePending && extra.classList.contains("outcome"))) extra.remove();
  }
  const end = chat.node.querySelector(".end");
  end.textContent = "Stäng (close)";
  if (outcomePending) askForOutcome(chat);
  if (hadFocus && !chat.node.contains(document.activeElement)) chat.node.focus();
  updateTab(chat);
  if (finished) app.send({ type: "chat_done", chat_id: chatId });
  app.onChatsChanged();
}

/* --- the outcome of a chat the counsellor did not end ------------------------------------- */

function askForOutcome(chat) {
  chat.outcomeState = "pending";
  const details = chat.node.querySelector("details.outcome");
  details.open = true;
  details.querySelector("summary").firstChild.textContent = "Utfall – spara innan du stänger ";
  details.querySelector(".outcome-save").hidden = false;
  chat.node.querySelector(".end").hidden = true; // saving comes first; an error shows it again
  line(chat, "system", "Välj utfall och spara. (Choose the outcome and save it.)");
}

const clock = (ms) => new Date(ms).toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit" });

/* After a reload: a chat that ended while no console was open here still waits for its
   outcome. It comes back as an ended pane with only the outcome picker. */
function reopenForOutcome(item) {
  if (chats.has(item.chat_id)) return;
  openChat({ chat_id: item.chat_id, alias: item.alias, ended: true });
  const until = clock(item.deadline_ms);
  closeChat(item.chat_id,
    `Avslutad ${clock(item.ended_ms)}. Utfallet kan sparas till ${until}. ` +
    `(Ended; the outcome can be saved until ${until}.)`,
    { finished: false, outcomePending: true });
}

function setOutcomeStatus(chat, text) {
  chat.node.querySelector(".outcome-status").textContent = text;
}

function saveOutcome(chat) {
  if (chat.outcomeState !== "pending" && chat.outcomeState !== "failed") return;
  if (!app.send({ type: "outcome", chat_id: chat.id, outcome: [...chat.outcome] })) return;
  chat.outcomeState = "saving";
  chat.node.querySelector(".save-outcome").disabled = true;
  setOutcomeStatus(chat, "Sparar… (saving)");
}

function outcomeSaved(chat) {
  chat.outcomeState = "saved";
  const save = chat.node.querySelector(".save-outcome");
  const hadFocus = save === document.activeElement;
  for (const box of chat.node.querySelectorAll("input.outcome-box")) box.disabled = true;
  setOutcomeStatus(chat, "Utfall sparat (outcome saved)");
  const end = chat.node.querySelector(".end");
  end.hidden = false;
  if (hadFocus) end.focus(); // the disabled save button would drop the focus
  updateTab(chat);
}

/* An error while saving: wrong codes can be corrected; a chat that no longer waits cannot. */
function outcomeFailed(chat, code) {
  const final = code === "chat_not_found" || code === "not_your_chat";
  chat.outcomeState = final ? "failed-final" : "failed";
  chat.node.querySelector(".save-outcome").disabled = final;
  setOutcomeStatus(chat, final
    ? "Utfallet kunde inte sparas längre. (The outcome can no longer be saved.)"
    : "Utfallet sparades inte – försök igen. (Not saved, try again.)");
  chat.node.querySelector(".end").hidden = false;
  updateTab(chat);
}

export function removeChat(chatId) {
  const chat = chats.get(chatId);
  if (!chat) return;
  chat.node.remove();
  chat.tab.remove();
  chats.delete(chatId);
  $("no-chats").hidden = chats.size > 0;
  if (selected === chatId) {
    selected = null;
    const next = chats.keys().next();
    if (!next.done) selectChat(next.value, false);
  }
  app.onChatsChanged();
}

export function heldCount() {
  return [...chats.values()].filter((c) => !c.ended).length;
}

function askEntry(entry) {
  const item = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = `${entry.name}${entry.role !== "counsellor" ? " (handledare)" : ""}: `;
  item.append(who, document.createTextNode(entry.text));
  return item;
}

export function showAsk(chat, entries, fresh) {
  const log = chat.node.querySelector(".ask-log");
  if (!log) return;
  if (!fresh) log.replaceChildren();
  for (const entry of entries) log.append(askEntry(entry));
  chat.node.querySelector(".ask-count").textContent = log.children.length ? `(${log.children.length})` : "";
}

/* Frames about one of our chats; returns true when handled. */
export function receiveChatFrame(frame) {
  const chat = chats.get(frame.chat_id);
  switch (frame.type) {
    case "chat_opened":
      openChat(frame);
      return true;
    case "message":
      if (!chat || chat.seen.has(frame.seq)) return true;
      chat.seen.add(frame.seq);
      if (frame.client_id && chat.pending.has(frame.client_id)) {
        confirmLine(chat, frame.client_id, frame.seq);
        return true;
      }
      line(chat, frame.sender, frame.text);
      if (frame.sender === "visitor") {
        chat.lastVisitorTs = frame.ts;
        chat.node.querySelector(".typing").hidden = true;
        markUnread(chat);
        if (!isLooking(chat)) attention(`Nytt meddelande – ${chat.alias}`);
      }
      return true;
    case "chat_state":
      if (chat) chat.seen.add(frame.seq);
      return true;
    case "idle_warning":
      if (chat) showIdle(chat, frame.lapses_in_s);
      return true;
    case "idle_cleared":
      if (chat) chat.node.querySelector(".idle").hidden = true;
      return true;
    case "typing":
      if (chat) chat.node.querySelector(".typing").hidden = !frame.active;
      return true;
    case "visitor_not_alone":
      if (chat) showNotAlone(chat, frame.on === true);
      return true;
    case "visitor_presence":
      if (chat) chat.node.querySelector(".presence").textContent =
        frame.online ? "" : "Besökaren är frånkopplad (visitor disconnected)";
      return true;
    case "chat_ended": {
      const text = frame.reason === "quick_exit" ? "Besökaren lämnade snabbt (the visitor left quickly)"
        : frame.by === "visitor" ? "Besökaren avslutade chatten (the visitor ended the chat)"
        : "Chatten är avslutad (chat ended)";
      if (chat && frame.by === "visitor") attention(`Chatten avslutades – ${chat.alias}`);
      closeChat(frame.chat_id, text, { outcomePending: frame.outcome_pending === true });
      return true;
    }
    case "outcome_saved":
      if (chat) outcomeSaved(chat);
      return true;
    case "outcomes_pending":
      for (const item of frame.chats) reopenForOutcome(item);
      return true;
    case "chat_released":
    case "transferred":
      if (chat && (frame.type === "chat_released" || chat.releasing)) {
        const to = frame.to ? `till ${app.names.get(frame.to) ?? frame.to}` : "tillbaka till kön";
        closeChat(frame.chat_id, `Överlämnad ${to} (handed over)`, { finished: false });
      }
      return true;
    case "chat_transferred":
      if (chat && frame.seq) chat.seen.add(frame.seq);
      if (chat && chat.releasing) {
        // The release notice normally follows at once and names the colleague.
        setTimeout(() => closeChat(frame.chat_id, "Överlämnad (handed over)", { finished: false }), 2000);
      }
      return true;
    case "note":
      if (chat) {
        const box = chat.node.querySelector("textarea.note");
        if (frame.saved) chat.node.querySelector(".note-status").textContent = "Sparad (saved)";
        else if (box && !box.value) box.value = frame.text;
      }
      return true;
    default:
      return false;
  }
}

/* A refused message gives its text back to the writer; a vanished chat is marked. Errors name
   no chat: one that arrives while an outcome is being saved is that save's answer. */
export function receiveChatError(frame) {
  for (const chat of chats.values()) {
    if (!frame.client_id && chat.outcomeState === "saving") outcomeFailed(chat, frame.code);
    const item = frame.client_id && chat.pending.get(frame.client_id);
    if (!item) continue;
    chat.pending.delete(frame.client_id);
    item.remove();
    const box = chat.node.querySelector("textarea.message");
    if (box && !box.value) box.value = item.lastChild.textContent;
    if (frame.code === "chat_not_found") {
      closeChat(chat.id, "Chatten finns inte längre (chat no longer exists)");
    }
  }
}
