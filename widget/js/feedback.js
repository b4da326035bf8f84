// The anonymous survey after a chat (docs/protocol.md, docs/statistics.md §5).

import { h, setText, uid } from "./dom.js";
import { translate } from "./i18n.js";
import { requestJson } from "./net.js";

// Configured text, in the widget's language if given (i18n.translate).
const texts = (tag, value, props = {}) =>
  h(tag, { ...props, "data-texts": JSON.stringify(value) });

function question(q) {
  const name = uid("fb");
  const hint = q.hint ? texts("p", q.hint, { id: uid("fb"), class: "hint" }) : null;
  return h("fieldset", { "data-question": q.id, "aria-describedby": hint?.id },
    texts("legend", q.text), hint,
    ...q.answers.map(({ value, text }) => {
      const id = uid("fb");
      let label;
      if (text) label = texts("label", text, { for: id });
      else if (q.kind === "yes_no") label = h("label", { for: id, text: value });
      else label = h("label", { for: id }, value);
      return h("span", { class: "check" }, h("input", { type: "radio", name, id, value }), label);
    }));
}

function answer(q, fieldset) {
  const value = fieldset.querySelector("input:checked")?.value ?? null;
  return q.kind === "scale" && value !== null ? Number(value) : value;
}

export function installFeedback(ctx, container, token, questions) {
  container.replaceChildren();
  if (typeof token !== "string" || !token || !Array.isArray(questions) || !questions.length) {
    return;
  }
  const fieldsets = questions.map((q) => [q, question(q)]);
  const submit = h("button", { type: "submit", text: "feedback_send" });
  const result = h("p", { role: "status" });
  const form = h("form", { onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const answers = Object.fromEntries(fieldsets.map(([q, fieldset]) => [q.id, answer(q, fieldset)]));
    const { status } = await requestJson(ctx.api("/api/feedback"), { token, answers });
    setText(result, status >= 200 && status < 300 ? "feedback_thanks" : "feedback_failed");
    form.replaceWith(result);
    translate(result);
  } }, h("p", { text: "feedback_intro" }), ...fieldsets.map(([, fieldset]) => fieldset), submit);
  container.append(form);
  translate(container);
}
