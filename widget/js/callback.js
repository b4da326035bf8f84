// Callback requests (docs/callbacks.md); the status code is shown once, never stored.

import { h, setText, toggle, uid } from "./dom.js";
import { chatLanguages, day, i18n, routingCode, tr, translate, when } from "./i18n.js";
import { requestJson } from "./net.js";
import { TOPICS, screen } from "./screens.js";

const WIDGET_MAX_WINDOWS = 3;
const STEP_MIN = 30;

const toMinutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const toHhmm = (total) =>
  `${String(Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;

function slots(dayInfo) {
  const start = toMinutes(dayInfo.start);
  const end = toMinutes(dayInfo.end);
  const times = [start];
  for (let t = Math.ceil((start + 1) / STEP_MIN) * STEP_MIN; t < end; t += STEP_MIN) times.push(t);
  times.push(end);
  return times.map(toHhmm);
}

function field(labelKey, control, hintKey) {
  const error = h("p", { id: uid("err"), class: "field-error", hidden: true });
  const hint = hintKey ? h("p", { id: uid("hint"), class: "hint", text: hintKey }) : null;
  control.id ||= uid("cb");
  control.setAttribute("aria-describedby", [hint?.id, error.id].filter(Boolean).join(" "));
  const node = h("div", { class: "field" }, h("label", { for: control.id, text: labelKey }),
    hint, control, error);
  return { node, control, error };
}

function choiceLabel(id, key, choice) {
  if (key in i18n.dict || key in i18n.fallback) return h("label", { for: id, text: key });
  const text = choice[`choice_${i18n.lang}`] || choice.choice_en || choice.choice_sv || choice.code;
  return h("label", { for: id }, text);
}

// What we say if someone else answers; null when the server offers none.
function openingField(config) {
  const choices = Array.isArray(config.openings) ? config.openings : [];
  if (!choices.length) return null;
  const hint = h("p", { id: uid("hint"), class: "hint", text: "cb_opening_hint" });
  const error = h("p", { id: uid("err"), class: "field-error", hidden: true });
  const name = uid("opening");
  const radios = [];
  const rows = choices.map((choice) => {
    const id = uid("cb");
    const radio = h("input", { type: "radio", name, id, value: choice.code,
      checked: choice.code === config.default_opening });
    radios.push(radio);
    return h("span", { class: "check" }, radio, choiceLabel(id, `cb_opening_${choice.code}`, choice));
  });
  const node = h("fieldset", { class: "openings", "aria-describedby": `${hint.id} ${error.id}` },
    h("legend", { text: "cb_opening_legend" }), hint, error, ...rows);
  return { node, error, control: radios[0], radios,
    value: () => radios.find((radio) => radio.checked)?.value };
}

export function createCallbackScreens(ctx) {
  const form = createForm(ctx);
  const done = screen("callback_done", "cb_done_heading");
  const check = createCheck(ctx);
  const code = h("p", { class: "code", dir: "ltr" });
  const windows = h("ul");
  done.node.append(h("p", { text: "cb_done_code_intro" }), code,
    h("p", { text: "cb_done_code_help" }), h("p", { text: "cb_done_windows" }), windows,
    h("button", { type: "button", class: "primary", text: "done", onclick: () => ctx.back() }));
  done.show = (answer) => {
    code.textContent = answer.code || "";
    windows.replaceChildren(...(answer.windows || []).map((w) =>
      h("li", {}, `${when(w.start)} – ${when(w.end, false)}`)));
    ctx.show("callback_done");
  };
  form.done = done;

  ctx.openCallback = async (name) => {
    if (name === "callback" && !(await ctx.loadCallbacks(true))) return; // today's days
    if (name === "callback") form.build(ctx.callbacks);
    ctx.show(name);
  };
  return { callback: form, callback_done: done, callback_check: check };
}

function createForm(ctx) {
  const self = screen("callback", "cb_heading");
  const summary = h("div", { class: "summary", role: "alert", tabindex: "-1", hidden: true });
  const holder = h("div");
  self.node.append(h("p", { text: "cb_intro" }), summary, holder);
  let parts = null;
  let config = null;

  self.build = (formConfig) => {
    config = formConfig;
    const maxWindows = Math.min(WIDGET_MAX_WINDOWS, Number(config.max_windows) || 1);
    const phone = field("cb_phone", h("input", { type: "tel", inputmode: "tel", autocomplete: "off",
      dir: "ltr" }), "cb_phone_hint");
    const windowsError = h("p", { id: uid("err"), class: "field-error", hidden: true });
    const rows = h("div");
    const add = h("button", { type: "button", text: "cb_add_window", onclick: () => addRow(true) });
    const windowsBox = h("fieldset", { class: "windows", "aria-describedby": windowsError.id },
      h("legend", { text: "cb_windows_legend", vars: { count: maxWindows } }), windowsError, rows, add);
    const voicemail = uid("cb");
    const sayNexus = uid("cb");
    const alias = field("cb_alias", h("input", { type: "text", autocomplete: "off", dir: "auto" }),
      "cb_alias_hint");
    const opening = openingField(config);
    const language = field("cb_language", h("select", {},
      ...chatLanguages().map(({ code, name }) => h("option", { value: code, lang: code }, name))));
    language.control.value = routingCode(i18n.lang);
    const topic = field("cb_topic", h("select", {}, h("option", { value: "", text: "topic_none" }),
      ...TOPICS.map((code) => h("option", { value: code, text: `topic_${code}` }))));
    const message = field("cb_message", h("textarea", { rows: "3", dir: "auto" }), "cb_message_hint");
    const submit = h("button", { type: "submit", class: "primary", text: "cb_submit" });
    const formNode = h("form", { novalidate: true, onsubmit: send },
      phone.node, windowsBox,
      h("div", { class: "check" }, h("input", { type: "checkbox", id: voicemail }),
        h("label", { for: voicemail, text: "cb_voicemail" })),
      h("div", { class: "check" }, h("input", { type: "checkbox", id: sayNexus }),
        h("label", { for: sayNexus, text: "cb_say_nexus" })),
      alias.node, opening?.node, language.node, topic.node, message.node, submit,
      h("button", { type: "button", text: "back", onclick: () => ctx.back() }));
    parts = { phone, windowsError, windowsBox, rows, add, maxWindows, alias, opening, language,
      topic, message, submit, voicemail: formNode.querySelector(`#${voicemail}`),
      sayNexus: formNode.querySelector(`#${sayNexus}`) };
    holder.replaceChildren(formNode);
    toggle(summary, false);
    addRow(false);
    translate(self.node);
  };

  function addRow(focus) {
    const n = parts.rows.childElementCount + 1;
    const error = h("p", { id: uid("err"), class: "field-error", hidden: true });
    const days = config.days || [];
    const dateSelect = h("select", { id: uid("cb") },
      ...days.map((d) => h("option", { value: d.date, "data-day": d.date }, day(d.date))));
    const from = h("select", { id: uid("cb") });
    const to = h("select", { id: uid("cb") });
    const fill = () => {
      const times = slots(days.find((d) => d.date === dateSelect.value) || days[0]);
      from.replaceChildren(...times.slice(0, -1).map((t) => h("option", { value: t }, t)));
      to.replaceChildren(...times.slice(1).map((t) => h("option", { value: t }, t)));
      to.value = times[times.length - 1];
    };
    dateSelect.addEventListener("change", fill);
    const pick = (labelKey, select) =>
      h("span", { class: "field-inline" }, h("label", { for: select.id, text: labelKey }), select);
    const row = h("fieldset", { class: "window", "aria-describedby": error.id },
      h("legend", { text: "cb_window", vars: { n } }), error,
      pick("cb_day", dateSelect), pick("cb_from", from), pick("cb_to", to));
    if (n > 1) {
      row.append(h("button", { type: "button", text: "cb_remove_window", vars: { n },
        onclick: () => { row.remove(); renumber(); parts.add.focus(); } }));
    }
    row.values = () => ({ date: dateSelect.value, start: from.value, end: to.value });
    row.error = error;
    fill();
    parts.rows.append(row);
    renumber();
    translate(row);
    if (focus) dateSelect.focus();
  }

  function renumber() {
    [...parts.rows.children].forEach((row, index) => {
      for (const node of row.querySelectorAll("legend, button")) {
        node.dataset.vars = JSON.stringify({ n: index + 1 });
      }
    });
    toggle(parts.add, parts.rows.childElementCount < parts.maxWindows);
    translate(parts.rows);
  }

  function clearErrors() {
    for (const error of self.node.querySelectorAll(".field-error")) {
      error.textContent = "";
      toggle(error, false);
    }
    for (const node of self.node.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    summary.replaceChildren();
    toggle(summary, false);
  }

  function errorText(error) {
    const kind = error.field.startsWith("window-") ? "window" : error.field;
    const ours = i18n.dict[`cb_err_${kind}_${error.code}`];
    const limits = { count: config.max_windows, days: config.max_days_ahead,
      minutes: config.min_window_min, alias_chars: config.max_alias_chars,
      message_chars: config.max_message_chars };
    return error[`message_${i18n.lang}`] || (ours && tr(`cb_err_${kind}_${error.code}`, limits))
      || error.message_en || error.message_sv || tr("cb_err_generic");
  }

  function showErrors(errors) {
    const rows = [...parts.rows.children];
    const places = { phone: parts.phone, alias: parts.alias, opening: parts.opening,
      language: parts.language, topic: parts.topic, message: parts.message };
    const list = h("ul");
    for (const error of errors) {
      const text = errorText(error);
      let line = null;
      let control = null;
      if (places[error.field]) ({ error: line, control } = places[error.field]);
      else if (error.field === "windows") [line, control] = [parts.windowsError, rows[0]?.querySelector("select")];
      else if (error.field.startsWith("window-")) {
        const row = rows[Number(error.field.slice(7)) - 1];
        if (row) [line, control] = [row.error, row.querySelector("select")];
      }
      if (line) {
        line.textContent = line.textContent ? `${line.textContent} ${text}` : text;
        toggle(line, true);
      }
      const invalid = error.field === "opening" && parts.opening ? parts.opening.radios : [control];
      for (const node of invalid) node?.setAttribute("aria-invalid", "true");
      list.append(h("li", {}, text));
    }
    summary.replaceChildren(h("p", { text: "cb_errors_heading" }), list);
    translate(summary);
    toggle(summary, true);
    summary.focus();
  }

  async function send(event) {
    event.preventDefault();
    clearErrors();
    const body = {
      phone: parts.phone.control.value,
      windows: [...parts.rows.children].map((row) => row.values()),
      voicemail_ok: parts.voicemail.checked,
      say_nexus_ok: parts.sayNexus.checked,
      alias: parts.alias.control.value,
      opening: parts.opening?.value(),
      language: parts.language.control.value,
      topic: parts.topic.control.value,
      message: parts.message.control.value,
    };
    parts.submit.disabled = true;
    let { status, data } = await requestJson(ctx.api("/api/callbacks"), body);
    // 428: solve the challenge and send again (three rounds at most).
    for (let round = 0; status === 428 && data?.challenge && round < 3; round += 1) {
      const pow = await import("./pow.js").catch(() => null); // fetched on the first 428 only
      if (!pow?.canSolve()) break;
      summary.replaceChildren(h("p", { role: "status", text: "challenge_wait" }));
      translate(summary);
      toggle(summary, true);
      const solution = await pow.solve(data.challenge, data.bits);
      ({ status, data } = await requestJson(ctx.api("/api/callbacks"),
        { ...body, challenge: data.challenge, solution }));
    }
    toggle(summary, false);
    parts.submit.disabled = false;
    if (status === 201 && data) {
      holder.replaceChildren(); // the phone number leaves the page as soon as it is sent
      self.done.show(data);
    } else if (status === 422 && data && Array.isArray(data.errors)) {
      showErrors(data.errors);
    } else {
      const key = status === 429 || status === 428 ? "cb_rate_limited" : status === 0 ? "cb_unreachable" : "cb_err_generic";
      summary.replaceChildren(h("p", { text: key }));
      translate(summary);
      toggle(summary, true);
      summary.focus();
    }
  }

  self.focusTarget = () => parts?.phone.control;
  self.refresh = () => {
    for (const option of self.node.querySelectorAll("option[data-day]")) {
      option.textContent = day(option.dataset.day);
    }
    translate(self.node);
  };
  return self;
}

function createCheck(ctx) {
  const self = screen("callback_check", "cb_check_heading");
  const input = h("input", { type: "text", autocomplete: "off", dir: "ltr", spellcheck: "false" });
  const codeField = field("cb_code_label", input);
  const result = h("div", { role: "status", class: "result" });
  const run = async (path, answer) => {
    const code = input.value.trim();
    if (!code) {
      show("cb_code_missing");
      input.focus();
      return;
    }
    const { status, data } = await requestJson(ctx.api(path), { code });
    if (status === 200 && data) answer(data);
    else show(status === 404 ? "cb_not_found" : status === 429 ? "cb_rate_limited"
      : status === 0 ? "cb_unreachable" : "cb_err_generic");
  };
  function show(key, vars, extra) {
    result.replaceChildren(h("p", { text: key, vars }), extra || "");
    translate(result);
  }
  const status = () => run("/api/callbacks/status", (data) => {
    const next = data.next_window && data.next_window.start
      ? h("p", { text: "cb_next_window", vars: { when: when(data.next_window.start) } }) : null;
    const known = ["pending", "in_progress", "retry"].includes(data.status);
    show(known ? `cb_status_${data.status}` : "cb_status_unknown", null, next);
  });
  const cancel = () => run("/api/callbacks/cancel", () => {
    show("cb_cancelled");
    input.value = "";
  });
  self.node.append(h("form", { onsubmit: (event) => { event.preventDefault(); status(); } },
    codeField.node,
    h("button", { type: "submit", class: "primary", text: "cb_check_button" }),
    h("button", { type: "button", text: "cb_cancel_button", onclick: cancel })),
  result, h("button", { type: "button", text: "back", onclick: () => ctx.back() }));
  self.focusTarget = () => input;
  self.refresh = () => {
    result.replaceChildren();
  };
  return self;
}
