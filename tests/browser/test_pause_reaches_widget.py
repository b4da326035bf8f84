"""End to end: a supervisor pauses intake in the real supervisor page, and a visitor's widget on
a host page shows the paused screen in Swedish and cannot start a chat until intake resumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.test_widget_support import WidgetEnv, evaluate, open_panel
from tests.support.browser import sign_in_to_console
from tests.support.servers import open_visitor

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SV = json.loads((Path(__file__).resolve().parents[2] / "widget/i18n/sv.json").read_text())
SUPERVISOR = "sara"  # role supervisor in tests/conftest.py STAFF
PAUSE_MESSAGE_SV = "Vi har paus för personalmöte till klockan 14."
PAUSE_MESSAGE_EN = "We are in a staff meeting until 2 pm."
INTAKE_OPEN_STATE = "Nya chattar tas emot."
INTAKE_PAUSED_STATE = "Nya chattar är pausade."


async def open_supervisor_page(browser: Browser, env: WidgetEnv) -> Page:
    """The live view, signed in as the supervisor, once its first live frame has arrived (the
    hello frame with the CSRF token comes before it, so the controls can post)."""
    from playwright.async_api import expect

    page = await (await browser.new_context()).new_page()
    await sign_in_to_console(page, env.server.url, SUPERVISOR)
    await page.goto(f"{env.server.url}/supervisor/")
    await expect(page.locator("#control-state")).to_have_text(INTAKE_OPEN_STATE)
    return page


async def expect_paused_screen(page: Page) -> None:
    """The widget shows the paused screen with the supervisor's message and no start button."""
    from playwright.async_api import expect

    closed = page.locator(".screen.closed")
    await expect(closed).to_be_visible()
    await expect(closed.locator("h3")).to_have_text(SV["paused_heading"])
    await expect(closed).to_contain_text(SV["paused_text"])
    await expect(closed.locator(".staff-notice")).to_have_text(PAUSE_MESSAGE_SV)
    await expect(page.locator(".screen.prechat")).to_be_hidden()
    await expect(page.get_by_role("button", name=SV["start"])).to_have_count(0)


async def test_a_supervisor_pause_reaches_the_visitor_widget(
    browser: Browser, env: WidgetEnv
) -> None:
    """A pause from /supervisor/ gives the widget its paused screen and refuses starts; a
    resume brings the pre-chat start back."""
    from playwright.async_api import expect

    supervisor = await open_supervisor_page(browser, env)
    visitors = await browser.new_context()
    try:
        before = await visitors.new_page()  # opened while intake is still open
        await open_panel(before, env.page())
        await expect(before.locator(".screen.prechat .start")).to_be_visible()

        await supervisor.get_by_label("Meddelande i chattfönstret, på svenska").fill(PAUSE_MESSAGE_SV)
        await supervisor.get_by_label("Meddelande i chattfönstret, på engelska").fill(PAUSE_MESSAGE_EN)
        await supervisor.get_by_role("button", name="Pausa nya chattar").click()
        await expect(supervisor.locator("#control-state")).to_have_text(INTAKE_PAUSED_STATE)

        socket = await open_visitor(env.server)
        try:
            await socket.send(type="start", topic="honour", language="sv", urgent=False)
            refusal = await socket.expect_any(("welcome", "error"))
        finally:
            await socket.close()
        assert (refusal["type"], refusal.get("code")) == ("error", "closed")

        during = await visitors.new_page()
        await open_panel(during, env.page())
        await expect_paused_screen(during)

        await before.locator(".screen.prechat .start").click()  # its status is from before
        await expect_paused_screen(before)
        assert await evaluate(before, "Object.keys(sessionStorage)") == []

        await supervisor.get_by_role("button", name="Öppna för nya chattar").click()
        await expect(supervisor.locator("#control-state")).to_have_text(INTAKE_OPEN_STATE)

        after = await visitors.new_page()
        await open_panel(after, env.page())
        await expect(after.locator(".screen.prechat")).to_be_visible()
        await expect(after.locator(".screen.prechat h3")).to_have_text(SV["prechat_heading"])
        await expect(after.locator(".screen.closed")).to_be_hidden()
        await after.get_by_role("button", name=SV["start"]).click()
        await after.locator(".waitbox").wait_for()
    finally:
        await visitors.close()
        await supervisor.context.close()
