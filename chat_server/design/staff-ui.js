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

/* Every staff page has the same nav (docs/design.md). A link meant for some roles lists them
   in data-nav-roles ("supervisor admin") and stays hidden until the page knows who is signed
   in; the server refuses those pages to others anyway. */
export function revealNav(role) {
  for (const link of document.querySelectorAll("nav.app-nav [data-nav-roles]")) {
    if (link.getAttribute("aria-current") !== "page") {
      link.hidden = !link.dataset.navRoles.split(" ").includes(role);
    }
  }
}

/* For pages that do not otherwise ask who is signed in: the name in the app bar (#me) and the
   nav for the role, from /console/api/me; without it the nav shows `fallbackRole`'s links. */
export async function showSignedIn(fallbackRole) {
  let me = null;
  try {
    const response = await fetch("/console/api/me", { credentials: "same-origin" });
    if (response.ok) me = await response.json();
  } catch { /* the page works without the name */ }
  document.getElementById("me").textContent = me?.name ?? "";
  revealNav(me?.role ?? fallbackRole);
}
