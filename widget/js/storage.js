// The only storage: one sessionStorage entry, dropped when empty (docs/widget.md "No trace").

const KEY = "nexus-chat";

export function read() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

export function update(patch, defaults = {}) {
  const next = { ...read(), ...patch };
  for (const [key, value] of Object.entries(next)) {
    if (value === null || value === undefined || value === defaults[key]) delete next[key];
  }
  try {
    if (Object.keys(next).length) sessionStorage.setItem(KEY, JSON.stringify(next));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled (private mode, sandbox): the chat works, without resume.
  }
}

export function clear() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // unavailable: nothing stored
  }
}
