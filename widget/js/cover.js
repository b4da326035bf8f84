// "Någon kommer": a harmless cover in the same event, before any network; the chat goes on (docs/widget.md).

import { h, toggle } from "./dom.js";
import { translate } from "./i18n.js";

const COVERS = ["neutral", "hidden"];

// Ctrl+Alt+H, not AltGr (which reports Ctrl+Alt too).
export function isCoverChord(event) {
  return event.code === "KeyH" && event.ctrlKey && event.altKey && !event.shiftKey
    && !event.metaKey && !event.getModifierState?.("AltGraph") && !event.repeat;
}

export function installCover(ctx) {
  const kind = COVERS.includes(ctx.opts.cover) ? ctx.opts.cover : "neutral";
  const heading = h("h2", { id: "nc-cover-title", tabindex: "-1", text: "cover_title" });
  const items = [1, 2, 3].flatMap((n) => [
    h("h3", { text: `cover_q${n}` }), h("p", { text: `cover_a${n}` }),
  ]);
  const back = h("button", { type: "button", class: "cover-back", text: "cover_back",
    onclick: () => ctx.uncover() });
  const cover = h("section", { class: "cover", "aria-labelledby": "nc-cover-title", hidden: true },
    heading, ...items, back);
  ctx.wrap.append(cover);
  translate(cover);
  let wasOpen = false;

  ctx.covered = false;
  ctx.cover = () => {
    if (ctx.covered || ctx.exiting) return;
    ctx.covered = true;
    wasOpen = !ctx.panel.hidden;
    ctx.wrap.classList.add("covered"); // hides the panel and the dock (stylesheet)
    toggle(cover, kind === "neutral");
    if (kind === "neutral") heading.focus();
    else if (ctx.root.activeElement) ctx.root.activeElement.blur();
    queueMicrotask(() => ctx.chat.setNotAlone(true)); // the network only after the cover
  };
  ctx.uncover = () => {
    if (!ctx.covered) return;
    ctx.covered = false;
    toggle(cover, false);
    ctx.wrap.classList.remove("covered");
    ctx.chat.setNotAlone(false);
    ctx.chat.reveal();
    if (wasOpen) ctx.focusScreen();
    else ctx.launcher.focus();
  };
  window.addEventListener("keydown", (event) => {
    if (!isCoverChord(event)) return;
    event.preventDefault();
    event.stopPropagation();
    if (ctx.covered) ctx.uncover();
    else ctx.cover();
  }, { capture: true, signal: ctx.signal });
}
