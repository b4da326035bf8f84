/* The standard-text picker: "/" at the start of a word in the message box (or the
   "Standardtexter" button) opens a searchable list of the standard texts in the page's
   language. Arrow keys move, Enter inserts, Escape goes back to the message box. A text with
   placeholders ({{tid}}) first asks for each one in a small form; a message that still holds
   a placeholder is not sent (console-chats.js asks for it). */
import { lang, t } from "/design/staff-i18n.js";

const PLACEHOLDER = /\{\{([^{}]{1,40})\}\}/g;
let pickerSeq = 0;

/** The first placeholder still in `text` ("tid" for "{{tid}}"), or "". */
export function unfilledPlaceholder(text) {
  PLACEHOLDER.lastIndex = 0;
  const found = PLACEHOLDER.exec(text);
  return found ? found[1] : "";
}

function placeholders(text) {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

function fold(text) {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

function matches(texts, query) {
  const words = fold(query).split(/\s+/).filter(Boolean);
  return texts.filter((item) => {
    const hay = fold(`${item.title[lang]} ${item.text[lang]}`);
    return words.every((w) => hay.includes(w));
  });
}

function parts(pane) {
  const picker = pane.querySelector(".picker");
  return {
    picker,
    search: picker.querySelector(".picker-search"),
    list: picker.querySelector(".picker-list"),
    choose: picker.querySelector(".picker-choose"),
    fill: picker.querySelector(".picker-fill"),
    fields: picker.querySelector(".picker-fields"),
    error: picker.querySelector(".picker-error"),
  };
}

function setActive(p, index) {
  const options = [...p.list.children];
  options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
  const active = options[index];
  if (active) {
    p.search.setAttribute("aria-activedescendant", active.id);
    active.scrollIntoView({ block: "nearest" });
  } else {
    p.search.removeAttribute("aria-activedescendant");
  }
  p.list.dataset.active = String(index);
}

function render(p, state) {
  const found = matches(state.texts(), p.search.value);
  state.found = found;
  p.list.replaceChildren(...found.map((item, i) => {
    const li = document.createElement("li");
    li.id = `${p.list.id}-${i}`;
    li.setAttribute("role", "option");
    const title = document.createElement("b");
    title.textContent = item.title[lang];
    const preview = document.createElement("span");
    preview.className = "picker-preview";
    preview.textContent = item.text[lang];
    li.append(title, preview);
    li.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus in the search
    li.addEventListener("click", () => choose(p, state, i));
    return li;
  }));
  p.picker.querySelector(".picker-empty").hidden = found.length > 0;
  setActive(p, found.length ? 0 : -1);
}

function close(p, state, { focusBox = true } = {}) {
  p.picker.hidden = true;
  p.fill.hidden = true;
  p.choose.hidden = false;
  p.fields.replaceChildren();
  p.error.textContent = "";
  if (focusBox) state.box.focus();
}

function insert(p, state, text) {
  const box = state.box;
  const start = Math.min(state.at, box.value.length);
  const end = Math.min(state.atEnd, box.value.length);
  close(p, state);
  box.setRangeText(text, start, end, "end");
  box.dispatchEvent(new Event("input"));
}

function choose(p, state, index) {
  const item = state.found[index];
  if (!item) return;
  const text = item.text[lang];
  const names = placeholders(text);
  if (!names.length) { insert(p, state, text); return; }
  state.chosen = text;
  p.choose.hidden = true;
  p.fill.hidden = false;
  p.picker.querySelector(".picker-fill-title").textContent = item.title[lang];
  p.fields.replaceChildren(...names.map((name, i) => {
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.htmlFor = `${p.list.id}-field-${i}`;
    label.textContent = name;
    const input = document.createElement("input");
    input.type = "text";
    input.id = label.htmlFor;
    input.dataset.placeholder = name;
    input.autocomplete = "off";
    field.append(label, input);
    return field;
  }));
  p.fields.querySelector("input").focus();
}

function fillAndInsert(p, state) {
  let text = state.chosen;
  for (const input of p.fields.querySelectorAll("input")) {
    const value = input.value.trim();
    if (!value) {
      p.error.textContent = t("console.placeholder_fill", { name: input.dataset.placeholder });
      input.focus();
      return;
    }
    text = text.split(`{{${input.dataset.placeholder}}}`).join(value);
  }
  insert(p, state, text);
}

const states = new WeakMap(); // pane -> picker state

/** Open the picker of `pane` for `box`; `query` prefills the search. */
export function openPicker(pane, box, texts, query = "") {
  const p = parts(pane);
  const state = states.get(pane);
  state.at = box.selectionStart ?? box.value.length;
  state.atEnd = box.selectionEnd ?? state.at;
  p.search.value = query;
  p.picker.hidden = false;
  p.fill.hidden = true;
  p.choose.hidden = false;
  render(p, state);
  p.search.focus();
}

/** Wire the picker of one chat pane (once, when the pane is made). */
export function wirePicker(pane, box, texts) {
  const p = parts(pane);
  p.list.id = `picker-${++pickerSeq}`;
  p.search.setAttribute("aria-controls", p.list.id);
  const state = { box, texts, found: [], at: 0, atEnd: 0, chosen: "" };
  states.set(pane, state);
  box.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.altKey || event.ctrlKey || event.metaKey) return;
    const before = box.value.slice(0, box.selectionStart ?? 0);
    if (before && !/\s$/.test(before)) return; // a "/" inside a word is just a slash
    event.preventDefault();
    openPicker(pane, box, texts, "");
  });
  p.search.addEventListener("input", () => render(p, state));
  p.search.addEventListener("keydown", (event) => {
    const at = Number(p.list.dataset.active ?? -1);
    const count = state.found.length;
    if (event.key === "ArrowDown" && count) { event.preventDefault(); setActive(p, (at + 1) % count); }
    else if (event.key === "ArrowUp" && count) { event.preventDefault(); setActive(p, (at - 1 + count) % count); }
    else if (event.key === "Enter") { event.preventDefault(); choose(p, state, at); }
    else if (event.key === "Escape") { event.preventDefault(); close(p, state); }
  });
  p.fill.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(p, state); }
    else if (event.key === "Enter" && event.target.matches("input")) { event.preventDefault(); fillAndInsert(p, state); }
  });
  p.picker.querySelector(".picker-insert").addEventListener("click", () => fillAndInsert(p, state));
  for (const cancel of p.picker.querySelectorAll(".picker-cancel")) {
    cancel.addEventListener("click", () => close(p, state));
  }
  p.picker.addEventListener("focusout", (event) => {
    if (!p.picker.hidden && event.relatedTarget && !p.picker.contains(event.relatedTarget)) {
      close(p, state, { focusBox: false });
    }
  });
}
