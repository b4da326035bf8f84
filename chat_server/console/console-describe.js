/* How a chat or a callback request is described to staff: topic, language, urgency, in the
   page's language (console-strings.js holds the labels). */
import { t } from "/design/staff-i18n.js";

const TOPICS = ["violence_close", "honour", "sex_for_compensation", "older_person",
  "worried_other", "professional", "other"];

export function topicLabel(code) { return TOPICS.includes(code) ? t(`topic.${code}`) : code; }

export function languageLabel(code) {
  const key = `language.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

export function describe(info) {
  const parts = [];
  if (info.topic) parts.push(topicLabel(info.topic));
  if (info.language) parts.push(languageLabel(info.language));
  if (info.urgent) parts.push(t("console.urgent"));
  return parts.join(" · ");
}

