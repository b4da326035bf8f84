// Pre-chat, closed and unavailable screens: {node, heading, refresh?, focusTarget?}.

import { h, setText, tel, toggle, uid } from "./dom.js";
import { chatLanguages, i18n, minutes, routingCode, translate, when } from "./i18n.js";

export const TOPICS = [
  "violence_close", "honour", "sex_for_compensation", "older_person", "worried_other",
  "professional", "other",
];

export function screen(name, headingKey) {
  const heading = h("h3", { id: uid(name), tabindex: "-1", text: headingKey });
  const node = h("section", { class: `screen ${name}`, "aria-labelledby": heading.id, hidden: true },
    heading);
  return { node, heading };
}

export function alternatives() {
  return h("div", { class: "alternatives" },
    h("p", { class: "alt-heading", text: "alternatives_heading" }),
    h("ul", {},
      h("li", {}, h("strong", {}, "Kvinnofridslinjen"), " ", tel("020505050", "020-50 50 50"), " ",
        h("span", { text: "kvinnofrid_info" })),
      h("li", {}, h("span", { text: "emergency" }), " ", tel("112", "112")),
      h("li", {}, h("span", { text: "police" }), " ", tel("11414", "114 14"), " ",
        h("span", { text: "police_info" }))));
}

export function callbackOffer(ctx, textKey, wanted = () => true) {
  const node = h("div", { class: "offer", hidden: true },
    h("p", { text: textKey }),
    h("button", { type: "button", class: "primary", text: "callback_offer_button",
      onclick: () => ctx.openCallback("callback") }),
    h("button", { type: "button", class: "link", text: "callback_check_link",
      onclick: () => ctx.openCallback("callback_check") }));
  ctx.offers.add({ node, wanted });
  return node;
}

function noticeText(status) {
  const notice = status && status.notice;
  return notice ? notice[routingCode(i18n.lang)] || notice.en || notice.sv || "" : "";
}

// A new tab, so the chat's tab keeps its page and history.
export function legalLinks(ctx) {
  const link = (path, key) => h("a", { target: "_blank", rel: "noopener noreferrer",
    referrerpolicy: "no-referrer", "data-path": path, text: key });
  const node = h("p", { class: "legal" }, link("/integritet", "legal_privacy"), " · ",
    link("/tillganglighet", "legal_a11y"));
  const refresh = () => {
    for (const a of node.children) a.href = `${ctx.opts.server}${a.dataset.path}?lang=${i18n.lang}`;
  };
  refresh();
  return { node, refresh };
}

export function createPrechat(ctx) {
  const { node, heading } = screen("prechat", "prechat_heading");
  const notice = h("p", { class: "staff-notice", hidden: true });
  const hours = h("p", { hidden: true });
  const estimate = h("p", { hidden: true });
  const name = uid("safe");
  const radio = (value, key) => {
    const id = uid("safe");
    return h("span", { class: "check" },
      h("input", { type: "radio", name, id, value, onchange: () => safety(value) }),
      h("label", { for: id, text: key }));
  };
  const urgent = h("div", { class: "urgent", role: "alert" });
  const topicId = uid("topic");
  const topic = h("select", { id: topicId },
    h("option", { value: "", text: "topic_none" }),
    ...TOPICS.map((code) => h("option", { value: code, text: `topic_${code}` })));
  const langId = uid("chatlang");
  let langTouched = false;
  const chatLang = h("select", { id: langId, onchange: () => { langTouched = true; refresh(); } },
    ...chatLanguages().map(({ code, name: shown }) => h("option", { value: code, lang: code }, shown)));
  // Nobody on duty speaks the chosen language: say so, and offer a callback beside the chat.
  let nobodySpeaks = false;
  const languageNoneText = h("p", { text: "language_none", hidden: true });
  const languageNone = h("div", { class: "language-none", role: "status" }, languageNoneText);
  const legal = legalLinks(ctx);
  const numbers = alternatives();
  const offer = callbackOffer(ctx, "callback_prechat_text");
  const startButton = h("button", { type: "button", class: "primary start", text: "start",
    onclick: () => ctx.chat.begin({
      topic: topic.value,
      language: chatLang.value,
      urgent: node.querySelector("input[value=no]").checked,
    }) });

  function safety(value) {
    urgent.replaceChildren();
    if (value !== "no") return;
    urgent.append(
      h("p", { class: "big" }, h("span", { text: "urgent_call" }), " ", tel("112", "112")),
      h("p", { text: "urgent_queue" }));
    translate(urgent);
  }

  node.append(
    h("p", { text: "intro" }), notice, hours, estimate,
    h("p", { class: "hint", text: "optional" }),
    h("fieldset", {}, h("legend", { text: "safe_question" }),
      radio("yes", "safe_yes"), radio("no", "safe_no"), radio("skip", "safe_skip")),
    urgent,
    h("div", { class: "field" }, h("label", { for: topicId, text: "topic_label" }), topic),
    h("div", { class: "field" }, h("label", { for: langId, text: "chat_language_label" }), chatLang),
    languageNone,
    startButton,
    numbers,
    offer,
    legal.node);

  function refresh() {
    const status = ctx.status;
    if (!langTouched) chatLang.value = routingCode(i18n.lang);
    const onDuty = status?.languages_on_duty; // spoken by the counsellors available now
    nobodySpeaks = Array.isArray(onDuty) && onDuty.length > 0 && !onDuty.includes(chatLang.value);
    toggle(languageNoneText, nobodySpeaks);
    // The one callback offer: right under that notice, with its own text, or after the numbers.
    setText(offer.firstElementChild, nobodySpeaks ? "language_none_callback" : "callback_prechat_text");
    (nobodySpeaks ? languageNone : numbers).after(offer);
    legal.refresh();
    notice.textContent = noticeText(status);
    toggle(notice, Boolean(notice.textContent));
    toggle(hours, Boolean(status && status.closes_at));
    if (status && status.closes_at) setText(hours, "open_until", { time: when(status.closes_at, false) });
    const wait = status && status.estimated_wait_s;
    toggle(estimate, typeof wait === "number");
    if (typeof wait === "number") setText(estimate, "prechat_estimate", { duration: minutes(wait) });
    translate(node);
  }

  function reset() {
    for (const input of node.querySelectorAll("input")) input.checked = false;
    topic.value = "";
    langTouched = false;
    safety("");
  }

  return { node, heading, refresh, reset };
}

export function createClosed(ctx) {
  const { node, heading } = screen("closed", "closed_heading");
  const next = h("p");
  const notice = h("p", { class: "staff-notice", hidden: true });
  const legal = legalLinks(ctx);
  node.append(next, notice, alternatives(), callbackOffer(ctx, "callback_closed_text"), legal.node);

  function refresh() {
    const status = ctx.status || {};
    setText(heading, status.paused ? "paused_heading" : "closed_heading");
    if (status.next_opening) setText(next, "closed_next", { when: when(status.next_opening) });
    else setText(next, status.paused ? "paused_text" : "closed_no_next");
    notice.textContent = noticeText(status);
    toggle(notice, Boolean(notice.textContent));
    legal.refresh();
    translate(node);
  }

  return { node, heading, refresh };
}

export function createUnavailable(ctx) {
  const { node, heading } = screen("unavailable", "unavailable_title");
  const result = h("p", { role: "status" });
  const retry = h("button", { type: "button", class: "primary", text: "retry",
    onclick: async () => {
      setText(result, "retrying");
      translate(result);
      await ctx.refreshStatus();
      if (!ctx.reachable) {
        setText(result, "still_unavailable");
        translate(result);
      }
    } });
  node.append(h("p", { text: "unavailable_text" }), alternatives(), retry, result);

  function refresh() {
    result.textContent = "";
    delete result.dataset.i18n;
  }

  return { node, heading, refresh };
}
