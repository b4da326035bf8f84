/* The chats a counsellor holds: panes side by side or as tabs, each with its message times,
   its duration, the visitor's wait and state (typing, connection lost, left); standard texts
   through the "/" picker (console-picker.js); and, in the context column, the chat's outcome
   picker, private notes and ask-a-supervisor thread. A chat that ended without the
   counsellor's "end" (the visitor left, a quick exit) keeps its pane until its outcome is
   saved ("outcome" frame) or the counsellor closes it.

   Rendering is incremental: a message appends one <li> to one log and touches one tab; the
   clocks of all panes are refreshed by one timer, text only. */
import { clockTime, duration, lang, t } from "/design/staff-i18n.js";
import { describe } from "./console-describe.js";
import { attention } from "./console-notify.js";
import { openPicker, unfilledPlaceholder, wirePicker } from "./console-picker.js";

const TYPING_IDLE_MS = 3000;
const TYPING_REPEAT_MS = 2500;
const CLOCK_TICK_MS = 15000;

export const chats = new Map(); // chat_id -> chat state
let app = null; // shared: {send, notice, me, texts, layout, onChatsChanged, openTransfer}
let selected = null;
let clientSeq = 0;

export function initChats(shared) {
  app = shared;
  setInterval(tickClocks, CLOCK_TICK_MS);
}

const $ = (id) => document.getElementById(id);

export function line(chat, sender, text, { cls = "", ts = Date.now() } = {}) {
  const item = document.createElement("li");
  item.className = `msg ${sender} ${cls}`.trim();
  const head = document.createElement("span");
  head.className = "msg-head";
  const who = { visitor: chat.alias, counsellor: t("console.you"), supervisor: t("monitor.sender"),
    system: "" }[sender] ?? "";
  if (who) {
    const b = document.createElement("b");
    b.textContent = who;
    head.append(b, " ");
  }
  const time = document.createElement("time");
  time.dateTime = new Date(ts).toISOString();
  time.textContent = clockTime(ts);
  head.append(time);
  const body = document.createElement("span");
  body.className = "msg-text";
  body.textContent = text;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.append(head, body);
  item.append(bubble);
  chat.log.append(item);
  if (chat.stick || sender !== "visitor") scrollToEnd(chat);
  return item;
}

/* The log follows new lines while it is scrolled to its end (chat.stick, kept by its scroll
   events), and always for one's own lines. The scroll waits for the next frame, once per pane:
   appending a line never forces a layout, so a burst of lines costs one layout. */
function scrollToEnd(chat) {
  if (chat.scrollQueued) return;
  chat.scrollQueued = true;
  requestAnimationFrame(() => {
    chat.scrollQueued = false;
    chat.log.scrollTop = chat.log.scrollHeight;
  });
}

function followScroll(chat) {
  const log = chat.log;
  log.addEventListener("scroll", () => {
    chat.stick = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }, { passive: true });
}

function confirmLine(chat, clientId, seq, ts) {
  const item = chat.pending.get(clientId);
  item.classList.remove("pending");
  item.dataset.seq = seq;
  const time = item.querySelector("time");
  time.dateTime = new Date(ts).toISOString();
  time.textContent = clockTime(ts);
  chat.pending.delete(clientId);
}

/* --- clocks: duration, wait ------------------------------------------------------------- */

function showTimes(chat, now = Date.now()) {
  if (chat.takenMs && chat.enqueuedMs) {
    chat.waitedNode.textContent = t("console.waited", { time: duration((chat.takenMs - chat.enqueuedMs) / 1000) });
  }
  if (chat.takenMs) {
    const end = chat.endedMs || now;
    chat.durationNode.textContent = t(chat.ended ? "console.lasted" : "console.duration",
      { time: duration((end - chat.takenMs) / 1000) });
  }
}

function tickClocks() {
  const now = Date.now();
  for (const chat of chats.values()) if (!chat.ended) showTimes(chat, now);
}

/* --- the visitor's state ---------------------------------------------------------------- */

function showVisitorState(chat) {
  const typing = chat.node.querySelector(".typing");
  typing.hidden = !(chat.typing && chat.online && !chat.ended);
  const presence = chat.node.querySelector(".presence");
  const state = chat.left ? "left" : chat.ended ? "" : chat.online ? "" : "offline";
  presence.textContent = state ? t(`console.visitor_${state}`) : "";
  presence.dataset.state = state;
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

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

function updateTab(chat) {
  const waiting = ["pending", "saving", "failed"].includes(chat.outcomeState);
  setText(chat.tabName, chat.alias);
  setText(chat.tabBadge, chat.unread ? String(chat.unread) : "");
  chat.tabBadge.hidden = !chat.unread;
  setText(chat.tabState, !chat.ended ? "" : waiting ? t("console.tab_outcome_missing") : t("console.tab_ended"));
  const number = [...chats.keys()].indexOf(chat.id) + 1;
  let label = chat.alias;
  if (chat.unread) label += t("console.tab_unread", { count: chat.unread });
  if (waiting) label += t("console.tab_outcome_missing_label");
  else if (chat.ended) label += `, ${t("console.tab_ended")}`;
  chat.tab.setAttribute("aria-label", label);
  chat.tab.title = number <= 9 ? t("console.tab_shortcut", { n: number }) : "";
  chat.tab.classList.toggle("unread", chat.unread > 0);
  chat.tab.classList.toggle("ended", chat.ended);
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
    other.context.hidden = !on;
  }
  $("context-empty").hidden = true;
  chat.unread = 0;
  updateTab(chat);
  if (focus) {
    chat.node.scrollIntoView({ block: "nearest" });
    (chat.node.querySelector("textarea.message") ?? chat.node).focus();
  }
}

/** Select the chat at `index` (0-based, in tab order), or `delta` chats on from the selected. */
export function switchChat({ index = -1, delta = 0 } = {}) {
  const ids = [...chats.keys()];
  if (!ids.length) return;
  let target = index;
  if (delta) target = (Math.max(0, ids.indexOf(selected)) + delta + ids.length) % ids.length;
  if (target >= 0 && target < ids.length) selectChat(ids[target]);
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

/* Arrow keys move between tabs (the ARIA tabs pattern). */
function onTabKey(event, chat) {
  const ids = [...chats.keys()];
  const at = ids.indexOf(chat.id);
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: ids.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const id = ids[(next + ids.length) % ids.length];
  selectChat(id, false);
  chats.get(id).tab.focus();
}

/* --- outcome, notes, ask: the chat's context -------------------------------------------- */

function fillOutcomes(chat) {
  const holder = chat.context.querySelector(".outcome-choices");
  const me = app.me();
  for (const [group, labels] of Object.entries(me.outcome_groups ?? {})) {
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = labels[lang] ?? labels.sv;
    fieldset.append(legend);
    for (const outcome of me.outcomes.filter((o) => o.group === group)) {
      const label = document.createElement("label");
      label.className = "check";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = outcome.code;
      box.className = "outcome-box";
      box.addEventListener("change", () => {
        if (box.checked) chat.outcome.add(outcome.code); else chat.outcome.delete(outcome.code);
        chat.context.querySelector(".outcome-count").textContent =
          chat.outcome.size ? t("console.outcome_chosen", { count: chat.outcome.size }) : "";
      });
      label.append(box, outcome[lang] ?? outcome.sv);
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

function sendMessage(chat) {
  const box = chat.node.querySelector("textarea.message");
  const hint = chat.node.querySelector(".compose-error");
  const text = box.value.trim();
  if (!text || chat.ended) return;
  const missing = unfilledPlaceholder(text);
  if (missing) {
    hint.textContent = t("console.placeholder_unfilled", { name: missing });
    box.focus();
    return;
  }
  hint.textContent = "";
  const clientId = `k${++clientSeq}`;
  if (!app.send({ type: "message", chat_id: chat.id, text, client_id: clientId })) return;
  chat.pending.set(clientId, line(chat, "counsellor", text, { cls: "pending" }));
  box.value = "";
  clearTimeout(chat.typingTimer);
  if (chat.typingSentAt) sendTyping(chat, false);
}

function wire(chat) {
  const { node, context } = chat;
  const box = node.querySelector("textarea.message");
  const form = node.querySelector("form.compose");
  form.addEventListener("submit", (event) => { event.preventDefault(); sendMessage(chat); });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(chat); }
  });
  box.addEventListener("input", () => onComposeInput(chat));
  wirePicker(node, box, app.texts);
  node.querySelector(".open-picker").addEventListener("click", () => openPicker(node, box, app.texts, ""));
  node.addEventListener("focusin", () => {
    if (selected !== chat.id) selectChat(chat.id, false);
    else if (chat.unread) { chat.unread = 0; updateTab(chat); }
  });
  node.querySelector(".end").addEventListener("click", () => {
    if (chat.ended) { removeChat(chat.id); return; }
    app.send({ type: "end", chat_id: chat.id, outcome: [...chat.outcome] });
  });
  context.querySelector(".save-outcome").addEventListener("click", () => saveOutcome(chat));
  node.querySelector(".transfer").addEventListener("click", () => app.openTransfer(chat.id));
  context.querySelector(".save-note").addEventListener("click", () => {
    const text = context.querySelector("textarea.note").value;
    if (app.send({ type: "note", chat_id: chat.id, text })) {
      context.querySelector(".note-status").textContent = t("console.saving");
    }
  });
  context.querySelector(".ask-send").addEventListener("click", () => {
    const area = context.querySelector(".ask-text");
    const text = area.value.trim();
    if (text && app.send({ type: "backchannel", chat_id: chat.id, text })) area.value = "";
  });
  node.querySelector(".keep-open").addEventListener("click", () => {
    app.send({ type: "keep_open", chat_id: chat.id });
  });
}

// A quiet chat lapses (its keys expire) unless someone writes or keeps it open.
function showIdle(chat, lapsesInS) {
  const silent = Math.max(0, Math.floor((Date.now() - chat.lastVisitorTs) / 60000));
  const closes = Math.max(1, Math.round(lapsesInS / 60));
  chat.node.querySelector(".idle-text").textContent = t("console.idle", { silent, closes });
  chat.node.querySelector(".idle").hidden = false;
}

// "Någon kommer": the visitor covered the chat because someone came in. The notice stays at the
// top of the pane until they come back; coming back is a line in the transcript.
function showNotAlone(chat, on) {
  const notice = chat.node.querySelector(".not-alone > span");
  const was = !notice.hidden;
  notice.hidden = !on;
  chat.node.classList.toggle("visitor-not-alone", on);
  chat.tab.classList.toggle("not-alone", on);
  if (was && !on) line(chat, "system", t("console.visitor_back"));
  if (on && !was && !isLooking(chat)) attention("not_alone");
}

function cloneTemplate(id) {
  const node = $(id).content.firstElementChild.cloneNode(true);
  return node;
}

export function openChat(info) {
  if (chats.has(info.chat_id)) return chats.get(info.chat_id);
  const node = cloneTemplate("chat-template");
  node.dataset.chatId = info.chat_id;
  node.id = `chat-${info.chat_id}`;
  node.setAttribute("aria-label", info.alias);
  node.querySelector(".alias").textContent = info.alias;
  node.querySelector(".meta").textContent = describe(info);
  const context = cloneTemplate("context-template");
  context.id = `context-${info.chat_id}`;
  context.dataset.chatId = info.chat_id;
  context.setAttribute("aria-label", t("console.context_of", { alias: info.alias }));
  context.querySelector(".context-alias").textContent = info.alias;
  context.hidden = true;
  const tab = document.createElement("button");
  tab.type = "button";
  tab.className = "tab";
  tab.setAttribute("role", "tab");
  tab.setAttribute("aria-controls", node.id);
  const tabName = document.createElement("span");
  const tabBadge = document.createElement("span");
  tabBadge.className = "badge danger";
  tabBadge.setAttribute("aria-hidden", "true");
  const tabState = document.createElement("span");
  tabState.className = "tab-state";
  tabState.setAttribute("aria-hidden", "true");
  tab.append(tabName, tabBadge, tabState);
  const chat = {
    id: info.chat_id, node, context, tab, tabName, tabBadge, tabState, alias: info.alias,
    log: node.querySelector(".log"), seen: new Set(), pending: new Map(),
    unread: 0, ended: false, releasing: false, typingSentAt: 0, typingTimer: null,
    outcome: new Set(), outcomeState: "", // "" | pending | saving | saved | failed
    lastVisitorTs: Date.now(), // for "the visitor has been silent for N min"
    enqueuedMs: info.enqueued_ms || 0, takenMs: 0, endedMs: 0,
    online: true, typing: false, left: false, stick: true, scrollQueued: false,
    waitedNode: node.querySelector(".waited"), durationNode: node.querySelector(".duration"),
  };
  chats.set(chat.id, chat);
  tab.addEventListener("click", () => selectChat(chat.id));
  tab.addEventListener("keydown", (event) => onTabKey(event, chat));
  updateTab(chat);
  fillOutcomes(chat);
  wire(chat);
  followScroll(chat);
  $("tabs").append(tab);
  $("chats").append(node);
  $("context").append(context);
  $("no-chats").hidden = true;
  if (!selected || !chats.has(selected) || chats.get(selected).ended) selectChat(chat.id, false);
  else selectChat(selected, false);
  if (info.not_alone) showNotAlone(chat, true);
  if (info.transferred_from) {
    line(chat, "system", t("console.transferred_from", { name: info.transferred_from }));
  }
  if (info.consult_note) line(chat, "system", t("consult.note_line", { note: info.consult_note }));
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
  chat.endedMs = Date.now();
  clearTimeout(chat.typingTimer);
  line(chat, "system", text);
  chat.node.classList.add("ended");
  chat.node.querySelector("form.compose").remove();
  chat.node.querySelector(".transfer").remove();
  chat.node.querySelector(".idle").hidden = true;
  for (const part of chat.context.querySelectorAll(".notes, .ask")) part.remove();
  if (!outcomePending) chat.context.querySelector(".outcome")?.remove();
  const end = chat.node.querySelector(".end");
  end.textContent = t("common.close");
  end.classList.remove("danger");
  showTimes(chat);
  showVisitorState(chat);
  if (outcomePending) askForOutcome(chat);
  if (hadFocus && !chat.node.contains(document.activeElement)) chat.node.focus();
  updateTab(chat);
  if (finished) app.send({ type: "chat_done", chat_id: chatId });
  app.onChatsChanged();
}

/* --- the outcome of a chat the counsellor did not end ------------------------------------- */

function askForOutcome(chat) {
  chat.outcomeState = "pending";
  const details = chat.context.querySelector("details.outcome");
  details.open = true;
  details.querySelector(".outcome-title").textContent = t("console.outcome_save_first");
  details.querySelector(".outcome-save").hidden = false;
  chat.node.querySelector(".end").hidden = true; // saving comes first; an error shows it again
  line(chat, "system", t("console.outcome_choose"));
}

/* After a reload: a chat that ended while no console was open here still waits for its
   outcome. It comes back as an ended pane with only the outcome picker. */
function reopenForOutcome(item) {
  if (chats.has(item.chat_id)) return;
  openChat({ chat_id: item.chat_id, alias: item.alias, ended: true });
  closeChat(item.chat_id,
    t("console.outcome_due", { ended: clockTime(item.ended_ms), until: clockTime(item.deadline_ms) }),
    { finished: false, outcomePending: true });
}

function setOutcomeStatus(chat, text) {
  chat.context.querySelector(".outcome-status").textContent = text;
}

function saveOutcome(chat) {
  if (chat.outcomeState !== "pending" && chat.outcomeState !== "failed") return;
  if (!app.send({ type: "outcome", chat_id: chat.id, outcome: [...chat.outcome] })) return;
  chat.outcomeState = "saving";
  chat.context.querySelector(".save-outcome").disabled = true;
  setOutcomeStatus(chat, t("console.saving"));
}

function outcomeSaved(chat) {
  chat.outcomeState = "saved";
  const save = chat.context.querySelector(".save-outcome");
  const hadFocus = save === document.activeElement;
  for (const box of chat.context.querySelectorAll("input.outcome-box")) box.disabled = true;
  setOutcomeStatus(chat, t("console.outcome_saved"));
  const end = chat.node.querySelector(".end");
  end.hidden = false;
  if (hadFocus) end.focus(); // the disabled save button would drop the focus
  updateTab(chat);
}

/* An error while saving: wrong codes can be corrected; a chat that no longer waits cannot. */
function outcomeFailed(chat, code) {
  const final = code === "chat_not_found" || code === "not_your_chat";
  chat.outcomeState = final ? "failed-final" : "failed";
  chat.context.querySelector(".save-outcome").disabled = final;
  setOutcomeStatus(chat, t(final ? "console.outcome_too_late" : "console.outcome_retry"));
  chat.node.querySelector(".end").hidden = false;
  updateTab(chat);
}

export function removeChat(chatId) {
  const chat = chats.get(chatId);
  if (!chat) return;
  chat.node.remove();
  chat.context.remove();
  chat.tab.remove();
  chats.delete(chatId);
  $("no-chats").hidden = chats.size > 0;
  if (selected === chatId) {
    selected = null;
    $("context-empty").hidden = false;
    const next = chats.keys().next();
    if (!next.done) selectChat(next.value, false);
  }
  for (const other of chats.values()) updateTab(other); // the Alt+n numbers moved
  app.onChatsChanged();
}

export function heldCount() {
  return [...chats.values()].filter((c) => !c.ended).length;
}

function askEntry(entry) {
  const item = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = entry.role !== "counsellor" ? t("console.ask_supervisor_name", { name: entry.name }) : entry.name;
  const text = document.createElement("span");
  text.textContent = entry.text;
  item.append(who, ": ", text);
  return item;
}

export function showAsk(chat, entries, fresh) {
  const log = chat.context.querySelector(".ask-log");
  if (!log) return;
  if (!fresh) log.replaceChildren();
  for (const entry of entries) log.append(askEntry(entry));
  chat.context.querySelector(".ask-count").textContent = log.children.length ? `(${log.children.length})` : "";
}

function endedText(frame) {
  if (frame.reason === "quick_exit") return t("console.ended_quick_exit");
  if (frame.by === "visitor") return t("console.ended_by_visitor");
  return t("console.ended");
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
        confirmLine(chat, frame.client_id, frame.seq, frame.ts);
        return true;
      }
      line(chat, frame.sender, frame.text, { ts: frame.ts });
      if (frame.sender === "visitor") {
        chat.lastVisitorTs = frame.ts;
        chat.typing = false;
        showVisitorState(chat);
        markUnread(chat);
        if (!isLooking(chat)) attention("message");
      }
      return true;
    case "chat_state":
      if (chat) {
        chat.seen.add(frame.seq);
        if (!chat.takenMs && frame.ts) { chat.takenMs = frame.ts; showTimes(chat); }
      }
      return true;
    case "idle_warning":
      if (chat) showIdle(chat, frame.lapses_in_s);
      return true;
    case "idle_cleared":
      if (chat) chat.node.querySelector(".idle").hidden = true;
      return true;
    case "typing":
      if (chat) { chat.typing = frame.active === true; showVisitorState(chat); }
      return true;
    case "visitor_not_alone":
      if (chat) showNotAlone(chat, frame.on === true);
      return true;
    case "visitor_presence":
      if (chat) { chat.online = frame.online === true; showVisitorState(chat); }
      return true;
    case "chat_ended":
      if (chat && frame.by === "visitor") { chat.left = true; attention("ended"); }
      closeChat(frame.chat_id, endedText(frame), { outcomePending: frame.outcome_pending === true });
      return true;
    case "outcome_saved":
      if (chat) outcomeSaved(chat);
      return true;
    case "outcomes_pending":
      for (const item of frame.chats) reopenForOutcome(item);
      return true;
    case "chat_released":
    case "transferred":
      if (chat && (frame.type === "chat_released" || chat.releasing)) {
        const text = frame.to
          ? t("console.transferred_to", { name: app.names.get(frame.to) ?? frame.to })
          : t("console.transferred_to_queue");
        closeChat(frame.chat_id, text, { finished: false });
      }
      return true;
    case "chat_transferred":
      if (chat && frame.seq) chat.seen.add(frame.seq);
      if (chat && chat.releasing) {
        // The release notice normally follows at once and names the colleague.
        setTimeout(() => closeChat(frame.chat_id, t("console.transferred"), { finished: false }), 2000);
      }
      return true;
    case "note":
      if (chat) {
        const box = chat.context.querySelector("textarea.note");
        if (frame.saved) chat.context.querySelector(".note-status").textContent = t("console.note_saved");
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
    if (box && !box.value) box.value = item.querySelector(".msg-text").textContent;
    if (frame.code === "chat_not_found") closeChat(chat.id, t("console.chat_gone"));
  }
}
