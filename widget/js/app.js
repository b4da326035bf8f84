// The shell: launcher, panel, header, screens, service status; every module gets `ctx` from here.

import { createCallbackScreens } from "./callback.js";
import { createChat } from "./chat.js";
import { installCover } from "./cover.js";
import { h, setText, tel, toggle } from "./dom.js";
import { installQuickExit, quickExit } from "./exit.js";
import { fetchLanguage, i18n, loadIndex, pickLanguage, tr, translate, useLanguage } from "./i18n.js";
import { requestJson } from "./net.js";
import { createClosed, createPrechat, createUnavailable } from "./screens.js";
import * as storage from "./storage.js";

// Set through the CSSOM (allowed under a strict CSP), winning over the host page's stylesheets.
const HOST_STYLE = {
  all: "initial", display: "block", position: "static", transform: "none", filter: "none",
  contain: "none", opacity: "1", visibility: "visible",
};

export async function start(opts) {
  const saved = storage.read();
  fetchLanguage(opts.base, opts.lang || "sv"); // warm the cache while the index loads
  await loadIndex(opts.base);
  const lang = pickLanguage(saved.lang, opts.lang, document.documentElement.lang, "sv");
  if (!(await useLanguage(opts.base, lang))) await useLanguage(opts.base, "sv"); // refused: Swedish
  const ctx = createContext(opts, saved, lang);
  buildShell(ctx);
  installQuickExit(ctx);
  installCover(ctx);
  ctx.restart = () => start(opts);
  if (opts.kiosk) (await import("./kiosk.js")).installKiosk(ctx); // only kiosks fetch it
  ctx.refreshStatus();
  if (saved.token) {
    ctx.openPanel(true);
    ctx.chat.resume(saved);
  } else if (opts.open || ctx.page) {
    ctx.openPanel(true);
  }
}

function createContext(opts, saved, lang) {
  const listeners = new AbortController();
  const ctx = {
    stop: () => listeners.abort(),
    opts,
    defaults: { lang, discreet: opts.discreet, bigtext: false, contrast: false },
    discreet: saved.discreet ?? opts.discreet,
    view: { bigtext: saved.bigtext === true, contrast: saved.contrast === true }, // this tab only
    status: null, // the last /api/status answer, null when unknown (404: treated as open)
    reachable: true,
    callbacks: undefined, // undefined: not asked yet; null: not offered; object: the form data
    screens: {},
    current: "",
    home: "prechat",
    offers: new Set(),
    unread: 0,
    page: opts.layout === "page", // full page (/chatt): no launcher, no minimise
    signal: listeners.signal, // aborted by destroy(): ends the window listeners
  };
  ctx.api = (path) => `${opts.server}${path}`;
  ctx.wsUrl = `${opts.server.replace(/^http/, "ws")}/ws/visitor`;
  ctx.save = (patch) => storage.update(patch, ctx.defaults);
  return ctx;
}

function buildShell(ctx) {
  const host = document.createElement("nexus-chat");
  for (const [name, value] of Object.entries(HOST_STYLE)) {
    host.style.setProperty(name, value, "important");
  }
  host.style.setProperty("display", "none", "important"); // until the stylesheet has loaded
  const root = host.attachShadow({ mode: "open" });
  const css = h("link", { rel: "stylesheet", href: `${ctx.opts.base}nexus-chat.css` });
  const reveal = () => host.style.setProperty("display", "block", "important");
  css.addEventListener("load", reveal);
  css.addEventListener("error", reveal);

  const launcher = h("button", {
    class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "nc-panel",
    onclick: () => ctx.openPanel(launcher.getAttribute("aria-expanded") !== "true"),
  }, h("span", { class: "launcher-text", text: "launcher" }), h("span", { class: "badge", hidden: true }));
  // Shift-press dots (exit.js), not in the button's name.
  const steps = () => h("span", { class: "exit-steps", "aria-hidden": "true" },
    h("i"), h("i"), h("i"));
  const exitLabel = () => h("span", { text: "quick_exit" });
  const miniExit = h("button", {
    class: "exit mini", type: "button", onclick: () => quickExit(ctx),
  }, exitLabel(), steps());
  const dock = h("div", { class: "dock" }, miniExit, launcher);

  const title = h("h2", { id: "nc-title", text: "title" });
  const exit = h("button", { class: "exit", type: "button", onclick: () => quickExit(ctx) },
    exitLabel(), steps());
  const someone = h("button", { class: "someone", type: "button", text: "someone_coming",
    onclick: () => ctx.cover() });
  const close = ctx.page ? null : h("button", { class: "close", type: "button", label: "minimise",
    onclick: () => ctx.openPanel(false) }, h("span", { "aria-hidden": "true" }, "–"));
  const langSelect = h("select", { id: "nc-lang", onchange: () => ctx.setLanguage(langSelect.value) },
    ...i18n.languages.map(({ code, name }) => h("option", { value: code, lang: code }, name)));
  langSelect.value = i18n.lang;
  const discreet = h("input", { type: "checkbox", id: "nc-discreet",
    onchange: () => ctx.setDiscreet(discreet.checked) });
  const viewBoxes = {};
  const viewKeys = [["bigtext", "larger_text_label"], ["contrast", "contrast_label"]];
  const views = viewKeys.map(([name, key]) => {
    const box = viewBoxes[name] = h("input", { type: "checkbox", id: `nc-${name}`,
      onchange: () => ctx.setView(name, box.checked) });
    return h("span", { class: "check" }, box, h("label", { for: `nc-${name}`, text: key }));
  });
  const tools = h("div", { class: "tools" },
    h("span", { class: "field-inline" }, h("label", { for: "nc-lang", text: "language_label" }), langSelect),
    h("span", { class: "check" }, discreet, h("label", { for: "nc-discreet", text: "discreet_label" })),
    ...views);
  const danger = h("p", { class: "danger" }, h("span", { text: "danger" }), " ", tel("112", "112"));
  const noticeText = h("span");
  const noticeAction = h("button", { type: "button", class: "link", hidden: true });
  const notice = h("div", { class: "notice", role: "status", hidden: true }, noticeText, " ", noticeAction);
  const body = h("div", { class: "screens" });
  const announcer = h("div", { class: "sr-only", "aria-live": "polite" });
  const exitStatus = h("div", { class: "sr-only", role: "status" }); // outside the panel
  const panel = h("section", { id: "nc-panel", class: "panel", role: "dialog",
    "aria-modal": "false", "aria-labelledby": "nc-title", hidden: true },
  h("header", { class: "bar" }, title, someone, exit, close), tools, danger, notice, body, announcer);
  // WCAG 2.4.11: a focused control scrolls clear of the sticky header, however it wraps.
  const bar = panel.firstElementChild;
  new ResizeObserver(() => panel.style.setProperty("scroll-padding-block-start",
    `${bar.offsetHeight + 8}px`)).observe(bar);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ctx.page) {
      event.stopPropagation();
      ctx.openPanel(false);
    }
  });
  const wrap = h("div", { class: ctx.page ? "nc page" : "nc" }, dock, panel, exitStatus);
  if (ctx.page) { // the page itself (a region), not a dialog over one
    panel.removeAttribute("role");
    panel.removeAttribute("aria-modal");
  }
  root.append(css, wrap);
  ((ctx.page && document.getElementById("nexus-chat-page")) || document.body).append(host);
  Object.assign(ctx, { host, root, wrap, panel, launcher, body, langSelect, discreetBox: discreet });

  ctx.show = (name, focus = true) => {
    for (const [key, screen] of Object.entries(ctx.screens)) toggle(screen.node, key === name);
    if (["prechat", "chat", "closed", "unavailable"].includes(name)) ctx.home = name;
    ctx.current = name;
    ctx.screens[name].refresh?.();
    if (focus && !panel.hidden) ctx.focusScreen();
  };
  ctx.focusScreen = () => {
    if (ctx.covered) return; // never pull focus back into a covered widget
    const screen = ctx.screens[ctx.current];
    (screen.focusTarget?.() || screen.heading).focus();
  };
  ctx.back = () => ctx.show(ctx.home === "chat" && ctx.chat.mode === "idle" ? "prechat" : ctx.home);
  ctx.openPanel = (open) => {
    toggle(panel, open);
    wrap.classList.toggle("open", open);
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      ctx.unread = 0;
      ctx.updateBadge();
      ctx.focusScreen();
      if (ctx.current !== "chat") ctx.refreshStatus();
    } else {
      launcher.focus();
    }
  };
  ctx.exitStatus = (text) => {
    exitStatus.textContent = text;
  };
  ctx.announce = (text) => {
    announcer.append(h("p", {}, text));
    while (announcer.childElementCount > 3) announcer.firstElementChild.remove();
  };
  ctx.notice = (key, vars, action) => {
    toggle(notice, Boolean(key));
    if (key) setText(noticeText, key, vars);
    toggle(noticeAction, Boolean(action));
    if (action) {
      setText(noticeAction, action.key);
      noticeAction.onclick = action.run;
    }
    translate(notice);
  };
  ctx.updateBadge = () => {
    const badge = launcher.querySelector(".badge");
    toggle(badge, ctx.unread > 0);
    setText(badge, "unread", { count: ctx.unread });
    translate(launcher);
  };
  ctx.updateOffers = () => {
    for (const offer of ctx.offers) toggle(offer.node, Boolean(ctx.callbacks) && offer.wanted());
  };
  ctx.loadCallbacks = async (fresh = false) => {
    if (ctx.callbacks !== undefined && !(fresh && ctx.callbacks)) return ctx.callbacks;
    if (ctx.status && ctx.status.callbacks === false) ctx.callbacks = null;
    else {
      const { status, data } = await requestJson(ctx.api("/api/callbacks/form"));
      ctx.callbacks = status === 200 && data && Array.isArray(data.days) ? data : null;
      if (status === 0) setTimeout(() => { ctx.callbacks = undefined; }, 30000);
    }
    ctx.updateOffers();
    return ctx.callbacks;
  };
  ctx.refreshStatus = async () => {
    const { status, data } = await requestJson(ctx.api("/api/status"));
    // Down, or an answer without CORS? A widget file always has CORS: it tells them apart.
    ctx.reachable = status !== 0
      || (await requestJson(ctx.api("/widget/i18n/index.json"))).status !== 0;
    ctx.status = status === 200 && data ? data : null;
    if (ctx.status && ctx.status.callbacks === false) ctx.callbacks = null;
    else if (ctx.status && ctx.status.callbacks && ctx.callbacks === null) ctx.callbacks = undefined;
    if (["prechat", "closed", "unavailable"].includes(ctx.current) || !ctx.current) {
      ctx.show(ctx.entryScreen(), ctx.current !== ctx.entryScreen() && Boolean(ctx.current));
    }
    ctx.loadCallbacks();
  };
  ctx.entryScreen = () => {
    if (!ctx.reachable) return "unavailable";
    if (ctx.status && (ctx.status.intake_open === false || ctx.status.paused)) return "closed";
    return "prechat";
  };
  setupPreferences(ctx);

  ctx.screens.prechat = createPrechat(ctx);
  ctx.chat = ctx.screens.chat = createChat(ctx);
  ctx.screens.closed = createClosed(ctx);
  ctx.screens.unavailable = createUnavailable(ctx);
  Object.assign(ctx.screens, createCallbackScreens(ctx));
  for (const screen of Object.values(ctx.screens)) body.append(screen.node);
  ctx.applyLanguage();
  ctx.applyDiscreet();
  ctx.setView = (name, on) => {
    ctx.view[name] = on;
    ctx.save({ [name]: on });
    for (const [key, box] of Object.entries(viewBoxes)) {
      box.checked = ctx.view[key];
      wrap.classList.toggle(key, ctx.view[key]);
    }
  };
  ctx.setView("bigtext", ctx.view.bigtext);
  ctx.show("prechat", false);
}

function setupPreferences(ctx) {
  let pageTitle = null;
  let audio = null;

  ctx.applyLanguage = () => {
    ctx.wrap.lang = i18n.lang;
    ctx.wrap.dir = i18n.dir;
    ctx.langSelect.value = i18n.lang;
    for (const screen of Object.values(ctx.screens)) screen.refresh?.();
    translate(ctx.root);
    if (ctx.discreet && pageTitle !== null) document.title = ctx.opts.discreetTitle || tr("discreet_title");
  };
  ctx.setLanguage = async (code) => {
    if (await useLanguage(ctx.opts.base, code)) {
      ctx.applyLanguage();
      ctx.save({ lang: code });
    } else {
      ctx.langSelect.value = i18n.lang;
    }
  };
  ctx.applyDiscreet = () => {
    const on = ctx.discreet;
    ctx.discreetBox.checked = on;
    ctx.wrap.classList.toggle("discreet", on);
    setText(ctx.launcher.querySelector(".launcher-text"), on ? "launcher_discreet" : "launcher");
    setText(ctx.root.getElementById("nc-title"), on ? "title_discreet" : "title");
    if (on && pageTitle === null) pageTitle = document.title;
    if (on) document.title = ctx.opts.discreetTitle || tr("discreet_title");
    else if (pageTitle !== null) {
      document.title = pageTitle;
      pageTitle = null;
    }
    if (on && audio) {
      audio.close();
      audio = null;
    }
    translate(ctx.wrap);
  };
  ctx.setDiscreet = (on) => {
    ctx.discreet = on;
    ctx.save({ discreet: on });
    ctx.applyDiscreet();
  };
  // Needs a user gesture (the start button). Discreet: never.
  ctx.prepareSound = () => {
    if (ctx.discreet || audio || !window.AudioContext) return;
    try {
      audio = new AudioContext();
    } catch {
      audio = null;
    }
  };
  // A counsellor wrote or joined: badge; outside discreet mode a soft tone and title in the background.
  ctx.attention = () => {
    if (ctx.covered) return; // "Någon kommer": no badge, sound or title while covered
    if (ctx.panel.hidden) {
      ctx.unread += 1;
      ctx.updateBadge();
    }
    if (ctx.discreet || !document.hidden) return;
    if (audio) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      gain.gain.value = 0.05;
      tone.frequency.value = 660;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    }
    if (pageTitle === null) pageTitle = document.title;
    document.title = tr("title_unread", { title: pageTitle });
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !ctx.discreet && pageTitle !== null) {
      document.title = pageTitle;
      pageTitle = null;
    }
  }, { signal: ctx.signal });
  ctx.destroy = () => {
    ctx.stop();
    if (audio) audio.close();
    ctx.host.remove();
  };
}
