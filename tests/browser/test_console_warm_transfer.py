"""Warm transfer in Chromium: two counsellors and three visitors; Anna asks Bo first, Bo
declines one chat and accepts another. The visitors see one calm line for the move and
nothing for the decline; the consult card passes an axe scan."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from chat_server.web.console_settings import ConsoleSettings
from tests.browser.test_console_duty import (
    context_of,
    contexts,
    new_page,
    sign_in,
    take_one,
    visitor_writes,
)
from tests.support.browser import WCAG22_AA_TAGS, axe_violations, format_violations
from tests.support.console_app import console_server
from tests.support.servers import RunningServer, free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
__all__ = ["contexts"]  # the fixture, shared with the duty test
JOINED = "En rådgivare har anslutit."
MIN_TARGET_PX = 24


@pytest_asyncio.fixture(loop_scope="module")
async def warm_server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port(), demo=True)
    async with console_server(settings, ConsoleSettings()) as running:
        yield running


async def ask_first(page: Page, pane: Locator, reason: str, note: str) -> None:
    """Open the transfer dialog on ``pane``'s chat and ask Bo first (the default way)."""
    await context_of(pane)
    await pane.get_by_role("button", name=re.compile("Överlämna")).click()
    dialog = page.locator("#transfer-dialog")
    await dialog.get_by_label(re.compile(r"^\s*Bo – ")).check()
    assert await dialog.get_by_label("Fråga kollegan först").is_checked()
    await dialog.get_by_label(re.compile("Anledning")).select_option(reason)
    await dialog.get_by_label(re.compile("Kort anteckning")).fill(note)
    await dialog.get_by_role("button", name=re.compile("Överlämna")).click()
    await pane.get_by_text("Väntar på svar från Bo…").wait_for()


async def test_a_warm_transfer_declined_and_one_accepted(
    browser: Browser, warm_server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """Bo declines the first consult (nothing moves) and accepts the second (the chat, its
    history and the note move; the visitor sees one line)."""
    server = warm_server
    anna = await new_page(browser, contexts)
    anna_sent = await sign_in(anna, server, "anna")
    bo = await new_page(browser, contexts)
    bo_sent = await sign_in(bo, server, "bo")
    await bo.locator("#presence").select_option("paused")
    visitors = []
    for text in ("Jag behöver prata med någon.", "Kan jag skriva på arabiska?"):
        visitor = await new_page(browser, contexts)
        await visitor_writes(visitor, server, text)
        await take_one(anna)
        visitors.append(visitor)
    await bo.locator("#presence").select_option("available")
    third = await new_page(browser, contexts)
    await visitor_writes(third, server, "Hej, jag är orolig för min mamma.")
    await take_one(bo)
    first = anna.locator("article.chat", has_text="Jag behöver prata med någon.")
    second = anna.locator("article.chat", has_text="Kan jag skriva på arabiska?")

    # 1. Asked first, Bo declines from the keyboard: the chat stays with Anna, untouched.
    await ask_first(anna, first, "topic", "Vill prata om boende.")
    card = bo.locator("#consults li.consult")
    await card.get_by_text("Anna frågar om du kan ta över. Anledning: Ämne.").wait_for()
    await card.get_by_role("button", name="Avböj").press("Enter")
    await card.wait_for(state="detached")
    await first.get_by_text("Bo tackade nej. Chatten är kvar hos dig.").wait_for()
    await first.get_by_role("textbox", name="Meddelande").fill("Jag är kvar här.")
    await first.get_by_role("button", name=re.compile("^Skicka")).click()
    await visitors[0].get_by_text("Jag är kvar här.").wait_for()
    assert await visitors[0].get_by_text(JOINED).count() == 1

    # 2. Asked first with a note: Bo's calm card, then yes.
    await ask_first(anna, second, "language", "Föredrar att skriva på arabiska.")
    await card.get_by_text("Anteckning: Föredrar att skriva på arabiska.").wait_for()
    await card.get_by_text(re.compile(r"\d+ s kvar")).wait_for()
    alias = (await card.locator("b").text_content() or "").strip()
    assert alias.startswith("Besökare ") and alias not in await bo.title()
    assert await bo.locator("#consult-list").get_attribute("aria-live") == "polite"
    for name in ("Ta emot", "Avböj"):
        box = await card.get_by_role("button", name=name).bounding_box()
        assert box and box["width"] >= MIN_TARGET_PX and box["height"] >= MIN_TARGET_PX
    violations = await axe_violations(bo, WCAG22_AA_TAGS)
    assert violations == [], format_violations(violations)
    await card.get_by_role("button", name="Ta emot").click()
    moved = bo.locator("article.chat", has_text="Kan jag skriva på arabiska?")
    await moved.get_by_text("Överlämnad av Anna").wait_for()
    await moved.get_by_text("Anteckning från kollegan: Föredrar att skriva på arabiska.").wait_for()
    await second.get_by_text(re.compile("Överlämnad till Bo")).wait_for()
    await visitors[1].get_by_text(JOINED).nth(1).wait_for()  # one line for the move
    await moved.get_by_role("textbox", name="Meddelande").fill("Hej, jag heter Bo.")
    await moved.get_by_role("button", name=re.compile("^Skicka")).click()
    await visitors[1].get_by_text("Hej, jag heter Bo.").wait_for()
    assert await visitors[1].get_by_text(JOINED).count() == 2
    assert await third.get_by_text(JOINED).count() == 1

    consults = [f for f in anna_sent if f.get("type") == "consult"]
    assert [(f["reason"], f["to"]) for f in consults] == [("topic", "bo"), ("language", "bo")]
    assert [f["accept"] for f in bo_sent if f.get("type") == "consult_answer"] == [False, True]
    assert not [f for f in anna_sent if f.get("type") == "transfer"]
