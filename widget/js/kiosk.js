// Kiosk mode: a shared device starts clean in the same page, with no network needed (docs/widget.md).

import * as storage from "./storage.js";

const INPUT_EVENTS = ["pointerdown", "keydown", "input", "wheel"];
const LEAVE_WAIT_MS = 150;
const RETRY_MAX_MS = 15000;
const GRACE_MAX_MS = 30000; // "Är du kvar?" stays this long (at most) before the reset
let pageTitle = null;

export function installKiosk(ctx) {
  if (pageTitle === null) pageTitle = document.title;
  const idleMs = ctx.opts.kioskIdleS * 1000;
  let timer = 0;
  let warned = false;
  const touch = () => {
    clearTimeout(timer);
    if (warned) ctx.notice(null);
    warned = false;
    timer = setTimeout(warn, idleMs);
  };
  const warn = () => {
    warned = true;
    ctx.notice("kiosk_idle", null, { key: "kiosk_stay", run: touch });
    timer = setTimeout(() => ctx.kioskReset(), Math.min(idleMs, GRACE_MAX_MS));
  };
  for (const name of INPUT_EVENTS) {
    window.addEventListener(name, touch, { capture: true, passive: true, signal: ctx.signal });
  }
  const attention = ctx.attention;
  ctx.attention = () => {
    touch(); // a counsellor's message: someone may be reading it
    attention();
  };
  if (storage.read().token) touch(); // a chat resumed after a reload
  ctx.root.host.dataset.kioskArmed = ""; // from now on a touch starts the idle period
  const retry = setInterval(() => {
    if (ctx.current === "unavailable") ctx.refreshStatus();
  }, Math.min(idleMs, RETRY_MAX_MS));
  ctx.signal.addEventListener("abort", () => {
    clearTimeout(timer);
    clearInterval(retry);
  });
  ctx.kioskReset = async (leaving) => {
    if (ctx.resetting) return;
    ctx.resetting = true;
    const ending = leaving || ctx.chat.quickEnd(LEAVE_WAIT_MS);
    storage.clear();
    ctx.destroy();
    document.title = pageTitle;
    try {
      history.replaceState(null, "", location.href); // drops any state; adds no entry
    } catch {
      // Nothing to replace.
    }
    await ending;
    storage.clear();
    await ctx.restart();
    for (const name of ["visibility", "opacity"]) document.documentElement.style.removeProperty(name);
  };
}
