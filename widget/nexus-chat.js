/* nexus-chat widget loader (Nexus, Uppsala kommun); embedding: docs/widget.md. Nothing inline (strict CSP). */
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
    layout: data.layout === "page" ? "page" : "",
    kiosk: flag(data.kiosk),
    kioskIdleS: Number(data.kioskIdleS) > 0 ? Number(data.kioskIdleS) : 180,
  };
  // The rest loads when the page is idle; at once for a chat to resume or data-open.
  let loading = false;
  const load = () => {
    if (loading) return;
    loading = true;
    import(`${options.base}js/app.js`).then(
      (app) => app.start(options),
      () => { window.__nexusChat = false; },
    );
  };
  const resuming = () => {
    try {
      return sessionStorage.getItem("nexus-chat") !== null;
    } catch {
      return false;
    }
  };
  const whenIdle = () => (window.requestIdleCallback
    ? requestIdleCallback(load, { timeout: 2000 })
    : setTimeout(load, 200));
  if (options.open || options.layout || resuming()) load();
  else if (document.readyState === "complete") whenIdle();
  else addEventListener("load", whenIdle, { once: true });
})();
