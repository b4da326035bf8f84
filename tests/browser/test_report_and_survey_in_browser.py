"""The evaluation report in Chromium (axe-clean, printed to an A4 PDF, with data and empty)
and the widget asking a configured extra survey question whose answer is counted."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
import redis

from chat_server.web.supervision import SUPERVISION
from tests.browser.test_widget_support import open_panel, take_next, widget_env
from tests.integration.supervisor_helpers import (
    FAST_CONFIG,
    SupervisedServer,
    day_counters,
    supervised_server,
)
from tests.integration.test_evaluation_report import EXTRA_QUESTION, survey_file
from tests.integration.test_stats_api import play_scripted_day
from tests.support.browser import axe_violations, format_violations, sign_in_to_console
from tests.support.servers import free_port, make_settings, open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

A4_POINTS = (595.3, 841.9)  # 210 × 297 mm; Chromium rounds to whole CSS pixels
# WCAG 2.2 AA as well, the bar for staff screens (as tests/browser/test_supervisor_in_browser.py).
WCAG22_AA_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
PDF_MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]")


@pytest_asyncio.fixture(loop_scope="module")
async def sup(redis_url: str, staff_file: Path) -> AsyncIterator[SupervisedServer]:
    async with supervised_server(make_settings(redis_url, staff_file, free_port())) as server:
        yield server


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The (width, height) in points of every page of a PDF that Chromium wrote."""
    assert pdf.startswith(b"%PDF-")
    sizes = [(float(w), float(h)) for w, h in PDF_MEDIA_BOX.findall(pdf)]
    assert len(sizes) == len(PDF_PAGE.findall(pdf)), "one media box per page"
    return sizes


def is_a4(size: tuple[float, float]) -> bool:
    return all(abs(got - want) <= 1.5 for got, want in zip(size, A4_POINTS, strict=True))


async def labels_outside_their_chart(page: Page) -> list[str]:
    """Texts of any report chart that reach outside the chart's box."""
    found: list[str] = await page.locator("svg.chart").evaluate_all(
        """charts => charts.flatMap(svg => { const box = svg.getBoundingClientRect();
             return [...svg.querySelectorAll('text')].filter(t => {
               const r = t.getBoundingClientRect();
               return r.left < box.left - 0.5 || r.right > box.right + 0.5
                 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5; })
             .map(t => t.textContent); })"""
    )
    return found


async def test_the_report_is_accessible_and_prints_on_a4(
    browser: Browser, sup: SupervisedServer
) -> None:
    """A period with data: axe-clean, labels inside the charts, several A4 pages; an empty
    period: one A4 page that says there is no data."""
    await play_scripted_day(sup.supervision.stats)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await sign_in_to_console(page, sup.url, "sara")
        await page.goto(f"{sup.url}/supervisor/report?from=2024-05-01&to=2024-06-30")
        await page.get_by_role("heading", name="Hänvisningar", level=2).wait_for()
        violations = await asyncio.wait_for(axe_violations(page, WCAG22_AA_TAGS), 60)
        assert violations == [], format_violations(violations)
        assert await labels_outside_their_chart(page) == []
        full = pdf_pages(await page.pdf(format="A4", print_background=True))
        # One section per page at least: overview, contacts, topics, waits, callbacks, ...
        assert len(full) >= 7
        assert all(is_a4(size) for size in full), full
        await page.emulate_media(media="print")
        assert await page.locator("form.period").is_hidden()
        await page.emulate_media(media="screen")

        await page.goto(f"{sup.url}/supervisor/report?from=2023-01-01&to=2023-01-31")
        await page.get_by_text("Det finns inga uppgifter för den här perioden.").wait_for()
        violations = await asyncio.wait_for(axe_violations(page, WCAG22_AA_TAGS), 60)
        assert violations == [], format_violations(violations)
        empty = pdf_pages(await page.pdf(format="A4"))
        assert len(empty) == 1 and is_a4(empty[0]), empty
    finally:
        await context.close()


async def test_the_widget_asks_a_configured_question_and_it_is_counted(
    browser: Browser, redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """An extra yes/no question from NEXUS_SURVEY_FILE is shown after the chat, answered and
    counted as feedback:practical_help:yes."""
    config = dataclasses.replace(FAST_CONFIG, survey_file=survey_file(staff_file.parent))
    async with widget_env(redis_url, staff_file, supervisor=config) as env:
        context = await browser.new_context()
        console = await open_console(env.server, "anna")
        try:
            page = await context.new_page()
            await open_panel(page, env.page(data_lang="sv"))
            await page.locator(".prechat .start").click()
            await page.locator(".waitbox").wait_for()
            chat_id = await take_next(console)
            await page.locator(".msg.system").wait_for()
            await console.send(type="end", chat_id=chat_id)
            extra = page.locator(".feedback fieldset[data-question='practical_help']")
            question_sv = EXTRA_QUESTION["text"]["sv"]  # type: ignore[index]
            await extra.get_by_text(question_sv).wait_for()
            await extra.get_by_label("Ja").check()
            await page.locator(".feedback input[value='4']").check()
            await page.locator(".feedback button[type=submit]").click()
            thanks = json.loads((Path(__file__).resolve().parents[2] / "widget" / "i18n" /
                                 "sv.json").read_text("utf-8"))["feedback_thanks"]  # fmt: skip
            await page.get_by_text(thanks).wait_for()
        finally:
            await console.close()
            await context.close()
        counts = day_counters(raw_redis, env.server.app[SUPERVISION].stats.today())
        assert {k: v for k, v in counts.items() if k.startswith("feedback")} == {
            "feedback_responses": 1, "feedback:helped:4": 1, "feedback:practical_help:yes": 1,
        }  # fmt: skip
