// The chat screen and the visitor side of docs/protocol.md. A refused or unsent message goes back into the input.

import { h, setText, toggle } from "./dom.js";
import { installFeedback } from "./feedback.js";
import { minutes, translate } from "./i18n.js";
import { Connection, endWithToken } from "./net.js";
import { alternatives, callbackOffer, screen } from "./screens.js";

const TYPING_IDLE_MS = 3000;
const UNSENT_GRACE_MS = 1500; // after a resume, unechoed messages count as not stored
const COUNT_SHOWN_BELOW = 200; // characters left before the counter appears
const SERVER_CLOSE_WAIT_MS = 5000; // after `ended`, the server's own close should come first

const ERROR_TEXT = {
  text_too_long: "error_too_long",
  rate_limited: "error_rate_limited",
  unavailable: "error_unavailable",
};

export function createChat(ctx) {
  const { node, heading } = screen("chat", "connecting");
  const max = ctx.opts.maxChars;
  const s = {
    mode: "idle", token: "", lastSeq: 0, seen: new Set(), pending: new Map(), clientSeq: 0,
    typingSent: false, typingTimer: 0, closeTimer: 0, queue: null, overflow: false,
    notAlone: false, notAloneSent: false, held: [],
  };
  const conn = new Connection(ctx.wsUrl, { frame: onFrame, closed: onClosed });

  const position = h("p", { role: "status" });
  const estimate = h("p", { hidden: true });
  const waitbox = h("div", { class: "waitbox" }, position, estimate,
    h("p", { text: "waiting_hint" }), callbackOffer(ctx, "callback_overflow_text", () => s.overflow),
    alternatives());
  const log = h("ol", { class: "log" });
  const logbox = h("div", { class: "logbox", role: "log", "aria-live": "polite", tabindex: "0",
    label: "log_label" }, log);
  const typing = h("p", { class: "typing", hidden: true, text: "typing" });
  const input = h("textarea", { id: "nc-input", rows: "3", dir: "auto",
    "aria-describedby": "nc-count nc-keys" });
  const count = h("p", { id: "nc-count", class: "count" });
  const form = h("form", { class: "compose", onsubmit: send },
    h("label", { for: "nc-input", text: "message_label" }), input, count,
    h("p", { id: "nc-keys", class: "hint", text: "keys_hint" }),
    h("button", { type: "submit", class: "primary", text: "send" }));
  const endButton = h("button", { type: "button", class: "end", text: "end", onclick: endChat });
  const feedback = h("div", { class: "feedback" });
  const endbox = h("div", { class: "endbox", hidden: true }, feedback, alternatives(),
    h("button", { type: "button", class: "primary", text: "new_chat", onclick: newChat }));
  node.append(waitbox, logbox, typing, form, endButton, endbox);

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
  });
  input.addEventListener("input", () => {
    showCount();
    if (s.mode !== "active") return;
    if (!s.typingSent && input.value.trim()) {
      s.typingSent = conn.send({ type: "typing", active: true });
    }
    clearTimeout(s.typingTimer);
    s.typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  function stopTyping() {
    clearTimeout(s.typingTimer);
    if (s.typingSent) conn.send({ type: "typing", active: false });
    s.typingSent = false;
  }

  function setMode(mode) {
    s.mode = mode;
    const live = mode === "waiting" || mode === "active";
    toggle(waitbox, mode === "waiting");
    toggle(form, live);
    toggle(endButton, live);
    toggle(endbox, mode === "ended");
    if (mode !== "active") toggle(typing, false);
    setText(heading, { connecting: "connecting", waiting: "waiting_heading",
      active: "active_heading", ended: "ended_heading" }[mode] || "connecting");
    refresh();
  }

  function refresh() {
    const q = s.queue;
    if (q) {
      setText(position, q.position <= 1 ? "waiting_first" : "waiting_position", q);
      toggle(estimate, typeof q.estimate_s === "number");
      if (typeof q.estimate_s === "number") {
        setText(estimate, "waiting_estimate", { duration: minutes(q.estimate_s) });
      }
    } else {
      setText(position, "waiting_hello");
    }
    ctx.updateOffers();
    translate(node);
  }

  function showCount() {
    const used = [...input.value.trim()].length;
    const over = used > max;
    if (over) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    count.classList.toggle("error", over);
    if (over) setText(count, "count_over", { count: used - max, max });
    else if (max - used < COUNT_SHOWN_BELOW) setText(count, "count_left", { count: max - used });
    else {
      count.textContent = "";
      delete count.dataset.i18n;
      return;
    }
    translate(form);
  }

  // Covered ("Någon kommer"): the other side's lines wait, unannounced, until reveal.
  function showLine(sender, text) {
    if (ctx.covered && sender !== "visitor") s.held.push([sender, text]);
    else addLine(sender, text);
  }

  function reveal() {
    for (const [sender, text] of s.held.splice(0)) addLine(sender, text);
  }

  function setNotAlone(on) {
    s.notAlone = on;
    tellNotAlone();
  }

  function tellNotAlone() {
    const live = s.mode === "waiting" || s.mode === "active";
    if (live && s.notAlone !== s.notAloneSent && conn.send({ type: "not_alone", on: s.notAlone })) {
      s.notAloneSent = s.notAlone;
    }
  }

  function addLine(sender, text) {
    const item = h("li", { class: `msg ${sender}` });
    if (sender === "system") item.append(h("span", { text }));
    else {
      item.append(h("span", { class: "who", text: sender === "visitor" ? "you" : sender }),
        " ", h("span", { dir: "auto" }, text));
    }
    translate(item);
    log.append(item);
    logbox.scrollTop = logbox.scrollHeight;
    return item;
  }

  function seenSeq(seq) {
    if (typeof seq !== "number") return;
    s.seen.add(seq);
    s.lastSeq = Math.max(s.lastSeq, seq);
  }

  function confirm(clientId) {
    const item = s.pending.get(clientId);
    s.pending.delete(clientId);
    item.classList.remove("pending");
  }

  function giveBack(clientId, key) {
    const item = s.pending.get(clientId);
    if (!item) return;
    s.pending.delete(clientId);
    item.remove();
    const text = item.dataset.text;
    input.value = input.value.trim() ? `${text}\n${input.value}` : text;
    showCount();
    if (key) ctx.notice(key);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        if (frame.token) {
          s.token = frame.token;
          ctx.save({ token: s.token }); // only the token: a reload replays the whole chat
        }
        ctx.notice(null);
        setMode(frame.state === "active" ? "active" : "waiting");
        if (frame.resumed) s.notAloneSent = false; // say it again: the flag may have lapsed
        tellNotAlone();
        if (ctx.root.activeElement === heading && !ctx.covered) input.focus();
        if (frame.resumed) {
          setTimeout(() => {
            for (const clientId of [...s.pending.keys()]) giveBack(clientId, "error_not_sent");
          }, UNSENT_GRACE_MS);
        }
        break;
      case "queue":
        s.queue = frame;
        s.overflow = Boolean(frame.overflow);
        if (s.overflow) ctx.loadCallbacks();
        refresh();
        break;
      case "message":
        if (s.seen.has(frame.seq)) break;
        seenSeq(frame.seq);
        if (frame.client_id && s.pending.has(frame.client_id)) {
          confirm(frame.client_id);
          break;
        }
        const who = /^(counsellor|supervisor)$/.test(frame.sender) ? frame.sender : "visitor";
        showLine(who, frame.text);
        if (who !== "visitor") {
          toggle(typing, false);
          ctx.attention();
        }
        break;
      case "state":
        // A colleague took over (a transfer): one calm line, once per stored event.
        if (frame.transferred && frame.state === "active" && s.mode === "active"
          && !s.seen.has(frame.seq)) showLine("system", "joined");
        seenSeq(frame.seq);
        if (s.mode !== "active") {
          setMode("active");
          showLine("system", "joined");
          ctx.attention();
        }
        break;
      case "supervisor": // a supervisor joined or left the conversation
        seenSeq(frame.seq);
        showLine("system", frame.joined ? "supervisor_joined" : "supervisor_left");
        break;
      case "typing":
        toggle(typing, s.mode === "active" && frame.active === true && !ctx.covered);
        break;
      case "ended":
        // a `feedback` offer may follow; the server closes
        finish({ counsellor: "ended_counsellor", visitor: "ended_visitor" }[frame.by]
          || "ended_system", true);
        break;
      case "feedback":
        if (s.mode === "ended") installFeedback(ctx, feedback, frame.token, frame.questions);
        break;
      case "idle_warning": // the chat lapses soon unless someone writes: one tap keeps it
        ctx.notice("idle_warning", { min: Math.max(1, Math.round(frame.lapses_in_s / 60)) },
          { key: "still_here", run: () => conn.send({ type: "still_here" }) });
        break;
      case "idle_cleared":
        ctx.notice(null);
        break;
      case "service":
        ctx.notice(frame.status === "unavailable" ? "notice_unavailable" : null);
        break;
      case "challenge": // many new chats at once: a little work first (docs/widget.md)
        answerChallenge(frame);
        break;
      case "error":
        onError(frame);
        break;
      default:
        break;
    }
  }

  function onError(frame) {
    if (frame.code === "closed") {
      conn.stop();
      forget();
      s.mode = "idle";
      ctx.refreshStatus().then(() => ctx.show("closed"));
      return;
    }
    if (frame.code === "chat_not_found") {
      finish("ended_expired");
      return;
    }
    const key = ERROR_TEXT[frame.code] || "error_not_sent";
    if (frame.client_id) giveBack(frame.client_id, key);
    else if (frame.code === "unavailable") ctx.notice("notice_unavailable");
  }

  async function answerChallenge(frame) {
    const hello = s.hello;
    const pow = await import("./pow.js").catch(() => null); // fetched on the first challenge only
    if (s.mode !== "connecting" || s.hello !== hello) return;
    if (!pow?.canSolve()) {
      conn.stop();
      s.mode = "idle";
      ctx.show("unavailable");
      return;
    }
    ctx.notice("challenge_wait");
    const solution = await pow.solve(frame.challenge, frame.bits,
      () => s.mode !== "connecting" || s.hello !== hello);
    // A pow_* error frame comes with a fresh challenge, which lands here again.
    if (solution) conn.send({ ...hello, challenge: frame.challenge, solution });
  }

  function onClosed(event, opened) {
    if (s.mode === "ended" || s.mode === "idle") return;
    if (event.code === 4404) {
      finish("ended_expired");
    } else if (event.code === 4409) {
      ctx.notice("notice_replaced", null, { key: "continue_here", run: () => {
        ctx.notice("reconnecting");
        conn.open(resumeHello);
      } });
    } else if (s.token) {
      const attempt = conn.retry(resumeHello);
      ctx.notice(attempt > 3 ? "reconnecting_long" : "reconnecting");
    } else {
      s.mode = "idle";
      ctx.reachable = opened;
      ctx.show("unavailable");
    }
  }

  const resumeHello = () => ({ type: "resume", token: s.token, last_seq: s.lastSeq });

  function clearLog() {
    clearTimeout(s.closeTimer);
    log.replaceChildren();
    s.seen.clear();
    s.pending.clear();
    s.lastSeq = 0;
    s.queue = null;
    s.overflow = false;
    s.held = [];
    s.notAloneSent = false;
    feedback.replaceChildren();
  }

  function begin(choices) {
    clearLog();
    s.token = "";
    ctx.prepareSound();
    setMode("connecting");
    ctx.show("chat");
    const hello = { type: "start", urgent: choices.urgent };
    if (choices.topic) hello.topic = choices.topic;
    if (choices.language) hello.language = choices.language;
    s.hello = hello;
    conn.open(() => hello);
  }

  function resume(saved) {
    clearLog();
    s.token = saved.token;
    s.lastSeq = 0; // replay the whole chat: the transcript is only kept in memory
    setMode("connecting");
    ctx.show("chat");
    conn.open(resumeHello);
  }

  function forget() {
    s.token = "";
    ctx.save({ token: null });
  }

  function finish(key, serverCloses = false) {
    clearTimeout(s.typingTimer);
    s.typingSent = false;
    if (serverCloses) s.closeTimer = setTimeout(() => conn.stop(), SERVER_CLOSE_WAIT_MS);
    else conn.stop();
    forget();
    for (const clientId of [...s.pending.keys()]) giveBack(clientId);
    ctx.notice(null);
    setMode("ended");
    showLine("system", key); // after any held lines, while the widget is covered
    translate(node);
    if (ctx.current === "chat") ctx.focusScreen();
  }

  function send(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if ([...text].length > max) {
      showCount();
      ctx.notice("error_too_long_local", { max });
      return;
    }
    const clientId = `c${++s.clientSeq}`;
    if (!conn.send({ type: "message", text, client_id: clientId })) {
      ctx.notice("error_offline");
      return;
    }
    stopTyping();
    const item = addLine("visitor", text);
    item.classList.add("pending");
    item.dataset.text = text;
    s.pending.set(clientId, item);
    input.value = "";
    showCount();
    input.focus();
  }

  async function endChat() {
    if (!conn.send({ type: "end" })) {
      if (s.token) await endWithToken(ctx.wsUrl, s.token, 1000, false);
      finish("ended_visitor");
    }
  }

  function newChat() {
    if (ctx.kioskReset) return void ctx.kioskReset(); // kiosk: a clean start for the next one
    clearLog();
    s.mode = "idle";
    ctx.screens.prechat.reset();
    ctx.refreshStatus();
    ctx.show(ctx.entryScreen());
  }

  // Quick exit: the end frame is sent synchronously.
  function quickEnd(limitMs) {
    clearTimeout(s.typingTimer);
    if (s.mode === "ended" || s.mode === "idle") return Promise.resolve();
    if (conn.send({ type: "end", quick: true })) {
      return conn.flush(limitMs).then(() => conn.stop());
    }
    conn.stop();
    return s.token ? endWithToken(ctx.wsUrl, s.token, limitMs * 2) : Promise.resolve();
  }

  function focusTarget() {
    return s.mode === "waiting" || s.mode === "active" ? input : heading;
  }

  return {
    node, heading, refresh, focusTarget, begin, resume, quickEnd, setNotAlone, reveal,
    get mode() { return s.mode; },
  };
}
