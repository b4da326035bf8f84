// widget/i18n/<code>.json, listed in index.json. Missing keys: Swedish, then BUILT_IN (no file
// loaded: Swedish only, one language per screen).

const BUILT_IN = {
  launcher: "Chatta med Nexus",
  launcher_discreet: "Chatt",
  title: "Chatta med Nexus",
  title_discreet: "Chatt",
  quick_exit: "Lämna snabbt",
  close: "Stäng",
  unavailable_title: "Chatten fungerar inte just nu",
  unavailable_text: "Ring i stället:",
  alternatives_heading: "",
  kvinnofrid_info: "",
  emergency: "112:",
  police: "Polisen:",
  police_info: "",
  retry: "Försök igen",
  danger: "I fara? Ring",
};

const cache = new Map();

export const i18n = {
  lang: "sv",
  dir: "ltr",
  dict: {},
  fallback: {},
  languages: [{ code: "sv", name: "Svenska", dir: "ltr" }],
};

export function tr(key, vars) {
  const text = i18n.dict[key] ?? i18n.fallback[key] ?? BUILT_IN[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars?.[name] ?? ""));
}

export function translate(root) {
  const nodes = [...root.querySelectorAll("[data-i18n], [data-i18n-label], [data-texts]")];
  if (root.dataset) nodes.push(root);
  for (const node of nodes) {
    const { i18n: key, vars, i18nLabel, texts } = node.dataset;
    if (key) node.textContent = tr(key, vars && JSON.parse(vars));
    if (i18nLabel) node.setAttribute("aria-label", tr(i18nLabel));
    if (texts) showTexts(node, JSON.parse(texts));
  }
}

// Server text by language ({sv, en, …}): ours, our base (sv-lattlast: sv), en, sv; lang marked.
function showTexts(node, texts) {
  const lang = [i18n.lang, i18n.lang.split("-")[0], "en", "sv"].find((code) => texts[code]) ?? "sv";
  node.textContent = texts[lang] ?? "";
  if (lang === i18n.lang) {
    node.removeAttribute("lang");
    node.removeAttribute("dir");
  } else {
    node.lang = lang;
    node.dir = "ltr";
  }
}

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer" });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

// An index entry: code, native name, dir, and optionally `routes_as` (lättläst: "sv").
const validEntry = (e) => typeof e?.code === "string" && typeof e.name === "string"
  && ["ltr", "rtl"].includes(e.dir) && ["undefined", "string"].includes(typeof e.routes_as);

// A language file: strings, plus `_meta.reviewed` (boolean); anything else is refused whole.
const validDictionary = (d) => typeof d?._meta?.reviewed === "boolean" && !Array.isArray(d)
  && Object.entries(d).every(([key, value]) => key === "_meta" || typeof value === "string");

export async function loadIndex(base) {
  try {
    const index = await fetchJson(`${base}i18n/index.json`);
    const entries = Array.isArray(index.languages) ? index.languages.filter(validEntry) : [];
    if (entries.length) i18n.languages = entries;
  } catch {
    // keep Swedish only
  }
  return i18n.languages;
}

export async function fetchLanguage(base, code) {
  if (!cache.has(code)) {
    cache.set(code, fetchJson(`${base}i18n/${encodeURIComponent(code)}.json`)
      .then((dict) => (validDictionary(dict) ? dict : null), () => null));
  }
  const dict = await cache.get(code);
  if (dict === null) cache.delete(code);
  return dict;
}

export async function useLanguage(base, code) {
  const [dict, swedish] = await Promise.all([fetchLanguage(base, code), fetchLanguage(base, "sv")]);
  const known = i18n.languages.find((language) => language.code === code);
  if (!dict) return false;
  i18n.lang = code;
  i18n.dir = known?.dir || dict.dir || "ltr";
  i18n.dict = dict;
  i18n.fallback = swedish || {};
  return true;
}

export const routingCode = (code) => i18n.languages.find((l) => l.code === code)?.routes_as || code;

export const chatLanguages = () => i18n.languages.filter((l) => !l.routes_as);

export function pickLanguage(...wanted) {
  const codes = i18n.languages.map((language) => language.code);
  for (const code of wanted) {
    if (code && codes.includes(code)) return code;
    const short = code && code.split("-")[0];
    if (short && codes.includes(short)) return short;
  }
  return codes[0] || "sv";
}

export function minutes(seconds) {
  const count = Math.max(1, Math.ceil(seconds / 60));
  try {
    return new Intl.NumberFormat(i18n.lang, {
      style: "unit",
      unit: "minute",
      unitDisplay: "long",
    }).format(count);
  } catch {
    return `${count} min`;
  }
}

// Swedish time, the current language's way.
export function when(value, withDate = true) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const options = withDate
    ? { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" }
    : { hour: "2-digit", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(i18n.lang, { ...options, timeZone: "Europe/Stockholm" })
      .format(date);
  } catch {
    return date.toISOString().slice(0, 16).replace("T", " ");
  }
}

export function day(isoDate) {
  const [year, month, dayOfMonth] = isoDate.split("-").map(Number);
  const date = new Date(Date.UTC(year, month - 1, dayOfMonth, 12));
  try {
    return new Intl.DateTimeFormat(i18n.lang, {
      weekday: "long", day: "numeric", month: "long", timeZone: "UTC",
    }).format(date);
  } catch {
    return isoDate;
  }
}
