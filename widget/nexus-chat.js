/* nexus-chat widget loader: anonymous chat with Nexus, Uppsala kommun.
 * Embed with one tag (options as data attributes, all optional; see docs/widget.md):
 *   <script src="https://chat.example/widget/nexus-chat.js" data-lang="sv" defer></script>
 * This classic script only reads its options and loads the widget's modules (widget/js/*.js)
 * from the same directory. Nothing inline, so it runs under a strict Content-Security-Policy.
 * No cookies, no localStorage, no IndexedDB; nothing is requested from any third party. */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__nexusChat) return;
  window.__nexusChat = true;

  const data = script.dataset;
  const webUrl = (value, fallback) => {
    try {
      const url = new URL(value || fallback, document.baseURI);
      return /^https?:$/.test(url.protocol) ? url.href : fallback;
    } catch {
      return fallback;
    }
  };
  const flag = (value) => value === "" || value === "true";
  const options = {
    base: new URL(".", script.src).href,
    server: (data.server || new URL(script.src).origin).replace(/\/+$/, ""),
    lang: (data.lang || "").toLowerCase(),
    exitUrl: webUrl(data.exitUrl, "https://www.smhi.se/"),
    exitPath: data.exitPath || "/",
    discreet: flag(data.discreet),
    discreetTitle: data.discreetTitle || "",
    maxChars: Number(data.maxChars) > 0 ? Number(data.maxChars) : 2000,
    open: flag(data.open),
    cover: data.cover || "neutral",
  };
  import(`${options.base}js/app.js`).then(
    (app) => app.start(options),
    () => { window.__nexusChat = false; },
  );
})();
