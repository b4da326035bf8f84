"""The callback request as a plain HTML form that works with scripting disabled.

Server-rendered, every value through ``html.escape``; Swedish by default, English with
``?lang=en``. No cookie, no script, no inline style (the page CSP allows none), nothing from
another site. Errors are listed in a summary that links to each field and repeated next to the
field (``aria-describedby``). The status code is shown once, in the answer to the POST, so it
never sits in a URL or in the browser history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Final

from aiohttp import web

from ..callback_settings import CALL_LANGUAGES, TOPIC_CODES, offered_days, time_steps
from ..domain.callbacks import (
    DEFAULT_OPENING,
    OPENINGS,
    CallbackRequestIn,
    CallbackValidationError,
    FieldError,
    Window,
    next_window,
)
from .bodies import UnreadableBody, read_form
from .callback_api import (
    CALLBACKS,
    FLOOD_RETRY_AFTER_S,
    CallbackService,
    FloodWait,
    RateLimited,
    cancel_by_code,
    client_address,
    find_by_code,
    submit_request,
    visitor_status,
)
from .legal_links import legal_footer

# Every text of the pages, Swedish then English. "{n}" and friends are filled in at render.
TEXT: Final[Mapping[str, Mapping[str, str]]] = {
    "sv": {
        "title": "Bli uppringd av Nexus",
        "switch": "In English",
        "intro": "Lämna ditt nummer och de tider när det är säkert för dig att bli uppringd. En "
        "rådgivare ringer bara inom de tiderna och frågar efter ditt alias innan hen säger "
        "något mer. Sidan sparar ingen cookie.",
        "danger": "Är du i akut fara: ring <strong>112</strong>. Kvinnofridslinjen "
        "<strong>020-50 50 50</strong> (dygnet runt, gratis). Polisen <strong>114 14</strong>.",
        "summary": "Något behöver rättas",
        "error": "Fel",
        "phone": "Telefonnummer",
        "phone_hint": "Till exempel 070-123 45 67.",
        "windows": "När är det säkert att ringa?",
        "windows_hint": "Välj upp till {n} tider. Vi ringer bara inom dem.",
        "window": "Tid {n}",
        "day": "Dag",
        "from": "Från",
        "to": "Till",
        "choose": "Välj",
        "allowed": "Vad får vi göra?",
        "voicemail_ok": "Ni får lämna ett meddelande på min röstbrevlåda",
        "say_nexus_ok": "Ni får säga att ni ringer från Nexus",
        "alias": "Alias eller kodord",
        "alias_hint": "Vi frågar efter det när vi ringer. Högst {n} tecken.",
        "opening": "Om någon annan svarar i telefonen",
        "opening_hint": "Välj vad vi säger då. Inget av det avslöjar vem vi är eller varför vi "
        "ringer.",
        "language": "Språk för samtalet",
        "topic": "Vad gäller det? (frivilligt)",
        "no_topic": "Vill inte säga",
        "message": "Meddelande till oss (frivilligt)",
        "message_hint": "Högst {n} tecken.",
        "submit": "Skicka förfrågan",
        "done": "Tack! Vi ringer dig",
        "your_code": "Din kod",
        "code_help": "Spara koden. Med den kan du se hur det går eller avbryta förfrågan på "
        '<a href="{url}">sidan för din förfrågan</a>. Ingen annan kan se den här sidan igen.',
        "we_call": "Vi ringer inom",
        "what_next": "Vi frågar först efter ditt alias. Ditt nummer raderas när samtalet är "
        "gjort, eller senast en stund efter den sista tiden.",
        "status_title": "Se eller avbryt din förfrågan",
        "code": "Din kod",
        "code_hint": "Koden har 8 tecken, till exempel 7KQ2-M9XD.",
        "show": "Visa status",
        "cancel": "Avbryt förfrågan",
        "pending": "Förfrågan väntar. Vi ringer inom en av dina tider.",
        "in_progress": "En rådgivare arbetar med din förfrågan just nu.",
        "retry": "Vi har ringt utan att nå dig. Vi försöker igen inom nästa tid.",
        "next": "Nästa tid",
        "cancelled": "Förfrågan är borttagen och ditt nummer är raderat.",
        "not_found": "Vi hittade ingen förfrågan med den koden. Den kan vara avslutad, "
        "avbruten eller ha gått ut, eller så blev koden fel.",
        "limited": "För många försök just nu. Vänta en stund och försök igen.",
        "wait_title": "Vänta en stund",
        "flood_wait": "Just nu kommer väldigt många förfrågningar på en gång. Vänta en halv "
        "minut och tryck sedan på Skicka igen. Det du har fyllt i finns kvar nedan.",
        "unreadable": "Formuläret kunde inte läsas. Fyll i det igen och skicka.",
        "new": "Gör en ny förfrågan",
    },
    "en": {
        "title": "Get a call from Nexus",
        "switch": "På svenska",
        "intro": "Leave your number and the times when it is safe for you to get a call. A "
        "counsellor calls only within those times and asks for your alias before saying "
        "anything else. This page stores no cookie.",
        "danger": "In danger now: call <strong>112</strong>. Kvinnofridslinjen "
        "<strong>020-50 50 50</strong> (all hours, free). Police <strong>114 14</strong>.",
        "summary": "Something needs fixing",
        "error": "Error",
        "phone": "Phone number",
        "phone_hint": "For example 070-123 45 67.",
        "windows": "When is it safe to call?",
        "windows_hint": "Choose up to {n} times. We call only within them.",
        "window": "Time {n}",
        "day": "Day",
        "from": "From",
        "to": "To",
        "choose": "Choose",
        "allowed": "What may we do?",
        "voicemail_ok": "You may leave a message on my voicemail",
        "say_nexus_ok": "You may say that you are calling from Nexus",
        "alias": "Alias or code word",
        "alias_hint": "We ask for it when we call. At most {n} characters.",
        "opening": "If someone else answers the phone",
        "opening_hint": "Choose what we say then. None of it reveals who we are or why we call.",
        "language": "Language of the call",
        "topic": "What is it about? (optional)",
        "no_topic": "Rather not say",
        "message": "Message to us (optional)",
        "message_hint": "At most {n} characters.",
        "submit": "Send request",
        "done": "Thank you! We will call you",
        "your_code": "Your code",
        "code_help": "Keep the code. With it you can check or cancel your request on "
        '<a href="{url}">the page for your request</a>. Nobody can see this page again.',
        "we_call": "We call within",
        "what_next": "We first ask for your alias. Your number is deleted once the call is "
        "done, or at the latest shortly after your last time.",
        "status_title": "Check or cancel your request",
        "code": "Your code",
        "code_hint": "The code has 8 characters, for example 7KQ2-M9XD.",
        "show": "Show status",
        "cancel": "Cancel request",
        "pending": "Your request is waiting. We will call within one of your times.",
        "in_progress": "A counsellor is working on your request right now.",
        "retry": "We called but did not reach you. We will try again within your next time.",
        "next": "Next time",
        "cancelled": "Your request is removed and your number is deleted.",
        "not_found": "We found no request with that code. It may be finished, cancelled or "
        "expired, or the code was mistyped.",
        "limited": "Too many attempts right now. Please wait a while and try again.",
        "wait_title": "Please wait a moment",
        "flood_wait": "Very many requests are arriving at once right now. Please wait half a "
        "minute, then press Send again. What you filled in is still below.",
        "unreadable": "The form could not be read. Please fill it in again and send it.",
        "new": "Make a new request",
    },
}
# A posted form that could not be read at all (broken encoding or framing, too large): shown
# in the summary only, linking to the first field, where filling it in again begins.
UNREADABLE_FORM: Final = FieldError(
    "form", "unreadable", TEXT["sv"]["unreadable"], TEXT["en"]["unreadable"]
)
TOPIC_NAMES: Final = {
    "violence_close": ("Våld i nära relation", "Violence in a close relationship"),
    "honour": ("Hedersrelaterat våld och förtryck", "Honour-related violence and oppression"),
    "sex_for_compensation": ("Sex mot ersättning", "Sex for compensation"),
    "older_person": ("Våld mot äldre", "Violence against an older person"),
    "worried_other": ("Orolig för någon annan", "Worried about someone else"),
    "professional": ("Frågar i yrkesroll", "Asking as a professional"),
    "other": ("Annat", "Something else"),
}
LANGUAGE_NAMES: Final = {
    "sv": "Svenska", "en": "English", "ar": "العربية", "fa": "فارسی", "so": "Soomaali",
    "ti": "ትግርኛ",
}  # fmt: skip
WEEKDAYS: Final = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS: Final = {
    "sv": (
        "jan.",
        "feb.",
        "mars",
        "apr.",
        "maj",
        "juni",
        "juli",
        "aug.",
        "sep.",
        "okt.",
        "nov.",
        "dec.",
    ),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
STYLESHEET: Final = """\
body { font-family: system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff;
  line-height: 1.5; }
header, main, footer { max-width: 40rem; margin: 0 auto; padding: .75rem 1rem; }
header { display: flex; justify-content: space-between; align-items: baseline; }
.danger { border-left: .3rem solid #00558c; padding: .25rem .75rem; background: #eef3f7; }
label, legend { display: block; font-weight: 600; margin-top: .75rem; }
fieldset { border: 1px solid #767676; border-radius: .3rem; margin: 1rem 0; padding: .5rem .75rem; }
fieldset fieldset { display: flex; flex-wrap: wrap; gap: 0 1rem; }
fieldset fieldset legend { width: 100%; }
.check label { display: inline; font-weight: normal; }
.hint { color: #4a4a4a; margin: 0; }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=tel], textarea { width: 100%; box-sizing: border-box; }
:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
.error { color: #a4000f; font-weight: 600; margin: .25rem 0; }
.summary { border: 3px solid #a4000f; padding: .5rem 1rem; margin: 1rem 0; }
.summary a { color: #a4000f; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; }
.code { font: 700 2rem/1.2 ui-monospace, monospace; letter-spacing: .1em; }
button { margin-top: 1rem; padding: .4rem 1rem; }
"""
STYLESHEET_CACHE: Final = "public, max-age=300"


def _lang(request: web.Request) -> str:
    return "en" if request.query.get("lang") == "en" else "sv"


def _suffix(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _when(moment: datetime, lang: str) -> str:
    return f"{WEEKDAYS[lang][moment.weekday()]} {moment.day} {MONTHS[lang][moment.month - 1]}"


def _span(window: Window, service: CallbackService, lang: str) -> str:
    zone = service.config.rules.zone
    start, end = window.start.astimezone(zone), window.end.astimezone(zone)
    return f"{_when(start, lang)} {start:%H:%M}–{end:%H:%M}"


def _page(lang: str, title: str, body: str, *, path: str, status: int = 200) -> web.Response:
    t = TEXT[lang]
    other = "sv" if lang == "en" else "en"
    html = f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} – Uppsala kommun</title>
<link rel="stylesheet" href="/callback/style.css">
</head>
<body>
<header><p>Nexus · Uppsala kommun</p>
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


def _error_text(error: FieldError, lang: str) -> str:
    return error.message_en if lang == "en" else error.message_sv


def _anchor(field: str) -> str:
    if field == "form":
        return "phone"
    if field == "opening":
        return f"opening-{OPENINGS[0].code}"
    return "window-1-date" if field == "windows" else f"{field}-date" if "-" in field else field


def _summary(errors: Sequence[FieldError], lang: str) -> str:
    if not errors:
        return ""
    items = "".join(
        f'<li><a href="#{_anchor(e.field)}">{escape(_error_text(e, lang))}</a></li>' for e in errors
    )
    return (
        '<div class="summary" role="alert" aria-labelledby="summary-title">'
        f'<h2 id="summary-title">{TEXT[lang]["summary"]}</h2><ul>{items}</ul></div>'
    )


class _FormView:
    """Renders the request form with the typed values and the errors of one field each."""

    def __init__(
        self,
        service: CallbackService,
        lang: str,
        values: Mapping[str, str],
        errors: Sequence[FieldError],
    ) -> None:
        self.service, self.lang, self.values = service, lang, values
        self.t = TEXT[lang]
        self.errors: dict[str, str] = {}
        for error in errors:
            self.errors.setdefault(error.field, _error_text(error, lang))

    def error(self, field: str) -> str:
        message = self.errors.get(field)
        if message is None:
            return ""
        return (
            f'<p class="error" id="{field}-error"><span class="visually-hidden">'
            f"{self.t['error']}: </span>{escape(message)}</p>"
        )

    def described(self, field: str, hint: bool = True) -> str:
        ids = ([f"{field}-hint"] if hint else []) + (
            [f"{field}-error"] if field in self.errors else []
        )
        invalid = ' aria-invalid="true"' if field in self.errors else ""
        return (f' aria-describedby="{" ".join(ids)}"' if ids else "") + invalid

    def value(self, field: str) -> str:
        return escape(self.values.get(field, ""))

    def select(
        self, field: str, label: str, options: Sequence[tuple[str, str]], described: str
    ) -> str:
        chosen = self.values.get(field, "")
        rendered = "".join(
            f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
            f"{escape(text)}</option>"
            for value, text in options
        )
        return (
            f'<span><label for="{field}">{label}</label>'
            f'<select id="{field}" name="{field}"{described}>{rendered}</select></span>'
        )

    def window_rows(self) -> str:
        rules = self.service.config.rules
        days = offered_days(rules, self.service.store.clock())
        day_options = [("", self.t["choose"])] + [
            (d.day.isoformat(), _when(datetime.combine(d.day, d.start), self.lang)) for d in days
        ]
        steps = [f"{s:%H:%M}" for s in time_steps(rules)]
        start_options = [("", self.t["choose"])] + [(s, s) for s in steps[:-1]]
        end_options = [("", self.t["choose"])] + [(s, s) for s in steps[1:]]
        rows = []
        for n in range(1, rules.max_windows + 1):
            field = f"window-{n}"
            described = self.described(field, hint=False)
            rows.append(
                f"<fieldset><legend>{self.t['window'].format(n=n)}</legend>{self.error(field)}"
                + self.select(f"{field}-date", self.t["day"], day_options, described)
                + self.select(f"{field}-start", self.t["from"], start_options, described)
                + self.select(f"{field}-end", self.t["to"], end_options, described)
                + "</fieldset>"
            )
        return "".join(rows)

    def checkbox(self, field: str) -> str:
        checked = " checked" if self.values.get(field) == "on" else ""
        return (
            f'<p class="check"><input type="checkbox" id="{field}" name="{field}" value="on"'
            f'{checked}> <label for="{field}">{self.t[field]}</label></p>'
        )

    def labelled_text(self, field: str, hint: str, control: str) -> str:
        return (
            f'<label for="{field}">{self.t[field]}</label>'
            f'<p class="hint" id="{field}-hint">{hint}</p>{self.error(field)}{control}'
        )

    def windows(self) -> str:
        t, error_id = self.t, " windows-error" if "windows" in self.errors else ""
        hint = t["windows_hint"].format(n=self.service.config.rules.max_windows)
        return (
            f'<fieldset aria-describedby="windows-hint{error_id}"><legend>{t["windows"]}</legend>'
            f'<p class="hint" id="windows-hint">{hint}</p>{self.error("windows")}'
            f"{self.window_rows()}</fieldset>"
        )

    def openings(self) -> str:
        """Radio buttons, the default checked; a posted code we do not know checks none."""
        t, field = self.t, "opening"
        chosen = self.values.get(field) or DEFAULT_OPENING
        error_id = f" {field}-error" if field in self.errors else ""
        invalid = ' aria-invalid="true"' if field in self.errors else ""
        radios = "".join(
            f'<p class="check"><input type="radio" id="{field}-{o.code}" name="{field}" '
            f'value="{o.code}"{" checked" if o.code == chosen else ""}{invalid}> '
            f'<label for="{field}-{o.code}">'
            f"{escape(o.choice_en if self.lang == 'en' else o.choice_sv)}</label></p>"
            for o in OPENINGS
        )
        return (
            f'<fieldset aria-describedby="{field}-hint{error_id}"><legend>{t[field]}</legend>'
            f'<p class="hint" id="{field}-hint">{t["opening_hint"]}</p>{self.error(field)}'
            f"{radios}</fieldset>"
        )

    def choices(self) -> str:
        t = self.t
        names = 1 if self.lang == "en" else 0
        languages = [(code, LANGUAGE_NAMES[code]) for code in CALL_LANGUAGES]
        topics = [("", t["no_topic"])] + [
            (code, TOPIC_NAMES[code][names]) for code in TOPIC_NAMES if code in TOPIC_CODES
        ]
        return (
            f"<fieldset><legend>{t['allowed']}</legend>"
            f"{self.checkbox('voicemail_ok')}{self.checkbox('say_nexus_ok')}</fieldset>"
            f"<p>{self.error('language')}"
            + self.select("language", t["language"], languages, self.described("language", False))
            + f"</p><p>{self.error('topic')}"
            + self.select("topic", t["topic"], topics, self.described("topic", False))
            + "</p>"
        )

    def render(self) -> str:
        rules, t = self.service.config.rules, self.t
        phone = f'<input type="tel" id="phone" name="phone" value="{self.value("phone")}"'
        alias = f'<input type="text" id="alias" name="alias" value="{self.value("alias")}"'
        message = f'<textarea id="message" name="message" rows="4"{self.described("message")}>'
        return (
            f'<form method="post" action="/callback{_suffix(self.lang)}" novalidate '
            'autocomplete="off">'
            + self.labelled_text("phone", t["phone_hint"], f"{phone}{self.described('phone')}>")
            + self.windows()
            + self.labelled_text(
                "alias",
                t["alias_hint"].format(n=rules.max_alias_chars),
                f"{alias}{self.described('alias')}>",
            )
            + self.openings()
            + self.choices()
            + self.labelled_text(
                "message",
                t["message_hint"].format(n=rules.max_message_chars),
                f"{message}{self.value('message')}</textarea>",
            )
            + f'<button type="submit">{t["submit"]}</button></form>'
        )


def _form_page(
    service: CallbackService,
    lang: str,
    values: Mapping[str, str],
    errors: Sequence[FieldError] = (),
    status: int = 200,
) -> web.Response:
    t = TEXT[lang]
    title = f"{t['error']}: {t['title']}" if errors else t["title"]
    body = (
        f"<h1>{t['title']}</h1>{_summary(errors, lang)}<p>{t['intro']}</p>"
        + _FormView(service, lang, values, errors).render()
    )
    return _page(lang, title, body, path="/callback", status=status)


async def form_page(request: web.Request) -> web.Response:
    return _form_page(request.app[CALLBACKS], _lang(request), {"language": _lang(request)})


async def form_submit(request: web.Request) -> web.Response:
    service, lang = request.app[CALLBACKS], _lang(request)
    t = TEXT[lang]
    try:
        values = await read_form(request)
    except UnreadableBody as error:
        fresh = {"language": lang}
        return _form_page(service, lang, fresh, [UNREADABLE_FORM], status=error.status)
    try:
        raw = CallbackRequestIn.from_form(values)
        created = await submit_request(service, raw, client_address(request))
    except RateLimited:
        body = f'<h1>{t["title"]}</h1><p class="error" role="alert">{t["limited"]}</p>'
        return _page(lang, t["title"], body, path="/callback", status=429)
    except FloodWait:
        return _flood_wait_page(service, lang, values)
    except CallbackValidationError as error:
        return _form_page(service, lang, values, error.errors, status=422)
    spans = "".join(f"<li>{_span(w, service, lang)}</li>" for w in created.windows)
    body = (
        f"<h1>{t['done']}</h1>"
        f'<p>{t["your_code"]}:</p><p class="code" id="code">{escape(created.code)}</p>'
        f"<p>{t['code_help'].format(url='/callback/status' + _suffix(lang))}</p>"
        f"<h2>{t['we_call']}</h2><ul>{spans}</ul><p>{t['what_next']}</p>"
    )
    return _page(lang, t["done"], body, path="/callback")


def _flood_wait_page(
    service: CallbackService, lang: str, values: Mapping[str, str]
) -> web.Response:
    """Many requests at once (a flood): the same form, filled in as sent, with a calm note to
    wait and send again; nothing is kept on the server. 429 with Retry-After."""
    t = TEXT[lang]
    note = f'<p class="error" id="wait" role="alert">{t["flood_wait"]}</p>'
    body = (
        f"<h1>{t['title']}</h1>{note}<p>{t['intro']}</p>"
        + _FormView(service, lang, values, ()).render()
    )
    response = _page(lang, f"{t['wait_title']}: {t['title']}", body, path="/callback", status=429)
    response.headers["Retry-After"] = str(FLOOD_RETRY_AFTER_S)
    return response


def _status_form(lang: str, code: str = "", error: str = "") -> str:
    t = TEXT[lang]
    described = "code-hint code-error" if error else "code-hint"
    invalid = ' aria-invalid="true"' if error else ""
    error_html = f'<p class="error" id="code-error" role="alert">{error}</p>' if error else ""
    return (
        f'<form method="post" action="/callback/status{_suffix(lang)}" autocomplete="off">'
        f'<label for="code">{t["code"]}</label>'
        f'<p class="hint" id="code-hint">{t["code_hint"]}</p>{error_html}'
        f'<input type="text" id="code" name="code" value="{escape(code)}" '
        f'autocapitalize="characters" spellcheck="false" aria-describedby="{described}"{invalid}>'
        f'<button type="submit" name="action" value="status">{t["show"]}</button> '
        f'<button type="submit" name="action" value="cancel">{t["cancel"]}</button></form>'
    )


def _status_page(lang: str, body: str, *, status: int = 200) -> web.Response:
    t = TEXT[lang]
    title = f"{t['error']}: {t['status_title']}" if status >= 400 else t["status_title"]
    html = f"<h1>{t['status_title']}</h1>{body}"
    return _page(lang, title, html, path="/callback/status", status=status)


async def status_page(request: web.Request) -> web.Response:
    return _status_page(_lang(request), _status_form(_lang(request)))


async def status_submit(request: web.Request) -> web.Response:
    service, lang = request.app[CALLBACKS], _lang(request)
    t = TEXT[lang]
    try:
        posted = await read_form(request)
    except UnreadableBody as error:
        return _status_page(lang, _status_form(lang, "", t["unreadable"]), status=error.status)
    code = posted.get("code", "")[:64]
    cancel = posted.get("action") == "cancel"
    address = client_address(request)
    try:
        if cancel:
            cancelled, found = await cancel_by_code(service, code, address), None
        else:
            cancelled, found = False, await find_by_code(service, code, address)
    except RateLimited:
        return _status_page(lang, _status_form(lang, code, t["limited"]), status=429)
    if cancelled:
        again = f'<p><a href="/callback{_suffix(lang)}">{t["new"]}</a></p>'
        return _status_page(lang, f'<p role="status">{t["cancelled"]}</p>{again}')
    if found is None:
        return _status_page(lang, _status_form(lang, code, t["not_found"]), status=404)
    upcoming = next_window(found.windows, service.store.clock())
    next_html = f"<p>{t['next']}: {_span(upcoming, service, lang)}</p>" if upcoming else ""
    status_html = f'<p role="status">{t[visitor_status(found)]}</p>{next_html}'
    return _status_page(lang, status_html + _status_form(lang, code))


async def stylesheet(_request: web.Request) -> web.Response:
    return web.Response(
        text=STYLESHEET, content_type="text/css", headers={"Cache-Control": STYLESHEET_CACHE}
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/callback", form_page),
        web.post("/callback", form_submit),
        web.get("/callback/status", status_page),
        web.post("/callback/status", status_submit),
        web.get("/callback/style.css", stylesheet),
    ]
