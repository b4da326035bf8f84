"""The visitor's choice of what we say if someone else answers, on the real app and a real
Redis: offered by the form data, chosen in the JSON API and the no-JS form, stored with the
request and deleted with it, and shown to the counsellor in the work list and the claim."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
import redis

from tests.support.callbacks import (
    CallbackServer,
    StaffClient,
    callback_config,
    callback_server,
    create_request,
    post_json,
    request_body,
    request_keys,
    staff_client,
)
from tests.support.servers import free_port, make_settings

SAY_PERSONAL = "Hej, jag söker {}. Jag ringer igen en annan gång."
SAY_WRONG_NUMBER = "Förlåt, jag har nog ringt fel nummer."
FORM = {
    "phone": "070-123 45 67",
    "window-1-date": "2030-03-13",
    "window-1-start": "10:00",
    "window-1-end": "11:00",
    "alias": "Blåklocka",
    "language": "sv",
}
CHECKED_RE = re.compile(r'<input type="radio" id="opening-(\w+)" name="opening" value="\1" checked')


@pytest_asyncio.fixture
async def cb(redis_url: str, staff_file: Path) -> AsyncIterator[CallbackServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config()) as server:
        yield server


async def post_form(
    server: CallbackServer, form: dict[str, str], lang: str = ""
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/callback{lang}", data=form) as response,
    ):
        return response.status, await response.text()


async def get_page(server: CallbackServer, path: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}{path}") as response:
        assert response.status == 200
        return await response.text()


async def the_only_item(anna: StaffClient) -> dict[str, object]:
    items = await anna.worklist()
    assert len(items) == 1, items
    return items[0]


async def test_the_form_data_offers_the_openings_with_a_default(cb: CallbackServer) -> None:
    """GET /api/callbacks/form lists every opening, in order, with both texts, and the default."""
    async with aiohttp.ClientSession() as http, http.get(f"{cb.url}/api/callbacks/form") as resp:
        info = await resp.json()
    assert [o["code"] for o in info["openings"]] == [
        "wrong_number",
        "personal",
        "survey",
        "hang_up",
    ]
    assert info["default_opening"] == "wrong_number"
    assert info["openings"][0]["choice_sv"] == "Vi säger att vi har ringt fel nummer och lägger på."
    assert all(o["choice_sv"] and o["choice_en"] for o in info["openings"])


async def test_the_chosen_opening_reaches_the_counsellor_before_the_number(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """Stored in plain in the request's hash; the list says it with [alias] in place of the
    alias, the claim with the alias; after the outcome no key of it is left."""
    await create_request(cb, opening="personal", alias="Blåsippa")
    stored = raw_redis.hgetall(next(k for k in request_keys(raw_redis) if ":req:" in k))
    assert stored["opening"] == "personal" and "Blåsippa" not in str(stored)
    anna = await staff_client(cb, "anna")
    item = await the_only_item(anna)
    assert item["opening"] == {
        "code": "personal",
        "say_sv": SAY_PERSONAL.format("[alias]"),
        "say_en": "Hello, I would like to speak to [alias]. I will call again another time.",
    }
    assert "Blåsippa" not in str(item)
    status, claimed = await anna.post(f"/console/api/callbacks/{item['id']}/claim")
    assert status == 200
    assert claimed["opening"]["code"] == "personal" and claimed["alias"] == "Blåsippa"
    assert claimed["opening"]["say_sv"] == SAY_PERSONAL.format("Blåsippa")
    outcome = {"outcome": "reached"}
    assert (await anna.post(f"/console/api/callbacks/{item['id']}/outcome", outcome))[0] == 200
    assert request_keys(raw_redis) == []


async def test_no_choice_is_the_default_and_an_unknown_one_is_refused(cb: CallbackServer) -> None:
    """Without "opening" the request says wrong_number; an unknown code is a 422 on the
    opening field in both languages, and nothing is stored."""
    await create_request(cb)  # the body has no "opening"
    anna = await staff_client(cb, "anna")
    item = await the_only_item(anna)
    assert item["opening"]["code"] == "wrong_number"
    assert item["opening"]["say_sv"] == SAY_WRONG_NUMBER
    status, answer, _ = await post_json(
        f"{cb.url}/api/callbacks", request_body(phone="070-222 33 44", opening="say_nexus")
    )
    assert status == 422
    assert answer["errors"] == [
        {
            "field": "opening",
            "code": "invalid",
            "message_sv": "Välj vad vi ska säga om någon annan svarar.",
            "message_en": "Choose what we should say if someone else answers.",
        }
    ]
    assert len(await anna.worklist()) == 1


async def test_a_request_stored_before_openings_existed_reads_as_the_default(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """A hash without the field (an older request) is listed and claimed as wrong_number."""
    await create_request(cb, opening="survey")
    raw_redis.hdel(next(k for k in request_keys(raw_redis) if ":req:" in k), "opening")
    anna = await staff_client(cb, "anna")
    item = await the_only_item(anna)
    assert item["opening"]["code"] == "wrong_number"
    status, claimed = await anna.post(f"/console/api/callbacks/{item['id']}/claim")
    assert (status, claimed["opening"]["say_sv"]) == (200, SAY_WRONG_NUMBER)


async def test_the_no_js_form_offers_the_openings_as_radio_buttons(cb: CallbackServer) -> None:
    """A fieldset with a legend and a hint, one labelled radio button per opening, the default
    checked; in English on the English page."""
    page = await get_page(cb, "/callback")
    legend = "<legend>Om någon annan svarar i telefonen</legend>"
    assert f'<fieldset aria-describedby="opening-hint">{legend}' in page
    assert CHECKED_RE.findall(page) == ["wrong_number"]
    for code in ("wrong_number", "personal", "survey", "hang_up"):
        assert f'<label for="opening-{code}">' in page
    assert "Vi säger ingenting och lägger på.</label>" in page
    page = await get_page(cb, "/callback?lang=en")
    assert "<legend>If someone else answers the phone</legend>" in page
    assert "We say nothing and hang up.</label>" in page


async def test_the_no_js_form_stores_the_choice_and_keeps_it_on_an_error(
    cb: CallbackServer,
) -> None:
    """The posted opening is stored; with an error elsewhere the choice stays checked."""
    status, page = await post_form(cb, {**FORM, "phone": "12", "opening": "survey"})
    assert status == 422 and CHECKED_RE.findall(page) == ["survey"]
    assert (await post_form(cb, {**FORM, "opening": "survey"}))[0] == 200
    anna = await staff_client(cb, "anna")
    assert (await the_only_item(anna))["opening"]["code"] == "survey"


async def test_an_unknown_opening_in_the_no_js_form_is_shown_at_the_fieldset(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """422: the summary links to the first radio button, the error sits in the fieldset and is
    named by its aria-describedby, every radio is marked invalid and none is checked."""
    status, page = await post_form(cb, {**FORM, "opening": "nexus"})
    assert status == 422
    assert '<a href="#opening-wrong_number">Välj vad vi ska säga om någon annan svarar.</a>' in page
    assert '<fieldset aria-describedby="opening-hint opening-error">' in page
    assert 'id="opening-error"' in page and CHECKED_RE.findall(page) == []
    assert page.count('name="opening" value="') == page.count('aria-invalid="true"') == 4
    assert request_keys(raw_redis) == []
    status, page = await post_form(cb, {**FORM, "opening": "nexus"}, "?lang=en")
    assert status == 422 and "Choose what we should say if someone else answers." in page


async def test_a_too_long_alias_is_explained_at_its_field(cb: CallbackServer) -> None:
    """41 characters: the summary and the alias field say the limit; the value is kept."""
    status, page = await post_form(cb, {**FORM, "alias": "å" * 41})
    assert status == 422
    assert '<a href="#alias">Aliaset får vara högst 40 tecken.</a>' in page
    assert 'id="alias-error"' in page
    assert 'aria-describedby="alias-hint alias-error" aria-invalid="true"' in page
    assert f'value="{"å" * 41}"' in page
