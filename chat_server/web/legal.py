"""The legal pages: the privacy notice (/integritet) and the accessibility statement
(/tillganglighet) with its fault report form.

Server-rendered like the no-JS callback form: every value through ``html.escape``, no script,
no inline style, no cookie, nothing from another site. Swedish by default, English with
``?lang=en`` (easy-to-read Swedish asks with ``?lang=sv-lattlast`` and gets the Swedish page;
any other language gets English). The privacy notice is written from the running ``Settings``
(``kept_items``), so what it says is kept, and for how long, is what this process does.
The handlers never read the client's address: a fault report is stored as its text and its day.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.exceptions import RedisError

from ..store.a11y_reports import A11yReports
from ..store.callbacks import COUNTS_TTL_S
from ..store.stats import FEEDBACK_TOKEN_TTL_S, STATS_DAY_TTL_S
from .appkeys import SERVICES
from .bodies import UnreadableBody, read_form
from .callback_form import STYLESHEET
from .legal_links import legal_footer
from .supervision import require_supervisor

if TYPE_CHECKING:
    from ..config import Settings

MAX_REPORT_CHARS: Final = 1000
DIGG_REPORT_URL: Final = "https://www.digg.se/tdosanmalan"
IMY_URL: Final = "https://www.imy.se/"
KONTAKTCENTER: Final = "018-727 00 00"
LOCAL_TZ: Final = ZoneInfo("Europe/Stockholm")
LEGAL_STYLESHEET: Final = (
    STYLESHEET
    + """\
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid #767676; padding: .35rem .5rem; text-align: start; vertical-align: top; }
nav a, footer a { display: inline-block; min-height: 24px; }
footer { border-top: 1px solid #767676; margin-top: 2rem; }
textarea { width: 100%; box-sizing: border-box; }
"""
)

UNITS: Final = {
    "sv": ((86400, "dag", "dagar"), (3600, "timme", "timmar"), (60, "minut", "minuter"),
           (1, "sekund", "sekunder")),
    "en": ((86400, "day", "days"), (3600, "hour", "hours"), (60, "minute", "minutes"),
           (1, "second", "seconds")),
}  # fmt: skip


def duration(seconds: int, lang: str) -> str:
    """``seconds`` in the largest whole unit: "30 minuter", "1 hour", "8 dagar"."""
    for size, one, many in UNITS[lang]:
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {one if count == 1 else many}"
    return f"{seconds} {UNITS[lang][-1][2]}"


def page_lang(request: web.Request) -> str:
    """The page's language: English on request (and for languages without a translation)."""
    wanted = request.query.get("lang", "sv")
    return "sv" if wanted.split("-")[0] == "sv" else "en"


@dataclass(frozen=True, slots=True)
class Kept:
    """One row of the privacy notice: what is kept, where, and for how long."""

    what: str
    how_long: str


def kept_items(settings: Settings, lang: str) -> list[Kept]:
    """What the running service keeps about a visitor, from its settings, in ``lang``."""

    def d(seconds: int) -> str:
        return duration(seconds, lang)

    sv = lang == "sv"
    rows = [
        Kept(
            "Chatten: dina och rådgivarens meddelanden, krypterade, och dina val (ämne, språk)"
            if sv
            else "The chat: your and the counsellor's messages, encrypted, and your choices "
            "(topic, language)",
            f"Tills chatten avslutas; då raderas allt. En chatt där ingen skriver raderas efter "
            f"{d(settings.chat_ttl_s)}. Tappar du anslutningen i kön sparas din plats i "
            f"{d(settings.visitor_gone_ttl_s)}."
            if sv
            else f"Until the chat ends; then everything is deleted. A chat where nobody writes "
            f"is deleted after {d(settings.chat_ttl_s)}. If your connection drops while you "
            f"wait, your place is kept for {d(settings.visitor_gone_ttl_s)}.",
        )
    ]
    if settings.callbacks is not None:
        grace = settings.callbacks.rules.grace_s
        rows.append(
            Kept(
                "Om du ber oss ringa: ditt nummer, ditt kodord och ditt meddelande, krypterade, "
                "och de tider du valt"
                if sv
                else "If you ask us to call: your number, code word and message, encrypted, and "
                "the times you chose",
                f"Tills samtalet är gjort eller du avbokar; då raderas numret direkt. Senast "
                f"{d(grace)} efter den sista tiden du valt."
                if sv
                else f"Until the call is done or you cancel; the number is then deleted at once. "
                f"At the latest {d(grace)} after the last time you chose.",
            )
        )
    rows += [
        Kept(
            "Enkäten efter chatten: bara som antal svar per dag, utan koppling till chatten"
            if sv
            else "The survey after the chat: only as counts of answers per day, not linked to "
            "the chat",
            f"Svarslänken gäller i {d(FEEDBACK_TOKEN_TTL_S)}. Antalen ingår i statistiken."
            if sv
            else f"The answer link is valid for {d(FEEDBACK_TOKEN_TTL_S)}. The counts are part "
            "of the statistics.",
        ),
        Kept(
            "Rådgivarens avslutskod för chatten (till exempel hänvisad), utan text"
            if sv
            else "The counsellor's outcome code for the chat (for example referred), no text",
            f"Kan sparas upp till {d(settings.supervisor.outcome_grace_s)} efter chatten, sedan "
            "bara som antal i statistiken."
            if sv
            else f"Can be saved up to {d(settings.supervisor.outcome_grace_s)} after the chat, "
            "then only as counts in the statistics.",
        ),
        Kept(
            "Statistik: bara antal per dag (chattar, väntetider, ämnen, språk), aldrig en "
            "enskild chatt eller person"
            if sv
            else "Statistics: only counts per day (chats, waits, topics, languages), never a "
            "single chat or person",
            f"{d(STATS_DAY_TTL_S)} i tjänstens minne (uppringningarnas antal "
            f"{d(COUNTS_TTL_S)}), sedan i dagliga filer som kommunen gallrar enligt sitt "
            "gallringsbeslut."
            if sv
            else f"{d(STATS_DAY_TTL_S)} in the service's memory (callback counts "
            f"{d(COUNTS_TTL_S)}), then in daily files that the municipality deletes according "
            "to its deletion decision.",
        ),
        Kept(
            "Om du rapporterar ett tillgänglighetsproblem: texten du skriver och dagen"
            if sv
            else "If you report an accessibility problem: the text you write and the day",
            d(settings.legal.a11y_report_days * 86400),
        ),
    ]
    return rows


TEXT: Final[Mapping[str, Mapping[str, str]]] = {
    "sv": {
        "site": "Nexus chatt · Uppsala kommun",
        "switch": "In English",
        "privacy_title": "Så hanterar vi dina uppgifter i chatten",
        "a11y_title": "Tillgänglighet för Nexus chatt",
        "danger": "Är du i akut fara: ring <strong>112</strong>. Kvinnofridslinjen "
        "<strong>020-50 50 50</strong> (dygnet runt, gratis). Polisen <strong>114 14</strong>.",
        "privacy_intro": "I chatten är du anonym. Vi frågar inte efter ditt namn och vi sparar "
        "så lite som möjligt, så kort tid som möjligt. Här står vad som sparas och hur länge. "
        "Uppgifterna kommer direkt från den tjänst som är igång, så de stämmer alltid.",
        "controller_h": "Vem ansvarar?",
        "controller": "Personuppgiftsansvarig är {controller}.",
        "dpo": "Kommunens dataskyddsombud: {dpo}.",
        "dpo_default": "nås via Uppsala kommuns Kontaktcenter, 018-727 00 00",
        "purpose_h": "Varför behandlar vi uppgifter?",
        "purpose": "För att kunna ge dig stöd i chatten, ringa upp dig om du ber om det, och "
        "följa upp verksamheten med anonym statistik.",
        "basis_h": "Rättslig grund",
        "basis": "Behandlingen är en del av socialtjänstens uppgift av allmänt intresse "
        "(dataskyddsförordningen artikel 6.1 e, och för känsliga uppgifter artikel 9.2 h, med "
        "stöd av socialtjänstlagen). Kommunen bekräftar den rättsliga grunden.",
        "kept_h": "Vad sparas, och hur länge?",
        "kept_what": "Vad",
        "kept_how_long": "Hur länge",
        "never_h": "Det här sparar vi aldrig",
        "never": "<li>Din IP-adress: den hamnar inte i någon logg och sparas inte i tjänstens "
        "databas.</li><li>Meddelandenas text efter chatten: den raderas när chatten avslutas.</li>"
        "<li>Ditt telefonnummer efter samtalet: det raderas när samtalet är gjort.</li>"
        "<li>Cookies: chatten och de här sidorna sätter inga.</li><li>Ditt namn eller något "
        "konto.</li>",
        "rights_h": "Dina rättigheter",
        "rights": "Du har rätt att få veta vilka uppgifter vi har om dig, få dem rättade eller "
        "raderade, begränsa hur de används och invända mot behandlingen. Eftersom vi inte vet "
        "vem du är kan vi oftast inte hitta något om dig i efterhand. En uppringning kan du "
        "själv avboka med din kod. Du kan klaga hos Integritetsskyddsmyndigheten (IMY), "
        '<a href="{imy}">imy.se</a>.',
        "a11y_intro": "{controller} står bakom Nexus chatt. Vi vill att så många som möjligt "
        "ska kunna använda den. Här beskriver vi hur chatten uppfyller lagen (2018:1937) om "
        "tillgänglighet till digital offentlig service, vilka brister vi känner till och hur du "
        "kan rapportera problem.",
        "status_h": "Hur tillgänglig är tjänsten?",
        "status": "Tjänsten är delvis förenlig med lagen om tillgänglighet till digital "
        "offentlig service, på grund av de brister som beskrivs nedan. Målet är WCAG 2.2 nivå "
        "AA.",
        "gaps_h": "Innehåll som inte är tillgängligt",
        "gap_unreviewed": "Översättningarna till {languages} har ännu inte granskats av någon "
        "med språket som modersmål. Texten kan vara svår att förstå eller innehålla fel.",
        "gap_lattlast": "Den lättlästa svenskan har ännu inte granskats av en lättläst-skribent.",
        "gap_tigrinya": "Tigrinska visas med den enhetens egna typsnitt. Saknar enheten ett "
        "typsnitt för etiopisk skrift (ge'ez) visas tecknen inte.",
        "gap_staff": "Rådgivarnas och arbetsledarnas sidor granskas just nu mot WCAG 2.2.",
        "gap_pages": "Den här sidan, sidan om hur vi hanterar uppgifter och formuläret för att "
        "bli uppringd finns bara på svenska och engelska.",
        "alt_h": "Om du inte kan använda chatten",
        "alt": "Ring Kvinnofridslinjen 020-50 50 50 (dygnet runt, gratis) eller Uppsala "
        "kommuns Kontaktcenter 018-727 00 00. Du kan också "
        '<a href="/callback">be oss ringa upp dig</a> med ett enkelt formulär.',
        "report_h": "Rapportera brister",
        "report": "Har du hittat något som inte fungerar för dig? Skriv kort vad som hände. "
        "Skriv inte ditt namn eller något om din situation. Vi sparar bara texten och dagen, "
        "i {days} dagar, aldrig din adress.",
        "report_mail": "Du kan också mejla {mail}.",
        "report_label": "Vad fungerade inte?",
        "report_hint": "Högst {n} tecken.",
        "report_send": "Skicka",
        "report_thanks": "Tack! Vi har tagit emot din rapport.",
        "report_empty": "Skriv vad som inte fungerade.",
        "report_too_long": "Texten är för lång: högst {n} tecken.",
        "report_unreadable": "Formuläret kunde inte läsas. Skriv texten igen och skicka.",
        "report_limited": "Just nu kommer många rapporter. Försök igen om en stund.",
        "report_unavailable": "Rapporten kunde inte sparas just nu. Försök igen om en stund.",
        "error": "Fel",
        "digg_h": "Tillsyn",
        "digg": "Myndigheten för digital förvaltning (DIGG) har ansvaret för tillsyn över "
        "lagen om tillgänglighet till digital offentlig service. Om du inte är nöjd med hur vi "
        'hanterar dina synpunkter kan du <a href="{digg}">anmäla det till DIGG</a>.',
        "tested_h": "Hur vi har testat",
        "tested": "Vi testar chatten och formulären automatiskt vid varje ändring med axe-core "
        "(WCAG 2.0, 2.1 och 2.2, nivå A och AA) och med tangentbord, och mäter med Lighthouse. "
        "Redogörelsen uppdaterades senast {date}.",
    },
    "en": {
        "site": "Nexus chat · Uppsala municipality",
        "switch": "På svenska",
        "privacy_title": "How we handle your information in the chat",
        "a11y_title": "Accessibility of the Nexus chat",
        "danger": "In danger now: call <strong>112</strong>. Kvinnofridslinjen "
        "<strong>020-50 50 50</strong> (all hours, free). Police <strong>114 14</strong>.",
        "privacy_intro": "In the chat you are anonymous. We do not ask for your name and we keep "
        "as little as possible, for as short a time as possible. This page says what is kept "
        "and for how long. It is written from the running service, so it is always true.",
        "controller_h": "Who is responsible?",
        "controller": "The controller is {controller}.",
        "dpo": "The municipality's data protection officer: {dpo}.",
        "dpo_default": "reached through Uppsala municipality's Kontaktcenter, +46 18 727 00 00",
        "purpose_h": "Why do we process information?",
        "purpose": "To support you in the chat, to call you back if you ask us to, and to "
        "follow up the service with anonymous statistics.",
        "basis_h": "Legal basis",
        "basis": "The processing is part of the social services' task in the public interest "
        "(GDPR Article 6(1)(e), and for sensitive data Article 9(2)(h), under the Social "
        "Services Act). The municipality confirms the legal basis.",
        "kept_h": "What is kept, and for how long?",
        "kept_what": "What",
        "kept_how_long": "How long",
        "never_h": "What we never keep",
        "never": "<li>Your IP address: it reaches no log and is not stored in the service's "
        "database.</li>"
        "<li>The text of the messages after the chat: it is deleted when the chat ends.</li>"
        "<li>Your phone number after the call: it is deleted when the call is done.</li>"
        "<li>Cookies: the chat and these pages set none.</li><li>Your name or any account."
        "</li>",
        "rights_h": "Your rights",
        "rights": "You have the right to know what information we hold about you, to have it "
        "corrected or erased, to restrict its use and to object to the processing. As we do "
        "not know who you are, we usually cannot find anything about you afterwards. You can "
        "cancel a callback yourself with your code. You can complain to the Swedish Authority "
        'for Privacy Protection (IMY), <a href="{imy}">imy.se</a>.',
        "a11y_intro": "{controller} is behind the Nexus chat. We want as many people as "
        "possible to be able to use it. This page describes how the chat meets the Swedish Act "
        "(2018:1937) on accessibility to digital public services, the shortcomings we know of, "
        "and how you can report a problem.",
        "status_h": "How accessible is the service?",
        "status": "The service is partially compliant with the Act on accessibility to digital "
        "public services, because of the shortcomings described below. The goal is WCAG 2.2 "
        "level AA.",
        "gaps_h": "Content that is not accessible",
        "gap_unreviewed": "The translations into {languages} have not yet been reviewed by a "
        "native speaker. The text may be hard to understand or contain mistakes.",
        "gap_lattlast": "The easy-to-read Swedish has not yet been reviewed by an easy-to-read "
        "writer.",
        "gap_tigrinya": "Tigrinya is shown with the device's own fonts. If the device has no "
        "font for the Ethiopic (Ge'ez) script, the letters do not show.",
        "gap_staff": "The counsellors' and supervisors' pages are being reviewed against WCAG "
        "2.2 right now.",
        "gap_pages": "This page, the page on how we handle information and the callback form "
        "are in Swedish and English only.",
        "alt_h": "If you cannot use the chat",
        "alt": "Call Kvinnofridslinjen 020-50 50 50 (all hours, free) or Uppsala "
        "municipality's Kontaktcenter +46 18 727 00 00. You can also "
        '<a href="/callback?lang=en">ask us to call you</a> with a simple form.',
        "report_h": "Report a problem",
        "report": "Did something not work for you? Write briefly what happened. Do not write "
        "your name or anything about your situation. We keep only the text and the day, for "
        "{days} days, never your address.",
        "report_mail": "You can also e-mail {mail}.",
        "report_label": "What did not work?",
        "report_hint": "At most {n} characters.",
        "report_send": "Send",
        "report_thanks": "Thank you! We have received your report.",
        "report_empty": "Write what did not work.",
        "report_too_long": "The text is too long: at most {n} characters.",
        "report_unreadable": "The form could not be read. Please write the text again and send.",
        "report_limited": "Many reports are arriving right now. Please try again in a while.",
        "report_unavailable": "The report could not be saved right now. Please try again later.",
        "error": "Error",
        "digg_h": "Supervision",
        "digg": "The Agency for Digital Government (DIGG) supervises the Act on accessibility "
        "to digital public services. If you are not satisfied with how we handle your "
        'comments, you can <a href="{digg}" hreflang="sv">report it to DIGG</a>.',
        "tested_h": "How we have tested",
        "tested": "We test the chat and the forms automatically at every change with axe-core "
        "(WCAG 2.0, 2.1 and 2.2, levels A and AA) and by keyboard, and measure with "
        "Lighthouse. This statement was last updated on {date}.",
    },
}


def _suffix(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _page(lang: str, title: str, body: str, *, path: str, status: int = 200) -> web.Response:
    t = TEXT[lang]
    other = "sv" if lang == "en" else "en"
    html = f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)} – Uppsala kommun</title>
<link rel="stylesheet" href="/legal/style.css">
</head>
<body>
<header><p>{t["site"]}</p>
<a href="{path}{_suffix(other)}" lang="{other}" hreflang="{other}">{t["switch"]}</a></header>
<main>
<p class="danger">{t["danger"]}</p>
{body}
</main>
{legal_footer(lang)}
</body>
</html>
"""
    return web.Response(text=html, content_type="text/html", status=status)


def privacy_body(settings: Settings, lang: str) -> str:
    """The privacy notice's main content, from the running settings."""
    t, legal = TEXT[lang], settings.legal
    basis = (legal.legal_basis_en if lang == "en" else legal.legal_basis_sv) or t["basis"]
    rows = "".join(
        f"<tr><td>{escape(k.what)}</td><td>{escape(k.how_long)}</td></tr>"
        for k in kept_items(settings, lang)
    )
    return (
        f"<h1>{t['privacy_title']}</h1><p>{t['privacy_intro']}</p>"
        f"<h2>{t['controller_h']}</h2>"
        f"<p>{t['controller'].format(controller=escape(legal.controller))} "
        f"{t['dpo'].format(dpo=escape(legal.dpo_contact) or t['dpo_default'])}</p>"
        f"<h2>{t['purpose_h']}</h2><p>{t['purpose']}</p>"
        f"<h2>{t['basis_h']}</h2><p>{escape(basis)}</p>"
        f'<h2>{t["kept_h"]}</h2><table><thead><tr><th scope="col">{t["kept_what"]}</th>'
        f'<th scope="col">{t["kept_how_long"]}</th></tr></thead><tbody>{rows}</tbody></table>'
        f"<h2>{t['never_h']}</h2><ul>{t['never']}</ul>"
        f"<h2>{t['rights_h']}</h2><p>{t['rights'].format(imy=IMY_URL)}</p>"
    )


def unreviewed_languages(settings: Settings) -> list[tuple[str, str]]:
    """(code, native name) of every widget language whose file says it is not reviewed."""
    found: list[tuple[str, str]] = []
    i18n = settings.widget_dir / "i18n"
    try:
        index = json.loads((i18n / "index.json").read_text(encoding="utf-8"))
        for entry in index["languages"]:
            strings = json.loads((i18n / f"{entry['code']}.json").read_text(encoding="utf-8"))
            if not strings.get("_meta", {}).get("reviewed", False):
                found.append((str(entry["code"]), str(entry["name"])))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return found
    return found


def _report_form(lang: str, days: int, error: str = "", text: str = "") -> str:
    t = TEXT[lang]
    described = "report-hint report-error" if error else "report-hint"
    invalid = ' aria-invalid="true"' if error else ""
    error_html = f'<p class="error" id="report-error" role="alert">{error}</p>' if error else ""
    return (
        f'<h2 id="report">{t["report_h"]}</h2><p>{t["report"].format(days=days)}</p>'
        f'<form method="post" action="/tillganglighet{_suffix(lang)}#report" '
        'autocomplete="off">'
        f'<label for="report-text">{t["report_label"]}</label>'
        f'<p class="hint" id="report-hint">{t["report_hint"].format(n=MAX_REPORT_CHARS)}</p>'
        f'{error_html}<textarea id="report-text" name="message" rows="4" '
        f'aria-describedby="{described}"{invalid}>{escape(text)}</textarea>'
        f'<button type="submit">{t["report_send"]}</button></form>'
    )


def a11y_body(settings: Settings, lang: str, report: str) -> str:
    """The accessibility statement (DIGG's model) around the fault report form ``report``."""
    t, legal = TEXT[lang], settings.legal
    unreviewed = unreviewed_languages(settings)
    names = [
        f'<span lang="{escape(code)}">{escape(name)}</span>'
        for code, name in unreviewed
        if not code.startswith("sv")
    ]
    gaps = []
    if names:
        gaps.append(t["gap_unreviewed"].format(languages=", ".join(names)))
    if any(code == "sv-lattlast" for code, _ in unreviewed):
        gaps.append(t["gap_lattlast"])
    gaps += [t["gap_tigrinya"], t["gap_pages"], t["gap_staff"]]
    mail = ""
    if legal.a11y_contact:
        address = escape(legal.a11y_contact)
        link = f'<a href="mailto:{address}">{address}</a>'
        mail = f"<p>{t['report_mail'].format(mail=link)}</p>"
    return (
        f"<h1>{t['a11y_title']}</h1><p>{t['a11y_intro'].format(controller=escape(legal.controller))}</p>"
        f"<h2>{t['status_h']}</h2><p>{t['status']}</p>"
        f"<h2>{t['gaps_h']}</h2><ul>{''.join(f'<li>{g}</li>' for g in gaps)}</ul>"
        f"<h2>{t['alt_h']}</h2><p>{t['alt']}</p>"
        f"{report}{mail}"
        f"<h2>{t['digg_h']}</h2><p>{t['digg'].format(digg=DIGG_REPORT_URL)}</p>"
        f"<h2>{t['tested_h']}</h2><p>{t['tested'].format(date=escape(legal.statement_date))}</p>"
    )


def _reports(request: web.Request) -> A11yReports:
    services = request.app[SERVICES]
    ttl_s = services.settings.legal.a11y_report_days * 86400
    return A11yReports(services.redis, services.settings.redis_prefix, ttl_s)


async def privacy_page(request: web.Request) -> web.Response:
    lang, settings = page_lang(request), request.app[SERVICES].settings
    body = privacy_body(settings, lang)
    return _page(lang, TEXT[lang]["privacy_title"], body, path="/integritet")


async def a11y_page(request: web.Request) -> web.Response:
    lang, settings = page_lang(request), request.app[SERVICES].settings
    body = a11y_body(settings, lang, _report_form(lang, settings.legal.a11y_report_days))
    return _page(lang, TEXT[lang]["a11y_title"], body, path="/tillganglighet")


def _report_problem(text: str) -> str | None:
    """The key of what is wrong with a report's text, or None when it can be stored."""
    if not text.strip():
        return "report_empty"
    return "report_too_long" if len(text) > MAX_REPORT_CHARS else None


async def a11y_report(request: web.Request) -> web.Response:
    """``POST /tillganglighet``: 200 thanks; 422 empty or too long; 400/413 unreadable form;
    429 the hourly limit of the whole service; 503 Redis down. Only the text is read."""
    services, lang = request.app[SERVICES], page_lang(request)
    t, days = TEXT[lang], services.settings.legal.a11y_report_days
    title, status, error, text = TEXT[lang]["a11y_title"], 200, "", ""
    try:
        text = (await read_form(request)).get("message", "")
        problem = _report_problem(text)
        if problem:
            error, status = t[problem].format(n=MAX_REPORT_CHARS), 422
        elif not await _reports(request).add(text.strip(), datetime.now(UTC), LOCAL_TZ):
            error, status = t["report_limited"], 429
    except UnreadableBody as unreadable:
        error, status = t["report_unreadable"], unreadable.status
    except RedisError:
        error, status = t["report_unavailable"], 503
    if status == 200:
        report = f'<h2 id="report">{t["report_h"]}</h2><p role="status">{t["report_thanks"]}</p>'
    else:
        report = _report_form(lang, days, error, text[: MAX_REPORT_CHARS * 2])
        title = f"{t['error']}: {title}"
    return _page(lang, title, a11y_body(services.settings, lang, report),
                 path="/tillganglighet", status=status)  # fmt: skip


async def a11y_reports_json(request: web.Request) -> web.Response:
    """``GET /supervisor/api/a11y-reports`` (supervisors and admins): the stored reports,
    newest first, as ``{"reports": [{"day", "text"}, …]}``."""
    await require_supervisor(request)
    try:
        reports = await _reports(request).latest()
    except RedisError:
        return web.json_response({"error": "unavailable"}, status=503)
    return web.json_response({"reports": reports}, headers={"Cache-Control": "no-store"})


async def stylesheet(_request: web.Request) -> web.Response:
    return web.Response(
        text=LEGAL_STYLESHEET,
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/integritet", privacy_page),
        web.get("/tillganglighet", a11y_page),
        web.post("/tillganglighet", a11y_report),
        web.get("/legal/style.css", stylesheet),
        web.get("/supervisor/api/a11y-reports", a11y_reports_json),
    ]
