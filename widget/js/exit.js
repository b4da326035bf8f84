// Quick exit: the button or Shift x3 in 5 s; the page is hidden before any network (docs/widget.md).

import { tr } from "./i18n.js";
import * as storage from "./storage.js";

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 5000;
const LEAVE_WAIT_MS = 150; // longest wait for the end frame to leave before navigating

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

function hidePage(ctx) {
  for (const node of [document.documentElement, ctx.host]) {
    node.style.setProperty("visibility", "hidden", "important");
    node.style.setProperty("opacity", "0", "important"); // a child's visibility cannot undo it
  }
}

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
    // invalid path: the navigation below replaces the entry anyway
  }
  await leaving;
  window.location.replace(ctx.opts.exitUrl);
}
