// Quick exit ("Lämna snabbt"): the button, or Shift pressed three times within five seconds
// anywhere on the page (as GOV.UK's "Exit this page"; Shift held for a capital letter does not
// count). The page is hidden in the very event of the click or key press, before anything goes
// over the network; then the chat ends on the server, the widget and everything it stored are
// removed, the current history entry is rewritten to a neutral address and the page replaced by
// a neutral site. Each Shift press fills one of three dots next to "Lämna snabbt" and is
// announced. Esc never exits (it only minimises the panel). What it cannot erase: docs/widget.md.

import { tr } from "./i18n.js";
import * as storage from "./storage.js";

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 5000;
const LEAVE_WAIT_MS = 150; // longest wait for the end frame to leave before navigating

/** Listen for the triple Shift on the whole page, showing and announcing each press. */
export function installQuickExit(ctx) {
  let presses = [];
  let combined = false; // Shift was held for another key (a capital letter): not a press
  let lapse = 0;
  const progress = (count) => {
    clearTimeout(lapse);
    ctx.wrap.dataset.exitStep = String(count);
    if (count) lapse = setTimeout(() => progress((presses = []).length), SHIFT_WINDOW_MS);
    ctx.exitStatus(count ? tr(`exit_shift_left_${SHIFT_PRESSES - count}`) : "");
  };
  window.addEventListener("keydown", (event) => {
    if (event.key === "Shift") {
      if (!event.repeat) combined = false;
      return;
    }
    if (presses.length) progress((presses = []).length);
    if (event.shiftKey) combined = true;
  }, { capture: true, signal: ctx.signal });
  window.addEventListener("keyup", (event) => {
    if (event.key !== "Shift" || combined || ctx.exiting) return;
    const now = performance.now();
    presses = presses.filter((at) => now - at < SHIFT_WINDOW_MS);
    presses.push(now);
    if (presses.length >= SHIFT_PRESSES) {
      presses = [];
      quickExit(ctx);
    } else {
      progress(presses.length);
    }
  }, { capture: true, signal: ctx.signal });
}

/** Hide everything on the page at once: no paint of the chat or the page after this. */
function hidePage(ctx) {
  for (const node of [document.documentElement, ctx.host]) {
    node.style.setProperty("visibility", "hidden", "important");
    node.style.setProperty("opacity", "0", "important"); // a child's visibility cannot undo it
  }
}

/** Leave now. The page is hidden first, then the end frame is sent, all in this event. */
export async function quickExit(ctx) {
  if (ctx.exiting) return;
  ctx.exiting = true;
  hidePage(ctx);
  const leaving = ctx.chat.quickEnd(LEAVE_WAIT_MS);
  if (ctx.kioskReset) {
    ctx.kioskReset(leaving); // a shared device: back to a clean start, not away (kiosk.js)
    return;
  }
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
