"""The languages added beside Swedish, English and Arabic (lättläst, Persian, Somali, Tigrinya)
render with the right lang and dir and pass axe's WCAG 2.2 A/AA rules; when nobody on duty
speaks the chosen language the widget says so and offers a callback; the legal pages pass axe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chat_server.web.appkeys import SERVICES
from tests.browser.test_widget_support import WidgetEnv, evaluate, json_reply, open_panel
from tests.support.browser import WCAG22_AA_TAGS, axe_violations, format_violations
from tests.support.servers import open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

I18N = Path(__file__).resolve().parents[2] / "widget" / "i18n"
AXE_TIMEOUT_S = 60.0
SHELL_JS = """() => {
  const root = document.querySelector("nexus-chat").shadowRoot;
  const wrap = root.querySelector(".nc");
  return { lang: wrap.lang, dir: wrap.dir, title: root.getElementById("nc-title").textContent,
    chatLanguage: root.querySelector(".screen.prechat select[id^=nc-chatlang]").value,
    untranslated: [...root.querySelectorAll("[data-i18n]")]
      .filter((n) => n.textContent === n.dataset.i18n).map((n) => n.dataset.i18n) };
}"""


@pytest.mark.parametrize(
    ("lang", "direction", "routed"),
    [("sv-lattlast", "ltr", "sv"), ("fa", "rtl", "fa"), ("so", "ltr", "so"), ("ti", "ltr", "ti")],
)
async def test_each_new_language_renders_and_passes_axe(
    browser: Browser, env: WidgetEnv, lang: str, direction: str, routed: str
) -> None:
    """The panel takes the language's lang and dir and its own texts, chats in the routed
    language (lättläst as Swedish) and has no WCAG 2.2 A/AA violation."""
    strings = json.loads((I18N / f"{lang}.json").read_text())
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_lang=lang))
        await page.locator(".screen.prechat:not([hidden])").wait_for()
        shell = await evaluate(page, SHELL_JS)
        assert (shell["lang"], shell["dir"]) == (lang, direction)
        assert shell["title"] == strings["title"] and shell["untranslated"] == []
        assert shell["chatLanguage"] == routed
        violations = await asyncio.wait_for(axe_violations(page, WCAG22_AA_TAGS), AXE_TIMEOUT_S)
        assert violations == [], format_violations(violations)
    finally:
        await context.close()


async def test_nobody_on_duty_speaks_it_says_so_and_offers_a_callback(
    browser: Browser, env: WidgetEnv
) -> None:
    """Persian with only a Swedish/English counsellor available: the honest notice with the
    callback offer right under it; choosing Swedish hides the notice and the offer goes back."""
    console = await open_console(env.server, "anna", presence="available")
    dispatcher = env.server.app[SERVICES].dispatcher
    assert dispatcher is not None
    await dispatcher.run_round()
    fa = json.loads((I18N / "fa.json").read_text())
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_lang="fa"))
        notice = page.locator(".screen.prechat .language-none p")
        offer = page.locator(".screen.prechat .offer", has_text=fa["language_none_callback"])
        await notice.wait_for()
        assert await notice.text_content() == fa["language_none"]
        under = ".screen.prechat .language-none + .offer"
        await page.locator(under, has_text=fa["language_none_callback"]).wait_for()
        await offer.locator("button.primary").wait_for()
        await page.locator(".screen.prechat select[id^=nc-chatlang]").select_option("sv")
        await notice.wait_for(state="hidden")
        await offer.wait_for(state="hidden")
        back = ".screen.prechat .alternatives + .offer"
        await page.locator(back, has_text=fa["callback_prechat_text"]).wait_for()
    finally:
        await context.close()
        await console.close()


async def test_legal_pages_pass_axe(browser: Browser, env: WidgetEnv) -> None:
    """/integritet, /tillganglighet (and its error state) and /callback: no WCAG 2.2 A/AA
    violation, in Swedish and English (the pages have no script of their own)."""
    context = await browser.new_context()
    failures: list[str] = []
    try:
        page = await context.new_page()
        for path in ("/integritet", "/tillganglighet?lang=en", "/callback"):
            await page.goto(f"{env.server.url}{path}")
            failures += [f"{path}: {v}" for v in await _violations(page)]
        await page.goto(f"{env.server.url}/tillganglighet")
        await page.locator("button[type=submit]").click()
        await page.locator("#report-error").wait_for()
        failures += [f"report error: {v}" for v in await _violations(page)]
    finally:
        await context.close()
    assert failures == [], "\n".join(failures)


async def _violations(page: Page) -> list[str]:
    """Axe's WCAG 2.2 A/AA violations on the page as it is now, one line each."""
    violations = await asyncio.wait_for(axe_violations(page, WCAG22_AA_TAGS), AXE_TIMEOUT_S)
    return [format_violations([v]) for v in violations]


FOCUS_CLEAR_JS = """() => {
  const root = document.querySelector("nexus-chat").shadowRoot;
  const bar = root.querySelector(".bar");
  const screen = root.querySelector(".screen.prechat");
  const hidden = [];
  for (const node of [...screen.querySelectorAll("a, button, input, select")].reverse()) {
    if (!node.offsetParent) continue;
    node.focus();
    if (node.getBoundingClientRect().top < bar.getBoundingClientRect().bottom) {
      hidden.push(node.id || node.textContent);
    }
  }
  return hidden;
}"""


async def test_focus_is_not_hidden_under_the_sticky_header(
    browser: Browser, env: WidgetEnv
) -> None:
    """WCAG 2.4.11 at 320 px: focusing each pre-chat control from the bottom up (scrolling up)
    leaves it below the header, which wraps to several lines there."""
    context = await browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_lang="so"))
        await page.locator(".screen.prechat:not([hidden])").wait_for()
        assert await evaluate(page, FOCUS_CLEAR_JS) == []
    finally:
        await context.close()


async def test_a_language_file_of_another_shape_is_refused(
    browser: Browser, env: WidgetEnv
) -> None:
    """A Persian file without `_meta`, or with a non-string text, is refused whole: the widget
    stays Swedish rather than show a half-checked file."""
    sv = json.loads((I18N / "sv.json").read_text())
    for bad in ({"title": "عنوان"}, {"_meta": {"reviewed": False}, "title": ["x"]}):
        context = await browser.new_context()
        try:
            await context.route("**/widget/i18n/fa.json", _answer(bad, env.host_origin))
            page = await context.new_page()
            await open_panel(page, env.page(data_lang="fa"))
            await page.locator(".screen.prechat:not([hidden])").wait_for()
            shell = await evaluate(page, SHELL_JS)
            assert (shell["lang"], shell["title"]) == ("sv", sv["title"])
        finally:
            await context.close()


def _answer(body: dict[str, Any], origin: str) -> Callable[[Route], Awaitable[None]]:
    """A route handler that answers every request with `body` as CORS JSON for `origin`."""

    async def answer(route: Route) -> None:
        await route.fulfill(**json_reply(body, origin))

    return answer
