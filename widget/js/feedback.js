// The anonymous survey after a chat (brukarundersökning). After `ended` of a chat a counsellor
// answered, the server sends `{"type": "feedback", "token"}`; the ended screen then asks two
// optional questions and POSTs {"token", "helped": 1-5|null, "contact_again":
// "yes"|"no"|"unsure"|null} to /api/feedback (204). Nothing is shown without a token.

import { h, setText, uid } from "./dom.js";
import { translate } from "./i18n.js";
import { requestJson } from "./net.js";

function choices(legendKey, values, hintKey) {
  const name = uid("fb");
  const hint = hintKey ? h("p", { id: uid("fb"), class: "hint", text: hintKey }) : null;
  return h("fieldset", { "aria-describedby": hint?.id },
    h("legend", { text: legendKey }), hint,
    ...values.map(([value, key]) => {
      const id = uid("fb");
      return h("span", { class: "check" },
        h("input", { type: "radio", name, id, value }),
        key ? h("label", { for: id, text: key }) : h("label", { for: id }, value));
    }));
}

const chosen = (fieldset) => fieldset.querySelector("input:checked")?.value ?? null;

/** Fill `container` with the survey for `token` (or empty it when there is none). */
export function installFeedback(ctx, container, token) {
  container.replaceChildren();
  if (typeof token !== "string" || !token) return;
  const helped = choices("feedback_helped", ["1", "2", "3", "4", "5"].map((n) => [n, null]),
    "feedback_scale_hint");
  const again = choices("feedback_contact_again",
    [["yes", "yes"], ["no", "no"], ["unsure", "unsure"]]);
  const submit = h("button", { type: "submit", text: "feedback_send" });
  const result = h("p", { role: "status" });
  const form = h("form", { onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const score = chosen(helped);
    const { status } = await requestJson(ctx.api("/api/feedback"), {
      token, helped: score === null ? null : Number(score), contact_again: chosen(again),
    });
    setText(result, status >= 200 && status < 300 ? "feedback_thanks" : "feedback_failed");
    form.replaceWith(result);
    translate(result);
  } }, h("p", { text: "feedback_intro" }), helped, again, submit);
  container.append(form);
  translate(container);
}
