/* Notifications: a short WebAudio beep and a flashing tab title, each switchable.
   Settings live in sessionStorage only (they die with the tab). */

const SETTINGS_KEY = "nexus.console.settings";
const DEFAULTS = { sound: true, flash: true, layout: "side" };
const BEEP_HZ = 880;
const BEEP_S = 0.18;
const FLASH_MS = 1000;

let audio = null;
let flashTimer = null;
const baseTitle = document.title;

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
  document.title = baseTitle;
}

/* Flash the tab title while the console is in the background. */
export function flashTitle(text) {
  if (!settings.flash || !document.hidden || flashTimer) return;
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? `● ${text}` : baseTitle;
  }, FLASH_MS);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) stopFlash(); });

/* Something needs attention: beep and, when the tab is hidden, flash its title. */
export function attention(text) {
  beep();
  flashTitle(text);
}
