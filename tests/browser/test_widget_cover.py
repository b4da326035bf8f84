"""Någon kommer ("someone is coming"): the cover replaces the panel in the same click or key
press, the counsellor is told, what they write meanwhile neither shows nor notifies, and all of
it is there when the visitor comes back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from chat_server.web.console_settings import ConsoleSettings
from tests.browser.test_console_duty import sign_in, take_one, visitor_writes
from tests.browser.test_widget_support import evaluate
from tests.support.browser import axe_violations, format_violations
from tests.support.console_app import console_server
from tests.support.servers import RunningServer, free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

NOTICE = "Besökaren är inte ensam – skriv inget känsligt."

# Records, in the page, each frame the widget sends and whether the cover was up by then, and
# every tone the widget would play.
PROBE_JS = """
window.__sent = [];
window.__tones = 0;
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  const cover = document.querySelector("nexus-chat")?.shadowRoot?.querySelector(".cover");
  window.__sent.push({ frame: JSON.parse(data), covered: Boolean(cover && !cover.hidden) });
  return send.call(this, data);
};
if (window.AudioContext) {
  const tone = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.__tones += 1;
    return tone.call(this);
  };
}
"""

STATE_JS = """() => {
  const root = document.querySelector("nexus-chat").shadowRoot;
  const seen = (node) => Boolean(node) && node.getClientRects().length > 0;
  return {
    panel: seen(root.querySelector("#nc-panel")),
    cover: seen(root.querySelector(".cover")),
    launcher: seen(root.querySelector(".launcher")),
    log: [...root.querySelectorAll(".log .msg")].map((item) => item.textContent),
    said: root.querySelector("[aria-live]").textContent + root.querySelector("[role=status]").textContent,
    badge: !root.querySelector(".badge").hidden,
    title: document.title,
    tones: window.__tones,
  };
}"""


@pytest_asyncio.fixture(loop_scope="module")
async def server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port(), demo=True)
    async with console_server(settings, ConsoleSettings(nexus_phone="018-999 99 99")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


async def test_someone_coming_covers_at_once_and_holds_the_counsellors_words(
    browser: Browser, server: RunningServer, contexts: list[BrowserContext]
) -> None:
    """The button covers the panel before not_alone leaves; a message meanwhile stays unseen
    and silent; Ctrl+Alt+H brings the chat back with it; the counsellor sees the notice."""
    anna_context, visitor_context = await browser.new_context(), await browser.new_context()
    contexts.extend([anna_context, visitor_context])
    await visitor_context.add_init_script(PROBE_JS)
    anna = await anna_context.new_page()
    await sign_in(anna, server, "anna")
    visitor = await visitor_context.new_page()
    arrived = asyncio.Event()  # the counsellor's message reached the widget's socket

    def on_frame(data: str | bytes) -> None:
        if "Är du okej?" in (data if isinstance(data, str) else data.decode()):
            arrived.set()

    visitor.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    await visitor_writes(visitor, server, "Hej, jag vill prata")
    await take_one(anna)
    pane = anna.locator("article.chat", has_text="Hej, jag vill prata")
    await visitor.locator(".msg.system").wait_for()  # the counsellor joined

    button = visitor.get_by_role("button", name="Någon kommer", exact=True)
    await button.click()
    await visitor.get_by_role("heading", name="Vanliga frågor om sophämtning").wait_for()
    state = await evaluate(visitor, STATE_JS)
    assert (state["panel"], state["cover"], state["launcher"]) == (False, True, False)
    text = await visitor.locator(".cover").inner_text()
    assert not re.search(r"nexus|våld|chatt|rådgiv", text, re.IGNORECASE)
    sent = await evaluate(visitor, "window.__sent.filter((s) => s.frame.type === 'not_alone')")
    assert sent == [{"frame": {"type": "not_alone", "on": True}, "covered": True}]
    await pane.get_by_text(NOTICE).wait_for()
    assert format_violations(await axe_violations(visitor)) == "no accessibility violations"

    # The counsellor writes while the visitor is covered: it arrives, but nothing shows.
    before = await evaluate(visitor, STATE_JS)
    await pane.get_by_label("Meddelande", exact=True).fill("Är du okej?")
    await pane.get_by_role("button", name=re.compile("Skicka")).click()
    await pane.locator("li.msg.counsellor:not(.pending)", has_text="Är du okej?").wait_for()
    await asyncio.wait_for(arrived.wait(), 5)
    await evaluate(visitor, "new Promise((done) => setTimeout(done))")  # its handler has run
    covered = await evaluate(visitor, STATE_JS)
    assert covered["log"] == before["log"]
    assert "Är du okej?" not in covered["said"]
    assert (covered["badge"], covered["title"], covered["tones"]) == (
        False,
        before["title"],
        before["tones"],
    )

    # Back with the chord: the panel, the held message, and the counsellor is told.
    await visitor.keyboard.press("Control+Alt+KeyH")
    await visitor.locator(".log .msg.counsellor", has_text="Är du okej?").wait_for()
    back = await evaluate(visitor, STATE_JS)
    assert (back["panel"], back["cover"]) == (True, False)
    await pane.get_by_text("Besökaren är tillbaka").wait_for()
    assert not await pane.get_by_text(NOTICE).is_visible()
    frames: list[dict[str, Any]] = await evaluate(
        visitor, "window.__sent.filter((s) => s.frame.type === 'not_alone').map((s) => s.frame)"
    )
    assert frames == [{"type": "not_alone", "on": True}, {"type": "not_alone", "on": False}]
