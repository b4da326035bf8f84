// Quick exit ("Lämna snabbt"): the button, or Shift pressed three times within five seconds
// anywhere on the page (as GOV.UK's "Exit this page"; Shift held for a capital letter does not
// count). It ends the chat on the server, removes the widget and everything it stored, rewrites
// the current history entry to a neutral address and replaces the page with a neutral site.
// What it cannot erase is listed in docs/widget.md.

import { tr } from "./i18n.js";
import * as storage from "./storage.js";

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 5000;
const LEAVE_WAIT_MS = 150; // longest wait for the end frame to leave before navigating

/** Listen for the triple Shift on the whole page. */
export function installQuickExit(ctx) {
  let presses = [];
  let combined = false; // Shift was held for another key (a capital letter): not a press
  window.addEventListener("keydown", (event) => {
    if (event.key === "Shift") {
      if (!event.repeat) combined = false;
      return;
    }
    presses = [];
    if (event.shiftKey) combined = true;
  }, true);
  window.addEventListener("keyup", (event) => {
    if (event.key !== "Shift" || combined) return;
    const now = performance.now();
    presses = presses.filter((at) => now - at < SHIFT_WINDOW_MS);
    presses.push(now);
    if (presses.length >= SHIFT_PRESSES) {
      presses = [];
      quickExit(ctx);
    } else if (!ctx.panel.hidden) {
      ctx.announce(tr("exit_shift_hint", { count: SHIFT_PRESSES - presses.length }));
    }
  }, true);
}

/** Leave now. The end frame is sent synchronously, before anything else happens. */
export async function quickExit(ctx) {
  if (ctx.exiting) return;
  ctx.exiting = true;
  const leaving = ctx.chat.quickEnd(LEAVE_WAIT_MS);
  storage.clear();
  ctx.destroy();
  try {
    history.replaceState(null, "", ctx.opts.exitPath);
  } catch {
    // A cross-origin or invalid path: the entry is replaced by the navigation below anyway.
  }
  await leaving;
  window.location.replace(ctx.opts.exitUrl);
}
