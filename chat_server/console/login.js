/* The sign-in page: one language at a time (staff-i18n.js), the failure notice, and a word
   while a slowed login (throttled after failures) takes several seconds. */
import { addStrings, t, translatePage, wireLanguageSelect } from "/design/staff-i18n.js";

addStrings({
  sv: {
    "login.page_title": "Logga in – Nexus", "login.brand": "Nexus jourkonsol", "login.title": "Logga in",
    "login.failed": "Inloggningen misslyckades: kontrollera användarnamn, lösenord och engångskod.",
    "login.username": "Användarnamn", "login.password": "Lösenord", "login.code": "Engångskod",
    "login.code_hint": "Bara om ditt konto har tvåstegsverifiering.", "login.submit": "Logga in",
    "login.signing_in": "Loggar in…",
  },
  en: {
    "login.page_title": "Sign in – Nexus", "login.brand": "Nexus duty console", "login.title": "Sign in",
    "login.failed": "Sign-in failed: check the username, password and one-time code.",
    "login.username": "Username", "login.password": "Password", "login.code": "One-time code",
    "login.code_hint": "Only if your account uses two-step verification.", "login.submit": "Sign in",
    "login.signing_in": "Signing in…",
  },
});
translatePage();
document.title = t("login.page_title");
wireLanguageSelect(document.getElementById("language"));

if (new URLSearchParams(location.search).has("failed")) {
  document.getElementById("failed").hidden = false;
}
document.querySelector("main form").addEventListener("submit", (event) => {
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  button.textContent = t("login.signing_in");
});
