// The widget's only storage: one sessionStorage entry (it dies with the tab). It holds the
// resume token while a chat is open, and the visitor's language and discreet choices when they
// differ from the embed's defaults; it is removed as soon as it would be empty, and always on
// quick exit. No cookies, no localStorage, no IndexedDB.

const KEY = "nexus-chat";

/** What is stored, or an empty object. */
export function read() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/** Merge `patch` into the stored entry; null and default values are dropped, and an empty
 * entry is removed rather than written. */
export function update(patch, defaults = {}) {
  const next = { ...read(), ...patch };
  for (const [key, value] of Object.entries(next)) {
    if (value === null || value === undefined || value === defaults[key]) delete next[key];
  }
  try {
    if (Object.keys(next).length) sessionStorage.setItem(KEY, JSON.stringify(next));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage may be disabled (private mode, sandbox): the chat still works, without resume.
  }
}

/** Remove everything the widget stored. */
export function clear() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing stored if storage is unavailable.
  }
}
