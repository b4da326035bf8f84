"use strict";
/* Duty console: one WebSocket to /ws/console; chats side by side. */
const $ = (id) => document.getElementById(id);
const chats = new Map(); // chat_id -> {node, seen:Set, pending:Map}
let ws = null;
let clientSeq = 0;
let retry = 0;

function send(frame) {
  if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
  notice("Ingen anslutning – försök igen. (Not connected.)");
  return false;
}

function notice(text) { $("notice").textContent = text; }

function connect() {
  ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws/console`);
  ws.onopen = () => { retry = 0; };
  ws.onmessage = (event) => receive(JSON.parse(event.data));
  ws.onclose = (event) => {
    ws = null;
    if (event.code === 4401) { location.href = "/console/login"; return; }
    $("service").textContent = "Anslutningen bröts, försöker igen… (reconnecting)";
    setTimeout(connect, Math.min(8000, 500 * 2 ** retry++));
  };
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

function openChat(info) {
  if (chats.has(info.chat_id)) return chats.get(info.chat_id);
  const node = $("chat-template").content.firstElementChild.cloneNode(true);
  node.dataset.chatId = info.chat_id;
  node.querySelector(".alias").textContent = info.alias;
  const chat = { node, alias: info.alias, seen: new Set(), pending: new Map() };
  chats.set(info.chat_id, chat);
  const textarea = node.querySelector("textarea");
  node.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (!text) return;
    const clientId = `k${++clientSeq}`;
    if (!send({ type: "message", chat_id: info.chat_id, text, client_id: clientId })) return;
    chat.pending.set(clientId, line(chat, "counsellor", text, "pending"));
    textarea.value = "";
  });
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); node.querySelector("form").requestSubmit(); }
  });
  node.querySelector(".end").addEventListener("click", () => send({ type: "end", chat_id: info.chat_id }));
  $("chats").append(node);
  $("no-chats").hidden = true;
  return chat;
}

function closeChat(chatId, text) {
  const chat = chats.get(chatId);
  if (!chat) return;
  line(chat, "system", text);
  chat.node.classList.add("ended");
  chat.node.querySelector("form").remove();
  const end = chat.node.querySelector(".end");
  end.textContent = "Stäng (close)";
  end.onclick = () => { chat.node.remove(); chats.delete(chatId); $("no-chats").hidden = chats.size > 0; };
}

function renderQueue(frame) {
  $("waiting").textContent = frame.waiting;
  const list = $("queue-list");
  list.replaceChildren();
  for (const item of frame.chats) {
    const li = document.createElement("li");
    const mins = Math.floor(item.waited_s / 60);
    li.textContent = `${item.alias} · ${mins} min${item.urgent ? " · BRÅDSKANDE (urgent)" : ""} `;
    const take = document.createElement("button");
    take.type = "button";
    take.textContent = "Ta (take)";
    take.addEventListener("click", () => send({ type: "take", chat_id: item.chat_id }));
    li.append(take);
    list.append(li);
  }
}

function receive(frame) {
  switch (frame.type) {
    case "hello":
      $("me").textContent = frame.name;
      $("presence").value = frame.presence;
      $("csrf").value = frame.csrf;
      $("service").textContent = "";
      for (const info of frame.chats) openChat(info);
      break;
    case "queue": renderQueue(frame); break;
    case "presence": $("presence").value = frame.presence; break;
    case "chat_opened": openChat(frame); notice(""); break;
    case "message": {
      const chat = chats.get(frame.chat_id);
      if (!chat || chat.seen.has(frame.seq)) break;
      chat.seen.add(frame.seq);
      if (frame.client_id && chat.pending.has(frame.client_id)) {
        confirmLine(chat, frame.client_id, frame.seq);
        break;
      }
      line(chat, frame.sender, frame.text);
      if (frame.sender === "visitor") chat.node.querySelector(".typing").hidden = true;
      break;
    }
    case "ack": {
      const chat = chats.get(frame.chat_id);
      if (chat && chat.pending.has(frame.client_id)) confirmLine(chat, frame.client_id, frame.seq);
      if (chat) chat.seen.add(frame.seq);
      break;
    }
    case "chat_state": {
      const chat = chats.get(frame.chat_id);
      if (chat) chat.seen.add(frame.seq);
      break;
    }
    case "typing": {
      const chat = chats.get(frame.chat_id);
      if (chat) chat.node.querySelector(".typing").hidden = !frame.active;
      break;
    }
    case "visitor_presence": {
      const chat = chats.get(frame.chat_id);
      if (chat) chat.node.querySelector(".presence").textContent =
        frame.online ? "" : "Besökaren är frånkopplad (visitor disconnected)";
      break;
    }
    case "chat_ended": {
      const text = frame.reason === "quick_exit" ? "Besökaren lämnade snabbt (the visitor left quickly)"
        : frame.by === "visitor" ? "Besökaren avslutade chatten (the visitor ended the chat)"
        : "Chatten är avslutad (chat ended)";
      closeChat(frame.chat_id, text);
      break;
    }
    case "service":
      $("service").textContent = frame.status === "ok" ? "" : "Redis otillgänglig – tjänsten är nere (service unavailable)";
      break;
    case "error": {
      notice(`${frame.message} (${frame.code})`);
      for (const chat of chats.values()) {
        const item = frame.client_id && chat.pending.get(frame.client_id);
        if (item) {
          chat.pending.delete(frame.client_id);
          item.remove();
          const box = chat.node.querySelector("textarea");
          if (box && !box.value) box.value = item.lastChild.textContent;
        }
        if (frame.code === "chat_not_found" && item) closeChat(chat.node.dataset.chatId, "Chatten finns inte längre (chat no longer exists)");
      }
      break;
    }
  }
}

$("presence").addEventListener("change", (e) => send({ type: "presence", presence: e.target.value }));
$("take-next").addEventListener("click", () => send({ type: "take" }));
connect();
