"""The pages for meeting points and posters: the full-page chat (/chatt, with a kiosk mode
for a shared device) and a printable A4 poster per language (/affisch) with a QR code.

Both are the service's own pages (served with and without ``NEXUS_DEMO``), server-rendered
like the legal pages: every value through ``html.escape``, no inline script or style, no
cookie, nothing from another site (the page CSP of :mod:`.security`). The language is one of
the widget's languages, read from ``widget/i18n/index.json`` at each request (a language
added there is offered at once); an unknown one is a 400 page that lists the languages. The
poster is written from the running settings: the address from ``NEXUS_PUBLIC_URL``, the
chat's opening hours from ``NEXUS_OPENING_HOURS``, Nexus' number from ``NEXUS_PHONE``. Its QR
code is made here by segno, as inline SVG. Texts: ``chat_server/data/meeting_points.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any, Final

import segno
from aiohttp import web

from ..domain.weekly_text import day_groups, group_text
from .appkeys import SERVICES

CHAT_PATH: Final = "/chatt"
POSTER_PATH: Final = "/affisch"
TEXTS: Final[dict[str, dict[str, Any]]] = json.loads(
    (resources.files("chat_server") / "data" / "meeting_points.json").read_text("utf-8")
)
TEXT_FALLBACK: Final = "sv"  # a listed language the file has no texts for gets Swedish (marked)


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    dir: str


def widget_languages(widget_dir: Path) -> tuple[Language, ...]:
    """The widget's languages, first the default; Swedish alone if the index cannot be read."""
    try:
        index = json.loads((widget_dir / "i18n" / "index.json").read_text("utf-8"))
        found = tuple(
            Language(entry["code"], entry["name"], "rtl" if entry.get("dir") == "rtl" else "ltr")
            for entry in index["languages"]
            if isinstance(entry.get("code"), str) and isinstance(entry.get("name"), str)
        )
        default = index.get("default", "sv")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        found, default = (), "sv"
    if not found:
        return (Language("sv", "Svenska", "ltr"),)
    return tuple(sorted(found, key=lambda language: language.code != default))


def _refusal(title: str, text: str, links: str = "") -> web.HTTPBadRequest:
    body = (
        '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/meeting.css">'
        f'</head><body><main class="refusal"><h1>{escape(title)}</h1><p>{escape(text)}</p>'
        f"{links}</main></body></html>"
    )
    return web.HTTPBadRequest(text=body, content_type="text/html")


def chosen_language(request: web.Request) -> tuple[Language, bool]:
    """The ``?lang=`` language and whether it is the default; raises a 400 page for any other."""
    languages = widget_languages(request.app[SERVICES].settings.widget_dir)
    wanted = request.query.get("lang", languages[0].code)
    for language in languages:
        if language.code == wanted:
            return language, language is languages[0]
    items = "".join(
        f'<li><a href="{request.path}?lang={escape(language.code)}" lang="{escape(language.code)}"'
        f' dir="{language.dir}">{escape(language.name)}</a></li>'
        for language in languages
    )
    raise _refusal(
        "Sidan finns inte på det språket",
        "Välj ett av de här språken:",
        f'<ul class="languages">{items}</ul>',
    )


def texts_for(code: str) -> tuple[dict[str, Any], str]:
    """The page texts for ``code`` and the language they are in (Swedish when there are none)."""
    if code in TEXTS and not code.startswith("_"):
        return TEXTS[code], code
    return TEXTS[TEXT_FALLBACK], TEXT_FALLBACK


def chat_address(origin: str, language: Language, is_default: bool) -> str:
    """The public address of /chatt in ``language`` (what the poster's QR code holds)."""
    return f"{origin}{CHAT_PATH}" + ("" if is_default else f"?lang={language.code}")


async def chat_page(request: web.Request) -> web.Response:
    """``GET /chatt[?lang=<code>][&kiosk=1]``: the widget as the whole page."""
    settings = request.app[SERVICES].settings
    language, _ = chosen_language(request)
    kiosk = request.query.get("kiosk", "0")
    if kiosk not in ("0", "1"):
        raise _refusal("Okänt värde för kiosk", "Skriv kiosk=1 för kioskläge, eller inget alls.")
    texts, text_lang = texts_for(language.code)
    suffix = "" if language.code.split("-")[0] == "sv" else "?lang=en"
    kiosk_attrs = f' data-kiosk data-kiosk-idle-s="{settings.kiosk_idle_s}"' if kiosk == "1" else ""
    lang, direction = escape(language.code), language.dir
    page = f"""<!doctype html>
<html lang="{lang}" dir="{direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(texts["title"])}</title>
<link rel="stylesheet" href="/static/meeting.css">
</head>
<body class="chatt">
<div id="nexus-chat-page"><noscript><main class="refusal" lang="{text_lang}">
<h1>{escape(texts["headline"])}</h1>
<p>{escape(texts["noscript"])} <a href="/callback{suffix}">{escape(texts["callback"])}</a></p>
<p>{escape(texts["danger"])} <strong>112</strong>. {escape(texts["kvinnofrid"])}:
<strong dir="ltr">020-50 50 50</strong>.
{escape(texts["police"])}: <strong dir="ltr">114 14</strong>.</p>
</main></noscript></div>
<script src="/widget/nexus-chat.js" data-lang="{lang}" data-layout="page" data-open{kiosk_attrs}
 referrerpolicy="no-referrer" defer></script>
</body>
</html>
"""
    return web.Response(text=page, content_type="text/html")


def qr_svg(address: str) -> str:
    """The QR code of ``address`` as inline SVG, named for assistive technology."""
    code = segno.make(address, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr-code", lineclass=None)
    label = escape(f"QR: {address}")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def hours_items(request: web.Request, texts: dict[str, Any]) -> tuple[str, bool]:
    """The chat's opening hours as list items, and whether public holidays close it."""
    hours = request.app[SERVICES].hours
    if hours is None:
        return f"<li>{escape(texts['all_hours'])}</li>", False
    items = []
    for group in day_groups(hours.weekly):
        days, times = group_text(group, texts["days"])
        shown = f'<span dir="ltr">{escape(times)}</span>' if times else escape(texts["closed"])
        items.append(f"<li>{escape(days)} {shown}</li>")
    return "".join(items), hours.observe_public_holidays


async def poster_page(request: web.Request) -> web.Response:
    """``GET /affisch[?lang=<code>]``: an A4 poster for a meeting point, to print."""
    services = request.app[SERVICES]
    language, is_default = chosen_language(request)
    texts, text_lang = texts_for(language.code)
    address = chat_address(services.settings.origin, language, is_default)
    shown = address.split("://", 1)[-1]
    items, holidays = hours_items(request, texts)
    closed = f"<p>{escape(texts['holidays'])}</p>" if holidays else ""
    direction = language.dir if text_lang == language.code else "ltr"

    def number(label: str, value: str, css: str = "") -> str:
        return (
            f'<p class="number {css}">{escape(texts[label])} '
            f'<strong dir="ltr">{escape(value)}</strong></p>'
        )

    page = f"""<!doctype html>
<html lang="{escape(text_lang)}" dir="{direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(texts["headline"])} – Nexus, Uppsala kommun</title>
<link rel="stylesheet" href="/static/poster.css">
</head>
<body>
<main class="poster">
<h1>{escape(texts["headline"])}</h1>
<p class="lead">{escape(texts["lead"])}</p>
<div class="reach">
<div class="qr">{qr_svg(address)}</div>
<div><p>{escape(texts["scan"])}</p><p class="address" dir="ltr">{escape(shown)}</p></div>
</div>
<section class="hours" aria-labelledby="hours-title">
<h2 id="hours-title">{escape(texts["chat_hours"])}</h2><ul>{items}</ul>{closed}
</section>
<section class="numbers">
{number("danger", "112", "danger")}
{number("kvinnofrid", "020-50 50 50")}
{number("police", "114 14")}
{number("nexus_phone", services.settings.console.nexus_phone)}
</section>
<p class="sender">Nexus · Uppsala kommun</p>
</main>
</body>
</html>
"""
    return web.Response(text=page, content_type="text/html")


def routes() -> list[web.RouteDef]:
    return [web.get(CHAT_PATH, chat_page), web.get(POSTER_PATH, poster_page)]
