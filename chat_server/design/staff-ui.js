/* Behaviour of the design system's menus (docs/design.md): a <details class="menu"> closes
   on Escape (the focus goes back to its summary), on a click outside it, and when the focus
   leaves it, so an open menu never covers the page. */

export function wireMenus(root = document) {
  const menus = [...root.querySelectorAll("details.menu")];
  for (const menu of menus) {
    const summary = menu.querySelector("summary");
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && menu.open) {
        event.preventDefault();
        menu.open = false;
        summary.focus();
      }
    });
    menu.addEventListener("focusout", (event) => {
      if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
    });
  }
  document.addEventListener("click", (event) => {
    for (const menu of menus) if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
}
