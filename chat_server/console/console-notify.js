/* Notifications: a short WebAudio beep, a tab title that counts what needs attention, and
   (if switched on and allowed) a desktop notification. None of them ever shows message text,
   an alias or a name: someone may be looking at the counsellor's screen, and desktop
   notifications can land in the operating system's history. Settings live in sessionStorage
   only (they die with the tab). */
import { t } from "/design/staff-i18n.js";

const SETTINGS_KEY = "nexus.console.settings";
const DEFAULTS = { sound: true, flash: true, desktop: false, layout: "side" };
const BEEP_HZ = 880;
const BEEP_S = 0.18;
const FLASH_MS = 1000;
/** The kinds of attention a console asks for; each has a fixed, content-free text. */
export const KINDS = ["message", "offer", "answer", "hand", "break", "backup", "ended", "not_alone"];

let audio = null;
let flashTimer = null;
let pending = 0; // events since the console was last looked at
let baseTitle = document.title;

export const settings = loadSettings();

function loadSettings() {
  try {
    return { ...DEFAULTS, ...JSON.parse(sessionStorage.getItem(SETTINGS_KEY) || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

export function saveSettings() {
  try {
    sessionStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* storage may be off: the settings then last as long as the page */
  }
}

/** The page's translated title, restored whenever the console is looked at. */
export function setBaseTitle(title) { baseTitle = title; document.title = title; }

/* Browsers allow audio only after a user gesture: make the context on the first one. */
function unlockAudio() {
  if (audio || !window.AudioContext) return;
  audio = new AudioContext();
}
document.addEventListener("pointerdown", unlockAudio, { once: true });
document.addEventListener("keydown", unlockAudio, { once: true });

export function beep() {
  if (!settings.sound || !audio) return;
  const now = audio.currentTime;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.frequency.value = BEEP_HZ;
  gain.gain.setValueAtTime(0.0001, now);
  gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, now + BEEP_S);
  tone.connect(gain).connect(audio.destination);
  tone.start(now);
  tone.stop(now + BEEP_S + 0.02);
}

function stopFlash() {
  clearInterval(flashTimer);
  flashTimer = null;
  pending = 0;
  document.title = baseTitle;
}

/* While the console is in the background the title alternates between the page's name and
   "(2) Ny händelse": a count and a fixed word, never what happened to whom. */
function flashTitle() {
  if (!settings.flash || !document.hidden) return;
  pending += 1;
  if (flashTimer) return;
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? t("notify.title", { count: pending }) : baseTitle;
  }, FLASH_MS);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) stopFlash(); });

/** Ask the browser for desktop notifications (from a click on the setting). */
export async function enableDesktop() {
  if (!window.Notification) return false;
  const answer = Notification.permission === "granted" ? "granted"
    : await Notification.requestPermission();
  return answer === "granted";
}

function desktop(kind) {
  if (!settings.desktop || !document.hidden || !window.Notification) return;
  if (Notification.permission !== "granted") return;
  // One tag for all: a new notification replaces the last instead of piling up.
  const note = new Notification(t("notify.app"), { body: t(`notify.${kind}`), tag: "nexus-console", silent: true });
  note.onclick = () => { window.focus(); note.close(); };
}

/** Something needs attention: beep, and when the console is in the background, count it in
    the tab title and show a desktop notification. `kind` is one of KINDS. */
export function attention(kind) {
  beep();
  flashTitle();
  desktop(KINDS.includes(kind) ? kind : "message");
}
