"""Live supervision in Chromium: Sara (supervisor) picks Anna's chat from "Pågående samtal",
monitors it read-only, whispers to Anna, joins (the visitor reads "En handledare har
anslutit" and her message as from Handledare), leaves and stops; Anna sees "Medlyssnas av
Sara" throughout and it goes when Sara stops. An axe scan of both consoles finds nothing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser import test_console_duty as duty
from tests.browser.test_console_duty import new_page, sign_in, take_one, visitor_writes
from tests.support.browser import WCAG22_AA_TAGS, axe_violations, format_violations
from tests.support.servers import RunningServer

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
contexts = duty.contexts  # the duty console's fixtures: a server, the browser contexts
duty_server = duty.duty_server


async def test_supervisor_monitors_whispers_and_joins(
    browser: Browser, duty_server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """The whole story of live supervision, through the real pages."""
    server = duty_server
    sara = await new_page(browser, contexts)
    await sign_in(sara, server, "sara")
    await sara.locator("#presence").select_option("paused")
    anna = await new_page(browser, contexts)
    await sign_in(anna, server, "anna")
    visitor = await new_page(browser, contexts)
    await visitor_writes(visitor, server, "Jag vågar inte gå hem")
    await take_one(anna)
    chat = anna.locator("article.chat", has_text="Jag vågar inte gå hem")

    # Sara picks the chat from the list of ongoing chats (refreshed as chats are taken).
    start = sara.get_by_role("button", name=re.compile(r"Medlyssna på Besökare"))
    await start.click()
    pane = sara.get_by_role("article", name=re.compile(r"Medlyssning: Besökare"))
    await pane.get_by_text("Jag vågar inte gå hem").wait_for()  # the history, read-only
    await pane.get_by_text("Rådgivare: Anna").wait_for()
    assert await pane.get_by_label("Till besökaren (som Handledare)").is_hidden()
    await chat.get_by_role("status").filter(has_text="Medlyssnas av Sara").wait_for()

    # Live messages reach the monitor; a whisper reaches Anna only.
    await visitor.get_by_label("Ditt meddelande").fill("Han har mitt pass")
    await visitor.get_by_role("button", name="Skicka").click()
    await pane.get_by_text("Han har mitt pass").wait_for()
    await pane.get_by_label("Viska till Anna").fill("Fråga om hon har en trygg plats i natt.")
    await pane.get_by_role("button", name="Viska").click()
    await anna.get_by_text("Fråga om hon har en trygg plats i natt.").first.wait_for()
    assert await visitor.get_by_text("trygg plats").count() == 0

    # Joining: the visitor is told calmly and reads Sara as Handledare.
    await pane.get_by_role("button", name="Anslut till samtalet").click()
    await visitor.get_by_text("En handledare har anslutit.").wait_for()
    await chat.get_by_text("Medlyssnas av Sara (ansluten)").wait_for()
    say = pane.get_by_label("Till besökaren (som Handledare)")
    await say.fill("Hej, jag är handledare här och läser med.")
    await say.press("Enter")  # Enter sends, as in the counsellor's message box
    line = visitor.locator("li.msg.supervisor", has_text="jag är handledare här")
    await line.wait_for()
    assert "Handledare:" in (await line.text_content() or "")
    await chat.locator("li.msg.supervisor", has_text="jag är handledare här").wait_for()
    await pane.locator("li.msg:not(.pending)", has_text="jag är handledare här").wait_for()

    for page in (sara, anna):
        violations = await axe_violations(page, WCAG22_AA_TAGS)
        assert violations == [], format_violations(violations)

    # Leaving, then stopping: Anna's view follows.
    await pane.get_by_role("button", name="Lämna samtalet").click()
    await visitor.get_by_text("Handledaren har lämnat samtalet.").wait_for()
    await pane.get_by_role("button", name="Sluta medlyssna").click()
    await pane.get_by_text("Medlyssningen har slutat.").wait_for()
    await chat.get_by_role("status").filter(has_text="Medlyssnas av").wait_for(state="hidden")
