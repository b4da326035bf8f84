// DOM without markup strings: nothing is parsed as HTML, so no server or visitor text becomes markup.

let lastId = 0;

export const uid = (stem) => `nc-${stem}-${++lastId}`;

// Props: text/label = translation keys, vars, class, on<event>; true = empty attribute, false/null = none.
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

export function setText(node, key, vars) {
  node.dataset.i18n = key;
  if (vars) node.dataset.vars = JSON.stringify(vars);
  else delete node.dataset.vars;
}

export function toggle(node, visible) {
  node.hidden = !visible;
}

// Latin digits, left-to-right in every language.
export function tel(number, shown) {
  return h("a", { href: `tel:${number}`, dir: "ltr", class: "tel" }, shown);
}
