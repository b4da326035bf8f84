/* Names of the shared codes and small formatters for the supervisor pages, in the page's one
   language (docs/design.md). An unknown code shows as is. */
import { addStrings, lang, t } from "/design/staff-i18n.js";
import { STRINGS } from "./strings.js";

addStrings(STRINGS);

/** The name of a vocabulary code: kind "topic", "language" or "presence". */
export function codeName(kind, code) {
  const key = `sup.${kind}.${code}`;
  return key in STRINGS.sv ? t(key) : code;
}

/** 60 -> "1 min", 30 -> "30 s". */
export function bound(seconds) { return seconds < 60 ? `${seconds} s` : `${seconds / 60} min`; }

/** A wait bucket label: "le_60" -> "≤ 1 min", "inf" -> "> 30 min". */
export function bucket(label) {
  if (label === "inf") return t("sup.over", { time: "30 min" });
  return t("sup.at_most", { time: bound(Number(label.replace("le_", ""))) });
}

/** "2 min 05 s" for a running wait. */
export function seconds(total) {
  const s = Math.max(0, Math.floor(total));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

/** Service-level rows "Besvarade inom 1 min | 75 %" from {"60": 0.75, ...} (null: too few). */
export function levelRows(levels) {
  return Object.entries(levels).map(([target, share]) => {
    const tr = document.createElement("tr");
    const goal = document.createElement("td");
    goal.textContent = t("sup.within", { target: bound(Number(target)) });
    const value = document.createElement("td");
    value.className = "num count";
    value.textContent = share === null ? t("sup.too_few") : t("sup.share", { pct: Math.round(share * 100) });
    tr.append(goal, value);
    return tr;
  });
}

/** The server's messages read "svenska / English": the half in the page's language. */
export function serverMessage(message) {
  if (typeof message !== "string") return "";
  const [sv, en] = message.split(" / ");
  return lang === "en" && en ? en : sv;
}
