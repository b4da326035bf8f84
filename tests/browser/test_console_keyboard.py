"""The redesigned console in Chromium: keyboard-only use, the "/" standard-text picker with
placeholders, content-free notifications, and one language at a time (English as a session
setting) on the console and the callback work list, with axe's WCAG 2.2 AA rules."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from tests.browser.test_console_duty import sign_in, visitor_writes
from tests.support.browser import WCAG22_AA_TAGS, axe_violations, format_violations
from tests.support.console_app import console_server
from tests.support.servers import RunningServer, free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# For every focus stop: is it visible, does it show a focus ring, and is nothing drawn over
# its centre (the sticky app bar, a menu: WCAG 2.2 2.4.11 focus not obscured)?
FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const again = el.dataset.tabStop === 'seen';
  el.dataset.tabStop = 'seen';
  return {
    again,
    name: `${el.tagName.toLowerCase()}.${el.className}#${el.id}`,
    visible: box.width > 0 && box.height > 0,
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    clear: el.contains(document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2)),
  };
}"""


@pytest_asyncio.fixture(loop_scope="module")
async def server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port(), demo=True)
    async with console_server(settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Browser contexts a test opens (each a separate person); all closed at the end."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


async def new_page(browser: Browser, contexts: list[BrowserContext]) -> Page:
    context = await browser.new_context()
    contexts.append(context)
    return await context.new_page()


async def focused_box_of(page: Page) -> str:
    """The chat id of the pane whose message box has the focus ('' if none)."""
    return str(await page.evaluate(
        "() => document.activeElement.matches('textarea.message')"
        " ? document.activeElement.closest('article.chat').dataset.chatId : ''"
    ))


async def test_the_console_works_from_the_keyboard_alone(
    browser: Browser, server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """Alt+N takes a chat and focuses its box; "/" + search + Enter inserts a standard text;
    Enter sends; Alt+1/Alt+2 and Alt+PageDown switch chats; every Tab stop is visible, has a
    focus ring and is not hidden under the app bar."""
    anna = await new_page(browser, contexts)
    sent = await sign_in(anna, server, "anna")
    visitors = [await new_page(browser, contexts) for _ in range(2)]
    await visitor_writes(visitors[0], server, "Hej, jag behöver hjälp")

    await anna.locator("#waiting", has_text="1").wait_for()
    await anna.keyboard.press("Alt+n")
    first = anna.locator("article.chat", has_text="jag behöver hjälp")
    await first.locator("textarea.message").and_(anna.locator(":focus")).wait_for()
    await anna.keyboard.type("/")
    await first.get_by_role("combobox", name="Sök standardtext").and_(anna.locator(":focus")).wait_for()
    await anna.keyboard.type("fara nu")
    await anna.keyboard.press("Enter")
    await first.locator("textarea.message").and_(anna.locator(":focus")).wait_for()
    await anna.keyboard.press("Enter")
    await visitors[0].get_by_text(re.compile("i fara just nu: ring 112")).wait_for()
    assert any(f.get("type") == "message" and "112" in f["text"] for f in sent)

    await visitor_writes(visitors[1], server, "Är det någon där?")
    await anna.locator("#waiting", has_text="1").wait_for()
    await anna.keyboard.press("Alt+n")
    second = anna.locator("article.chat", has_text="Är det någon där?")
    await second.locator("textarea.message").and_(anna.locator(":focus")).wait_for()
    first_id = await first.get_attribute("data-chat-id")
    second_id = await second.get_attribute("data-chat-id")
    await anna.keyboard.press("Alt+1")
    assert await focused_box_of(anna) == first_id
    await anna.keyboard.press("Alt+2")
    assert await focused_box_of(anna) == second_id
    await anna.keyboard.press("Alt+PageDown")
    assert await focused_box_of(anna) == first_id
    assert await anna.locator(f"#context-{first_id}").is_visible()

    stops: list[dict[str, Any]] = []
    for _ in range(120):  # once round the page, back to where it started
        await anna.keyboard.press("Tab")
        stop = await anna.evaluate(FOCUS_JS)
        if stop is None:
            continue  # the document itself, between the last stop and the first
        if stop["again"]:
            break
        stops.append(stop)
    assert len(stops) > 20, stops
    bad = [s for s in stops if not (s["visible"] and s["ring"] and s["clear"])]
    assert bad == [], bad


async def test_a_standard_text_with_placeholders_is_filled_before_it_is_sent(
    browser: Browser, server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """The picker asks for each {{placeholder}} of "Tid hos Nexus" (an empty one is refused)
    and inserts the filled text; a message that still holds a placeholder is not sent; the
    open picker has no WCAG 2.2 AA violations."""
    bo = await new_page(browser, contexts)
    sent = await sign_in(bo, server, "bo")
    visitor = await new_page(browser, contexts)
    await visitor_writes(visitor, server, "Kan jag komma dit?")
    await bo.locator("#waiting", has_text="1").wait_for()
    await bo.keyboard.press("Alt+n")
    chat = bo.locator("article.chat", has_text="Kan jag komma dit?")
    box = chat.get_by_label("Meddelande", exact=True)
    await box.and_(bo.locator(":focus")).wait_for()

    await box.press("/")
    await chat.get_by_role("combobox", name="Sök standardtext").fill("tid hos")
    await chat.get_by_role("option", name=re.compile("Tid hos Nexus")).wait_for()
    violations = await axe_violations(bo, WCAG22_AA_TAGS)
    assert violations == [], format_violations(violations)
    await bo.keyboard.press("Enter")
    day = chat.get_by_label("dag", exact=True)
    await day.and_(bo.locator(":focus")).wait_for()
    await bo.keyboard.press("Enter")
    await chat.get_by_role("alert").filter(has_text="Fyll i ”dag”").wait_for()
    await day.fill("tisdag")
    await chat.get_by_label("tid", exact=True).fill("14.00")
    await bo.keyboard.press("Enter")
    await box.and_(bo.locator(":focus")).wait_for()
    text = await box.input_value()
    assert text.startswith("Du är välkommen till Nexus tisdag klockan 14.00.") and "{{" not in text

    await box.fill("Vi ses {{tid}}")
    await box.press("Enter")
    await chat.get_by_text("Fyll i ”tid” i texten innan du skickar.").wait_for()
    assert await box.input_value() == "Vi ses {{tid}}"
    assert not any(f.get("type") == "message" and "{{" in f["text"] for f in sent)
    await box.fill("Vi ses på tisdag")
    await box.press("Enter")
    await visitor.get_by_text("Vi ses på tisdag").wait_for()


async def test_notifications_never_carry_text_or_alias(
    browser: Browser, server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """With the console in the background, a visitor's message changes the tab title and
    raises a desktop notification with fixed words only: no message text, no alias."""
    context = await browser.new_context()
    contexts.append(context)
    await context.grant_permissions(["notifications"])
    # Record notifications instead of showing them; report the page as hidden on demand.
    await context.add_init_script("""
      window.__notes = [];
      window.Notification = class { constructor(title, options) {
        window.__notes.push({ title, body: options?.body ?? '' }); }
        static permission = 'granted'; static requestPermission() { return 'granted'; } close() {} };
      window.__hidden = false;
      Object.defineProperty(Document.prototype, 'hidden', { get: () => window.__hidden });
    """)
    anna = await context.new_page()
    await sign_in(anna, server, "anna")
    await anna.locator("#settings summary").click()
    await anna.locator("#desktop").check()
    visitor = await new_page(browser, contexts)
    await visitor_writes(visitor, server, "Hemligt första meddelande")
    await anna.locator("#waiting", has_text="1").wait_for()
    await anna.keyboard.press("Escape")
    await anna.keyboard.press("Alt+n")
    chat = anna.locator("article.chat", has_text="Hemligt första meddelande")
    await chat.wait_for()
    alias = (await chat.locator("h3.alias").text_content()) or ""
    await anna.evaluate("() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); }")
    await visitor.get_by_label("Ditt meddelande").fill("Mitt namn är Hemlig")
    await visitor.get_by_role("button", name="Skicka").click()
    await chat.get_by_text("Mitt namn är Hemlig").wait_for()
    await anna.wait_for_function("() => document.title.includes('Ny händelse')")
    notes = await anna.evaluate("() => window.__notes")
    assert notes == [{"title": "Nexus jourkonsol", "body": "Nytt meddelande i en chatt"}]
    shown = json.dumps([notes, await anna.title()], ensure_ascii=False)
    assert "Hemlig" not in shown and alias not in shown


async def test_english_is_a_session_setting_and_the_work_list_passes_axe(
    browser: Browser, server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """?lang=en shows the console in English only and the choice lasts for the tab: the
    callback work list opens in English too, with no WCAG 2.2 AA violations; choosing
    Svenska brings Swedish back."""
    page = await new_page(browser, contexts)
    await sign_in(page, server, "anna")
    await page.goto(f"{server.url}/console/?lang=en")
    await page.get_by_role("button", name="Take next chat").wait_for()
    assert await page.evaluate("() => document.documentElement.lang") == "en"
    assert await page.get_by_text("Ta nästa chatt").count() == 0
    await page.get_by_role("link", name="Callbacks").click()
    await page.get_by_role("heading", name="Work list").wait_for()
    await page.locator("#me").filter(has_text="Anna").wait_for()
    violations = await axe_violations(page, WCAG22_AA_TAGS)
    assert violations == [], format_violations(violations)
    await page.locator("#settings summary").click()
    await page.get_by_label("Language").select_option("sv")
    await page.get_by_role("heading", name="Arbetslista").wait_for()
    violations = await axe_violations(page, WCAG22_AA_TAGS)
    assert violations == [], format_violations(violations)
