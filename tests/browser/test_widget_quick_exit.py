"""Quick exit, by the button and by Shift pressed three times: the chat ends on the server as a
quick exit, the widget and everything it stored are gone, the history entry is rewritten and the
page is replaced by a neutral site (served locally here: no real network is used)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_widget_support import (
    NEUTRAL_BODY,
    NEUTRAL_TITLE,
    WidgetEnv,
    evaluate,
    open_panel,
    take_next,
    traces,
)
from tests.support.browser import axe_violations, format_violations
from tests.support.servers import Client, open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DEFAULT_EXIT_SITE = "https://www.smhi.se/"

# Reports what a page looks like at the moment it is being left.
LEAVING_PROBE_JS = """
addEventListener("beforeunload", () => window.reportLeaving({
  url: location.href,
  widget: Boolean(document.querySelector("nexus-chat")),
  session: Object.keys(sessionStorage),
}));
"""


async def chat_with_counsellor(page: Page, env: WidgetEnv, url: str) -> tuple[Client, str]:
    """Open the widget at `url`, start a chat and have anna take it; returns console, chat id."""
    await open_panel(page, url)
    await page.locator(".prechat .start").click()
    await page.locator(".waitbox").wait_for()
    console = await open_console(env.server, "anna")
    chat_id = await take_next(console)
    await page.locator(".msg.system").wait_for()
    assert (await traces(page))["session"] == ["nexus-chat"]  # the resume token, while chatting
    return console, chat_id


async def test_exit_button_ends_the_chat_and_leaves(browser: Browser, env: WidgetEnv) -> None:
    """The button ends the chat as quick_exit, clears storage and replaces the history entry."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(env.neutral_url)  # the page the visitor came from
        console, chat_id = await chat_with_counsellor(
            page, env, env.page(data_exit_url=env.neutral_url + "?left")
        )
        entries = await evaluate(page, "history.length")
        try:
            await page.locator(".bar .exit").click()
            ended = await console.expect("chat_ended", chat_id=chat_id)
            assert ended["reason"] == "quick_exit"
        finally:
            await console.close()
        await page.wait_for_url(env.neutral_url + "?left")
        assert await traces(page) == {"session": [], "local": 0, "databases": 0, "cookie": ""}
        assert await context.cookies() == []
        assert await evaluate(page, "history.length") == entries  # chat page's entry replaced
        await page.go_back()
        assert page.url == env.neutral_url  # back leads past the chat page, not to it
    finally:
        await context.close()


async def test_triple_shift_leaves_for_the_neutral_site(browser: Browser, env: WidgetEnv) -> None:
    """Shift x3 (not Shift for capitals) exits to the default neutral site, intercepted here."""
    context = await browser.new_context()
    leaving: list[dict[str, Any]] = []
    await context.expose_binding("reportLeaving", lambda _source, state: leaving.append(state))
    await context.add_init_script(LEAVING_PROBE_JS)

    async def neutral_site(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=NEUTRAL_BODY)

    await context.route(DEFAULT_EXIT_SITE + "**", neutral_site)
    try:
        page = await context.new_page()
        console, chat_id = await chat_with_counsellor(page, env, env.page())
        try:
            await page.locator("#nc-input").press_sequentially("Hej Hej Hej")  # Shift as modifier
            await page.keyboard.press("Shift")
            await page.keyboard.press("Shift")
            assert await page.locator("nexus-chat").count() == 1  # two presses: still here
            await page.keyboard.press("Shift")
            ended = await console.expect("chat_ended", chat_id=chat_id)
            assert ended["reason"] == "quick_exit"
        finally:
            await console.close()
        await page.wait_for_url(DEFAULT_EXIT_SITE)
        assert await page.title() == NEUTRAL_TITLE
        # As the chat page was left, it already showed nothing of the chat, had stored nothing,
        # and its history entry had been rewritten to a neutral address.
        assert leaving[-1] == {"url": env.host_origin + "/", "widget": False, "session": []}
    finally:
        await context.close()


async def test_shift_with_other_keys_between_does_not_exit(
    browser: Browser, env: WidgetEnv
) -> None:
    """Shift, a letter, Shift, Shift is not a quick exit: only three plain presses in a row."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_exit_url=env.neutral_url))
        await page.keyboard.press("Shift")
        await page.keyboard.press("a")
        await page.keyboard.press("Shift")
        await page.keyboard.press("Shift")
        await page.wait_for_timeout(200)
        assert page.url.startswith(env.page())
        assert await page.locator("#nc-panel").is_visible()
    finally:
        await context.close()


# Reports, as they happen, the Shift key-up (before the widget's own listener), the moment the
# page is hidden, and every request or frame the page sends, each with whether the page was
# hidden by then. Installed before the widget, so its listeners run first.
ORDER_PROBE_JS = """
const hidden = () => document.documentElement.style.visibility === "hidden";
const report = (event) => window.reportExit({ ...event, t: performance.now(), hidden: hidden() });
addEventListener("keyup", (event) => {
  if (event.key === "Shift") report({ event: "key" });
}, true);
const setProperty = CSSStyleDeclaration.prototype.setProperty;
CSSStyleDeclaration.prototype.setProperty = function (name, value, priority) {
  const result = setProperty.call(this, name, value, priority);
  if (this === document.documentElement.style && name === "visibility") report({ event: "hide" });
  return result;
};
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  report({ event: "frame", type: JSON.parse(data).type });
  return send.call(this, data);
};
const fetcher = window.fetch;
window.fetch = function (...args) {
  report({ event: "fetch" });
  return fetcher.apply(this, args);
};
"""


async def test_shift_hides_the_page_before_anything_leaves(
    browser: Browser, env: WidgetEnv
) -> None:
    """Three Shift presses: the dots and the status count down, then the page is hidden in the
    key event itself, before the end frame; afterwards no storage of the origin is left."""
    context = await browser.new_context()
    events: list[dict[str, Any]] = []
    await context.expose_binding("reportExit", lambda _source, event: events.append(event))
    await context.add_init_script(ORDER_PROBE_JS)
    try:
        page = await context.new_page()
        await page.goto(env.neutral_url)
        console, chat_id = await chat_with_counsellor(
            page, env, env.page(data_exit_url=env.neutral_url + "?left")
        )
        entries = await evaluate(page, "history.length")
        dots = page.locator(".bar .exit .exit-steps")
        await page.keyboard.press("Shift")
        await (
            page.get_by_role("status")
            .filter(has_text="Tryck Shift 2 gånger till för att lämna sidan.")
            .wait_for(state="attached")
        )
        assert await dots.is_visible()
        await page.keyboard.press("Escape")  # Esc only minimises; it never exits
        await page.locator("#nc-panel").wait_for(state="hidden")
        assert page.url.startswith(env.page())
        await page.locator(".launcher").click()
        await page.keyboard.press("Shift")
        await page.keyboard.press("Shift")
        await page.keyboard.press("Shift")
        try:
            ended = await console.expect("chat_ended", chat_id=chat_id)
            assert ended["reason"] == "quick_exit"
        finally:
            await console.close()
        await page.wait_for_url(env.neutral_url + "?left")
        key = max(i for i, e in enumerate(events) if e["event"] == "key")
        after = events[key:]
        hide = next(i for i, e in enumerate(after) if e["event"] == "hide")
        end = next(i for i, e in enumerate(after) if e.get("type") == "end")
        assert hide < end and after[end]["hidden"], after
        assert all(e["hidden"] for e in after if e["event"] in ("frame", "fetch")), after
        print(f"quick exit, Shift key-up to page hidden: {after[hide]['t'] - after[0]['t']:.2f} ms")
        assert await traces(page) == {"session": [], "local": 0, "databases": 0, "cookie": ""}
        assert await evaluate(page, "caches.keys()") == []
        assert await context.cookies() == []
        assert await evaluate(page, "history.length") == entries
        await page.go_back()
        assert page.url == env.neutral_url
    finally:
        await context.close()


async def test_exit_indicator_passes_axe(browser: Browser, env: WidgetEnv) -> None:
    """With two Shift presses counted (the dots filled), the widget has no axe violation."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_exit_url=env.neutral_url))
        await page.keyboard.press("Shift")
        await page.keyboard.press("Shift")
        await page.get_by_role("status").filter(has_text="1 gång till").wait_for(state="attached")
        assert format_violations(await axe_violations(page)) == "no accessibility violations"
    finally:
        await context.close()
