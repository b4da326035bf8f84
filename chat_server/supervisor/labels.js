"use strict";
/* Swedish names (English in parentheses) of the shared codes; an unknown code shows as is. */
window.NexusLabels = {
  topic: {
    violence_close: "Våld i nära relation (close relationship)",
    honour: "Hedersrelaterat våld och förtryck (honour)",
    sex_for_compensation: "Sex mot ersättning (sex for compensation)",
    older_person: "Våld mot äldre (older person)",
    worried_other: "Orolig för någon annan (worried about someone)",
    professional: "Frågar i yrkesroll (professional)",
    other: "Annat (other)",
    unspecified: "Ej angivet (not given)",
  },
  language: {
    sv: "svenska", en: "engelska (English)", ar: "arabiska (Arabic)", fa: "persiska (Persian)",
    so: "somaliska (Somali)", ti: "tigrinja (Tigrinya)", ku: "kurdiska (Kurdish)",
    tr: "turkiska (Turkish)", uk: "ukrainska (Ukrainian)", ru: "ryska (Russian)",
    pl: "polska (Polish)", es: "spanska (Spanish)", fr: "franska (French)", de: "tyska (German)",
    fi: "finska (Finnish)", bs: "bosniska (Bosnian)", sr: "serbiska (Serbian)",
    hr: "kroatiska (Croatian)", prs: "dari", am: "amhariska (Amharic)",
    other: "annat (other)", unspecified: "ej angivet (not given)",
  },
  presence: { available: "Tillgänglig (available)", paused: "Paus (paused)", offline: "Offline" },
  name(kind, code) { return (this[kind] && this[kind][code]) || code; },
  /* "le_60" -> "≤ 1 min", "inf" -> "> 30 min" */
  bucket(label) {
    if (label === "inf") return "> 30 min";
    const s = Number(label.replace("le_", ""));
    return s < 60 ? `≤ ${s} s` : `≤ ${s / 60} min`;
  },
  seconds(total) {
    const s = Math.max(0, Math.floor(total));
    const m = Math.floor(s / 60);
    return m ? `${m} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
  },
};
