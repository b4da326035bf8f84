"""The screenshots of warm transfer and live supervision in docs/img/ (for ``ops/screenshots``).

One private Redis and the real app with the console features; Anna and Bo (counsellors) and
Sara (supervisor) sign in through the login form in the system Chromium, three made-up
visitors write from Python clients, and everything else is clicks in the pages:

- ``console-consult-1280x800.png``: Bo's console with the *Kollega frågar* card, after Anna
  asked him first about one of her chats (the transfer dialog's *Fråga kollegan först*);
- ``console-monitor-1280x800.png``: Sara's console monitoring Bo's chat, after a whisper and
  after joining (the whisper box and the message box as Handledare);
- ``console-monitored-1280x800.png``: Bo's console of that chat, *Medlyssnas av Sara
  (ansluten)*, the whisper in the supervision panel and Handledare's line in the transcript.

Every text is invented. The pictures wait on elements, never on time.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from chat_server.store.embedded import EmbeddedRedis
from tests.support.browser import chromium_browser, sign_in_to_console
from tests.support.console_app import console_server
from tests.support.servers import Client, free_port, make_settings, start_visitor, write_staff
from tests.support.supervisor_screens import STAFF  # Anna, Bo and Sara (supervisor)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page, ViewportSize

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
ANNAS_VISITORS = [  # (topic, language, what they write)
    ("violence_close", "sv", "Hej. Min sambo läser mina sms och blir arg om jag inte svarar."),
    ("honour", "ar", "Jag skriver helst på arabiska om det går."),
]
BOS_VISITOR = ("older_person", "sv", "Min son tar mina pengar och jag vet inte vad jag ska göra.")
BOS_REPLY = "Hej, vad bra att du skriver. Du är anonym här. Berätta gärna mer när du vill."
CONSULT_NOTE = "Vill skriva på arabiska. Oro för familjen, har inte sagt mer än."
WHISPER = "Fråga om hon har någon hon litar på i närheten."
SUPERVISOR_SAYS = "Hej, jag är handledare här och läser med. Det du berättar tar vi på allvar."


async def take_chat(page: Page) -> None:
    """Accept the offer, or take the queue's next chat; return once one more chat is open."""
    before = await page.locator("article.chat").count()
    accept = page.get_by_role("button", name="Ta emot")
    take = page.get_by_role("button", name="Ta nästa chatt")
    await accept.or_(take).first.click()
    await page.locator("article.chat").nth(before).wait_for()


async def reply(chat: Locator, text: str) -> None:
    """Write ``text`` in ``chat``'s message box and wait until the server has it."""
    box = chat.locator("textarea.message")
    await box.fill(text)
    await box.press("Enter")
    await chat.locator("li.msg.counsellor:not(.pending)", has_text=text).wait_for()


async def signed_in(browser: Browser, url: str, username: str) -> Page:
    context = await browser.new_context(viewport=VIEWPORT, locale="sv-SE")
    page = await context.new_page()
    await sign_in_to_console(page, url, username)
    await page.locator("#me").filter(has_text=re.compile(r"\w")).wait_for()
    return page


async def ask_bo_first(anna: Page, chat: Locator) -> None:
    """Anna's transfer dialog on ``chat``: Bo, ask first (the default), reason language."""
    chat_id = await chat.get_attribute("data-chat-id")
    await anna.locator(f'[role="tab"][aria-controls="chat-{chat_id}"]').click()
    await chat.get_by_role("button", name=re.compile("Överlämna")).click()
    dialog = anna.locator("#transfer-dialog")
    await dialog.get_by_label(re.compile(r"^\s*Bo – ")).check()
    await dialog.get_by_label(re.compile("Anledning")).select_option("language")
    await dialog.get_by_label(re.compile("Kort anteckning")).fill(CONSULT_NOTE)
    await dialog.get_by_role("button", name=re.compile("Överlämna")).click()
    await chat.get_by_text("Väntar på svar från Bo…").wait_for()


async def shoot(out_dir: Path) -> list[Path]:
    """Start Redis and the app, play the two stories, and write the three screenshots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    consult, monitor, monitored = (
        out_dir / f"console-{name}-1280x800.png" for name in ("consult", "monitor", "monitored")
    )
    visitors: list[Client] = []
    with EmbeddedRedis() as redis, tempfile.TemporaryDirectory() as tmp:
        staff_file = Path(tmp) / "staff.json"
        write_staff(staff_file, STAFF)
        settings = make_settings(redis.url, staff_file, free_port(), demo=True)
        async with console_server(settings) as server, chromium_browser() as browser:
            anna = await signed_in(browser, server.url, "anna")
            bo = await signed_in(browser, server.url, "bo")
            await bo.locator("#presence").select_option("paused")  # Anna's chats go to Anna
            for topic, language, text in ANNAS_VISITORS:
                visitor, _ = await start_visitor(server, topic=topic, language=language)
                await visitor.send(type="message", text=text)
                visitors.append(visitor)
                await take_chat(anna)
            await bo.locator("#presence").select_option("available")
            topic, language, text = BOS_VISITOR
            visitor, _ = await start_visitor(server, topic=topic, language=language)
            await visitor.send(type="message", text=text)
            visitors.append(visitor)
            await take_chat(bo)
            bos_chat = bo.locator("article.chat").first
            await reply(bos_chat, BOS_REPLY)

            # Warm transfer: Anna asks Bo first about her second chat; Bo's card.
            await ask_bo_first(anna, anna.locator("article.chat").nth(1))
            card = bo.locator("#consults li.consult")
            await card.get_by_text("Anteckning: ").wait_for()
            await bo.screenshot(path=consult)
            await card.get_by_role("button", name="Avböj").click()
            await card.wait_for(state="detached")

            # Live supervision: Sara monitors Bo's chat, whispers, joins and writes.
            sara = await signed_in(browser, server.url, "sara")
            row = sara.locator("#active-chats li", has_text=" · Bo · ")
            await row.get_by_role("button", name=re.compile(r"Medlyssna på Besökare")).click()
            pane = sara.get_by_role("article", name=re.compile(r"Medlyssning: Besökare"))
            await pane.get_by_text(BOS_REPLY).wait_for()
            await pane.get_by_label("Viska till Bo").fill(WHISPER)
            await pane.get_by_role("button", name="Viska").click()
            await bo.get_by_text(WHISPER).first.wait_for()
            await pane.get_by_role("button", name="Anslut till samtalet").click()
            await bos_chat.get_by_text("Medlyssnas av Sara (ansluten)").wait_for()
            say = pane.get_by_label("Till besökaren (som Handledare)")
            await say.fill(SUPERVISOR_SAYS)
            await say.press("Enter")
            await pane.locator("li.msg:not(.pending)", has_text=SUPERVISOR_SAYS).wait_for()
            await bos_chat.locator("li.msg.supervisor", has_text=SUPERVISOR_SAYS).wait_for()
            await sara.screenshot(path=monitor)
            await bo.screenshot(path=monitored)
            for page in (anna, bo, sara):
                await page.context.close()
            for visitor in visitors:
                await visitor.close()
    return [consult, monitor, monitored]
