// Building DOM without markup strings: nothing is parsed as HTML, so no text from the server or
// the visitor can ever become markup. Translatable text is marked with data-i18n keys so a
// language switch re-translates the live DOM in place (see i18n.translate).

let lastId = 0;

/** A unique id inside the widget's shadow root, for label/aria-describedby pairs. */
export const uid = (stem) => `nc-${stem}-${++lastId}`;

/**
 * Create an element. Props: `text` (translation key), `vars` (its values), `label` (key for
 * aria-label), `class`, `on<event>` (listener), booleans (true = empty attribute, false/null =
 * left out), anything else as an attribute. Children: nodes or plain strings (as text).
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.dataset.i18n = value;
    else if (key === "vars") node.dataset.vars = JSON.stringify(value);
    else if (key === "label") node.dataset.i18nLabel = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** Point a node at another translation key (and values); the caller re-translates it. */
export function setText(node, key, vars) {
  node.dataset.i18n = key;
  if (vars) node.dataset.vars = JSON.stringify(vars);
  else delete node.dataset.vars;
}

/** Show or hide a node (the `hidden` attribute; the stylesheet makes it display: none). */
export function toggle(node, visible) {
  node.hidden = !visible;
}

/** A telephone link; the number stays in Latin digits and left-to-right in every language. */
export function tel(number, shown) {
  return h("a", { href: `tel:${number}`, dir: "ltr", class: "tel" }, shown);
}
