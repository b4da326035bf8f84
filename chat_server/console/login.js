"use strict";
if (new URLSearchParams(location.search).has("failed")) {
  document.getElementById("failed").hidden = false;
}
/* A slowed login (throttled after failures) can take several seconds: say so. */
document.querySelector("form").addEventListener("submit", (event) => {
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  button.textContent = "Loggar in… (signing in)";
});
