/* One language at a time on staff pages (docs/design.md).

   Swedish by default; English is a setting of the session: `?lang=en` (or `?lang=sv`) in any
   staff page's address, or the language choice in a page's settings, stores the choice in
   sessionStorage, so it lasts for the tab and dies with it. Pages are written in Swedish; an
   element that has text in the string tables carries `data-i18n="key"` (its text) and/or
   `data-i18n-attr="aria-label:key placeholder:key2"` (attributes). `translatePage()` fills
   them from the table of the chosen language and sets <html lang>. Text made by scripts uses
   `t("key", {name: value})`, which replaces `{name}` placeholders. A key missing from the
   chosen table falls back to Swedish and then to the key itself (and warns once). */
import { COMMON_STRINGS } from "./staff-strings.js";

export const LANGUAGES = ["sv", "en"];
const STORAGE_KEY = "nexus.staff.lang";
const LOCALES = { sv: "sv-SE", en: "en-GB" };
const tables = { sv: {}, en: {} };
const warned = new Set();

function stored() {
  try { return sessionStorage.getItem(STORAGE_KEY) || ""; } catch { return ""; }
}

function store(value) {
  try { sessionStorage.setItem(STORAGE_KEY, value); } catch { /* storage off: this page only */ }
}

function pickLanguage() {
  const fromUrl = new URLSearchParams(location.search).get("lang") ?? "";
  if (LANGUAGES.includes(fromUrl)) { store(fromUrl); return fromUrl; }
  const kept = stored();
  return LANGUAGES.includes(kept) ? kept : "sv";
}

/** The language of this page: "sv" or "en". */
export const lang = pickLanguage();
/** The BCP 47 locale for dates and numbers in that language (24-hour clock in both). */
export const locale = LOCALES[lang];

/** Add a page's strings: `{sv: {key: text}, en: {key: text}}`. Later tables win. */
export function addStrings(table) {
  for (const code of LANGUAGES) Object.assign(tables[code], table[code] ?? {});
}
addStrings(COMMON_STRINGS);

/** The text for `key` in the page's language, with `{name}` placeholders from `vars`. */
export function t(key, vars = {}) {
  let text = tables[lang][key] ?? tables.sv[key];
  if (text === undefined) {
    if (!warned.has(key)) { warned.add(key); console.warn(`staff-i18n: no text for ${key}`); }
    text = key;
  }
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

/** Fill every `data-i18n` / `data-i18n-attr` element under `root` (the document, with its
    <template>s, or any element or fragment). */
export function translatePage(root = document) {
  if (root === document) document.documentElement.lang = lang;
  const nodes = [...root.querySelectorAll("[data-i18n], [data-i18n-attr]")];
  if (root instanceof Element && root.matches("[data-i18n], [data-i18n-attr]")) nodes.push(root);
  for (const node of nodes) {
    if (node.dataset.i18n) node.textContent = t(node.dataset.i18n);
    for (const pair of (node.dataset.i18nAttr ?? "").split(/\s+/).filter(Boolean)) {
      const [attr, key] = pair.split(":");
      node.setAttribute(attr, t(key));
    }
  }
  for (const template of root.querySelectorAll("template")) translatePage(template.content);
}

/** Change the session's language; the page reloads in it. */
export function setLanguage(next) {
  if (!LANGUAGES.includes(next) || next === lang) return;
  store(next);
  const url = new URL(location.href);
  url.searchParams.delete("lang");
  location.assign(url.toString());
}

/** Make `select` (options "sv" and "en", each labelled in its own language) choose the language. */
export function wireLanguageSelect(select) {
  select.value = lang;
  select.addEventListener("change", () => setLanguage(select.value));
}

const clocks = {
  short: new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }),
  long: new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
};

/** "14:05" (or "14:05:09") in the page's language; one cached formatter, cheap per call. */
export function clockTime(ms, { seconds = false } = {}) {
  return (seconds ? clocks.long : clocks.short).format(ms);
}

/** A duration as "45 s", "12 min" or "1 h 05 min". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
}
