"""Safe callback requests: what a visitor may ask for, and the rules of the callback work list.

A visitor leaves a phone number and one or more time windows in which a call is safe; a
counsellor calls only inside such a window, asks for the visitor's alias, and records an outcome.
After a final outcome the number is deleted at once; only anonymous counts remain.

Pure: ``now`` is an aware datetime passed in by the caller, randomness comes in as bytes. Windows
are kept as aware UTC datetimes so that arithmetic across a daylight-saving change is real elapsed
time (Python subtracts two datetimes sharing one ``ZoneInfo`` by wall clock). Callback hours are
checked on the wall clock of ``CallbackSettings.tz``. A wall time that does not exist (the
spring-forward gap) is rejected; a repeated one (fall-back) means its first occurrence.

Error messages shown to the visitor live in ``_MESSAGES`` (Swedish first, English second); what
a counsellor says if someone other than the visitor answers the phone is the fixed list
``OPENINGS``.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

MAX_PHONE_RAW_CHARS: Final = 32
DEFAULT_LANGUAGE: Final = "sv"
STATUS_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I L O U
STATUS_CODE_CHARS: Final = 8  # 8 x 5 bits = 40 bits
STATUS_CODE_RANDOM_BYTES: Final = 5

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE: Final = re.compile(r"(\d{1,2})[:.](\d{2})")
_PHONE_CHARS_RE: Final = re.compile(r"\+?[0-9 ()./\-]+")
_LANGUAGE_RE: Final = re.compile(r"[a-z]{2,3}")
_TOPIC_RE: Final = re.compile(r"[a-z0-9_-]{1,32}")
_FORM_WINDOW_RE: Final = re.compile(r"window-(\d{1,2})-(date|start|end)")
_TRUE_WORDS: Final = frozenset({"1", "true", "on", "yes", "ja"})
_CROCKFORD_ALIASES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True, slots=True)
class Opening:
    """What the caller says if someone other than the visitor answers the phone.

    ``choice_*`` is how the visitor's form describes it; ``say_*`` is what the counsellor says,
    with ``{alias}`` standing for the request's alias. None of them names Nexus, the
    municipality, violence or help: a partner listening in must learn nothing.
    """

    code: str
    choice_sv: str
    choice_en: str
    say_sv: str
    say_en: str


# The choices, the safe default first. Data, not code: a new opening is one more entry here
# (and its ``cb_opening_<code>`` text in widget/i18n/*.json).
OPENINGS: Final[tuple[Opening, ...]] = (
    Opening(
        "wrong_number",
        "Vi säger att vi har ringt fel nummer och lägger på.",
        "We say we have dialled the wrong number and hang up.",
        "Förlåt, jag har nog ringt fel nummer.",
        "Sorry, I think I have dialled the wrong number.",
    ),
    Opening(
        "personal",
        "Vi frågar efter ditt alias och säger att vi ringer igen en annan gång. Passar om "
        "aliaset är ett vanligt förnamn.",
        "We ask for your alias and say we will call again another time. Best if your alias "
        "is an ordinary first name.",
        "Hej, jag söker {alias}. Jag ringer igen en annan gång.",
        "Hello, I would like to speak to {alias}. I will call again another time.",
    ),
    Opening(
        "survey",
        "Vi säger att vi ringer om en marknadsundersökning och avslutar samtalet.",
        "We say we are calling about a market survey and end the call.",
        "Hej, jag ringer om en kort marknadsundersökning. Jag hör av mig en annan gång. "
        "Tack och hej!",
        "Hello, I am calling about a short market survey. I will try another time. Thank you, "
        "goodbye!",
    ),
    Opening(
        "hang_up",
        "Vi säger ingenting och lägger på.",
        "We say nothing and hang up.",
        "Säg ingenting, lägg på direkt.",
        "Say nothing, hang up at once.",
    ),
)
DEFAULT_OPENING: Final = "wrong_number"
OPENING_CODES: Final = frozenset(opening.code for opening in OPENINGS)
_OPENINGS_BY_CODE: Final = {opening.code: opening for opening in OPENINGS}


def opening_for(code: str) -> Opening:
    """The opening of ``code``; an unknown one (a request stored before openings existed)
    reads as the default, the safest."""
    return _OPENINGS_BY_CODE.get(code) or _OPENINGS_BY_CODE[DEFAULT_OPENING]


def opening_lines(code: str, alias: str) -> tuple[str, str]:
    """What the counsellor says if someone else answers, Swedish and English, with ``alias``
    in place of ``{alias}``."""
    chosen = opening_for(code)
    return chosen.say_sv.format(alias=alias), chosen.say_en.format(alias=alias)


def _weekday_hours() -> dict[int, tuple[time, time]]:
    return {weekday: (time(9), time(16)) for weekday in range(5)}


@dataclass(frozen=True, kw_only=True)
class CallbackSettings:
    """Limits of the callback service; ``callback_hours`` maps weekday (Monday=0) to wall-clock
    (start, end) in ``tz``; a missing weekday or a date in ``closed_dates`` has no callbacks (the
    caller may fill ``closed_dates`` with public holidays). An empty ``topic_codes`` accepts any
    well-formed topic code. Raises ValueError on an unusable value."""

    callback_hours: Mapping[int, tuple[time, time]] = field(
        default_factory=_weekday_hours, hash=False
    )
    closed_dates: frozenset[date] = frozenset()
    tz: str = "Europe/Stockholm"
    max_days_ahead: int = 7
    min_window_min: int = 30
    max_windows: int = 5
    grace_s: int = 3600
    max_attempts: int = 3
    max_message_chars: int = 300
    max_alias_chars: int = 40
    lock_ttl_s: int = 600
    topic_codes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for weekday, (start, end) in self.callback_hours.items():
            if weekday not in range(7) or not start < end:
                raise ValueError(f"callback hours for weekday {weekday!r} are not usable")
        numbers = (
            self.max_days_ahead,
            self.min_window_min,
            self.max_windows,
            self.grace_s,
            self.max_attempts,
            self.max_message_chars,
            self.max_alias_chars,
            self.lock_ttl_s,
        )
        if min(numbers) < 0 or min(self.max_windows, self.max_attempts) < 1:
            raise ValueError("callback limits must be positive")
        try:  # fail at start-up rather than on the first request
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.tz!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A span in which a call is safe: aware UTC datetimes, ``start < end``."""

    start: datetime
    end: datetime

    def contains(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def to_epoch_s(self) -> tuple[int, int]:
        return int(self.start.timestamp()), int(self.end.timestamp())

    @classmethod
    def from_epoch_s(cls, start_s: int, end_s: int) -> Window:
        return cls(datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC))


@dataclass(frozen=True, slots=True)
class WindowIn:
    """One window as typed: ``date`` "YYYY-MM-DD", ``start`` and ``end`` "HH:MM" (or "HH.MM"),
    all on the wall clock of the callback time zone."""

    date: str
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class CallbackRequestIn:
    """A callback request exactly as received, before any validation.

    JSON shape (``from_json``): ``{"phone": str, "windows": [{"date", "start", "end"}, ...],
    "voicemail_ok": bool, "say_nexus_ok": bool, "alias", "opening", "language", "topic",
    "message"}``. HTML form (``from_form``): the same names, windows as ``window-N-date``,
    ``window-N-start``, ``window-N-end`` (N from 1; a window left wholly blank is skipped),
    checkboxes "on", ``opening`` a radio button. Errors name the field: ``phone``, ``windows``,
    ``window-N``, ``alias``, ``opening``, ``language``, ``topic``, ``message``.
    """

    phone: str
    windows: tuple[WindowIn, ...]
    voicemail_ok: bool = False
    say_nexus_ok: bool = False
    alias: str = ""
    language: str = ""
    topic: str = ""
    message: str = ""
    opening: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CallbackRequestIn:
        """Read a decoded JSON object; values of the wrong type count as missing."""
        raw_windows = data.get("windows")
        windows = tuple(
            WindowIn(_text(w.get("date")), _text(w.get("start")), _text(w.get("end")))
            for w in (raw_windows if isinstance(raw_windows, list) else [])
            if isinstance(w, dict)
        )
        return cls(
            phone=_text(data.get("phone")),
            windows=windows,
            voicemail_ok=_flag(data.get("voicemail_ok")),
            say_nexus_ok=_flag(data.get("say_nexus_ok")),
            alias=_text(data.get("alias")),
            language=_text(data.get("language")),
            topic=_text(data.get("topic")),
            message=_text(data.get("message")),
            opening=_text(data.get("opening")),
        )

    @classmethod
    def from_form(cls, fields: Mapping[str, str]) -> CallbackRequestIn:
        """Read urlencoded form fields (one value per name)."""
        slots: dict[int, dict[str, str]] = {}
        for name, value in fields.items():
            if match := _FORM_WINDOW_RE.fullmatch(name):
                slots.setdefault(int(match[1]), {})[match[2]] = value
        windows = tuple(
            WindowIn(slot.get("date", ""), slot.get("start", ""), slot.get("end", ""))
            for _, slot in sorted(slots.items())
            if any(value.strip() for value in slot.values())
        )
        return cls(
            phone=fields.get("phone", ""),
            windows=windows,
            voicemail_ok=_flag(fields.get("voicemail_ok")),
            say_nexus_ok=_flag(fields.get("say_nexus_ok")),
            alias=fields.get("alias", ""),
            language=fields.get("language", ""),
            topic=fields.get("topic", ""),
            message=fields.get("message", ""),
            opening=fields.get("opening", ""),
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _flag(value: object) -> bool:
    """Only an explicit yes is a yes: anything else is the safest answer, no."""
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE_WORDS)


@dataclass(frozen=True, slots=True)
class ValidRequest:
    """A checked request: phone in E.164, windows sorted, merged and not in the past;
    ``opening`` one of ``OPENING_CODES``."""

    phone_e164: str
    windows: tuple[Window, ...]
    voicemail_ok: bool
    say_nexus_ok: bool
    alias: str
    language: str
    topic: str
    message: str
    opening: str = DEFAULT_OPENING


class FieldError(NamedTuple):
    field: str
    code: str
    message_sv: str
    message_en: str


class CallbackValidationError(ValueError):
    """A request with one or more problems; ``errors`` holds every one, in form order."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.code}" for e in errors))
        self.errors: tuple[FieldError, ...] = tuple(errors)


_MESSAGES: Final[Mapping[tuple[str, str], tuple[str, str]]] = {
    ("phone", "required"): ("Skriv ett telefonnummer.", "Enter a phone number."),
    ("phone", "invalid_characters"): (
        "Telefonnumret får bara innehålla siffror, mellanslag, bindestreck och +.",
        "The phone number may only contain digits, spaces, dashes and +.",
    ),
    ("phone", "invalid"): (
        "Telefonnumret verkar inte stämma. Skriv till exempel 070-123 45 67 eller "
        "+46 70 123 45 67.",
        "The phone number does not look right. Write for example 070-123 45 67 or "
        "+46 70 123 45 67.",
    ),
    ("phone", "premium_rate"): (
        "Vi kan inte ringa betalnummer.",
        "We cannot call premium-rate numbers.",
    ),
    ("windows", "required"): (
        "Välj minst en tid när det är säkert att ringa.",
        "Choose at least one time when it is safe to call.",
    ),
    ("windows", "too_many"): ("Välj högst {count} tider.", "Choose at most {count} times."),
    ("window", "invalid"): (
        "Skriv datum som ÅÅÅÅ-MM-DD och tid som TT:MM.",
        "Write the date as YYYY-MM-DD and the time as HH:MM.",
    ),
    ("window", "end_before_start"): (
        "Sluttiden måste vara efter starttiden.",
        "The end time must be after the start time.",
    ),
    ("window", "nonexistent_time"): (
        "Den tiden finns inte den dagen (sommartid).",
        "That time does not exist on that day (summer time).",
    ),
    ("window", "past"): ("Tiden har redan passerat.", "This time has already passed."),
    ("window", "outside_hours"): (
        "Tiden ligger utanför våra tider för att ringa upp.",
        "This time is outside our callback hours.",
    ),
    ("window", "too_far_ahead"): (
        "Välj en tid högst {days} dagar framåt.",
        "Choose a time at most {days} days ahead.",
    ),
    ("window", "too_short"): (
        "Tiden måste vara minst {minutes} minuter lång (räknat från nu om den redan har börjat).",
        "The time must be at least {minutes} minutes long (counted from now if it has begun).",
    ),
    ("alias", "required"): (
        "Skriv ett alias eller kodord som vi frågar efter när vi ringer.",
        "Enter an alias or code word we will ask for when we call.",
    ),
    ("alias", "too_long"): (
        "Aliaset får vara högst {alias_chars} tecken.",
        "The alias may be at most {alias_chars} characters.",
    ),
    ("alias", "invalid_characters"): (
        "Aliaset innehåller tecken som inte är tillåtna.",
        "The alias contains characters that are not allowed.",
    ),
    ("message", "too_long"): (
        "Meddelandet får vara högst {message_chars} tecken.",
        "The message may be at most {message_chars} characters.",
    ),
    ("message", "invalid_characters"): (
        "Meddelandet innehåller tecken som inte är tillåtna.",
        "The message contains characters that are not allowed.",
    ),
    ("opening", "invalid"): (
        "Välj vad vi ska säga om någon annan svarar.",
        "Choose what we should say if someone else answers.",
    ),
    ("language", "invalid"): ("Välj ett språk i listan.", "Choose a language from the list."),
    ("topic", "invalid"): ("Välj ett ämne i listan.", "Choose a topic from the list."),
}


def _error(field_name: str, code: str, settings: CallbackSettings, kind: str = "") -> FieldError:
    sv, en = _MESSAGES[(kind or field_name, code)]
    limits = {
        "count": settings.max_windows,
        "days": settings.max_days_ahead,
        "minutes": settings.min_window_min,
        "alias_chars": settings.max_alias_chars,
        "message_chars": settings.max_message_chars,
    }
    return FieldError(field_name, code, sv.format(**limits), en.format(**limits))


def validate_request(
    raw: CallbackRequestIn, settings: CallbackSettings, now: datetime
) -> ValidRequest:
    """Check every field and return the normalised request.

    Windows that overlap or touch are merged into one (the visitor meant "any time in there");
    a window that has begun counts from now. Raises CallbackValidationError listing every
    problem at once; raises ValueError if ``now`` is naive.
    """
    now_utc = _as_utc(now)
    errors: list[FieldError] = []
    phone = _check_phone(raw.phone, settings, errors)
    windows = _check_windows(raw.windows, settings, now_utc, errors)
    alias = _check_text("alias", raw.alias, settings.max_alias_chars, settings, errors)
    opening = raw.opening.strip().lower() or DEFAULT_OPENING
    if opening not in OPENING_CODES:
        errors.append(_error("opening", "invalid", settings))
    language = raw.language.strip().lower() or DEFAULT_LANGUAGE
    if not _LANGUAGE_RE.fullmatch(language):
        errors.append(_error("language", "invalid", settings))
    topic = raw.topic.strip().lower()
    if topic and not (
        _TOPIC_RE.fullmatch(topic) and (not settings.topic_codes or topic in settings.topic_codes)
    ):
        errors.append(_error("topic", "invalid", settings))
    message = _check_text("message", raw.message, settings.max_message_chars, settings, errors)
    if errors:
        raise CallbackValidationError(errors)
    return ValidRequest(
        phone, windows, raw.voicemail_ok, raw.say_nexus_ok, alias, language, topic, message, opening
    )


def _as_utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _check_phone(raw: str, settings: CallbackSettings, errors: list[FieldError]) -> str:
    text = raw.strip()
    if not text:
        errors.append(_error("phone", "required", settings))
        return ""
    # Letters would be read as a keypad vanity number (070-ABC...), which no visitor means.
    if len(text) > MAX_PHONE_RAW_CHARS or not _PHONE_CHARS_RE.fullmatch(text):
        errors.append(_error("phone", "invalid_characters", settings))
        return ""
    try:
        number = phonenumbers.parse(text, "SE")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        errors.append(_error("phone", "invalid", settings))
        return ""
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.PREMIUM_RATE:
        errors.append(_error("phone", "premium_rate", settings))
        return ""
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _check_windows(
    raw_windows: Sequence[WindowIn],
    settings: CallbackSettings,
    now_utc: datetime,
    errors: list[FieldError],
) -> tuple[Window, ...]:
    if not raw_windows:
        errors.append(_error("windows", "required", settings))
        return ()
    if len(raw_windows) > settings.max_windows:
        errors.append(_error("windows", "too_many", settings))
        return ()
    parsed: list[Window] = []
    for number, raw in enumerate(raw_windows, start=1):
        result = _parse_window(raw, settings, now_utc)
        if isinstance(result, Window):
            parsed.append(result)
        else:
            errors.append(_error(f"window-{number}", result, settings, kind="window"))
    return _merged(parsed)


def _parse_window(raw: WindowIn, settings: CallbackSettings, now_utc: datetime) -> Window | str:
    """The window, or the code of the first problem found in it."""
    start_t, end_t = _parse_hhmm(raw.start), _parse_hhmm(raw.end)
    day_text = raw.date.strip()
    if start_t is None or end_t is None or not _DATE_RE.fullmatch(day_text):
        return "invalid"
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        return "invalid"
    if end_t <= start_t:
        return "end_before_start"
    start, end = _wall_to_utc(day, start_t, settings.zone), _wall_to_utc(day, end_t, settings.zone)
    if start is None or end is None:
        return "nonexistent_time"
    if end <= now_utc:
        return "past"
    hours = settings.callback_hours.get(day.weekday())
    if hours is None or day in settings.closed_dates or start_t < hours[0] or end_t > hours[1]:
        return "outside_hours"
    if (day - now_utc.astimezone(settings.zone).date()).days > settings.max_days_ahead:
        return "too_far_ahead"
    # A window that has begun is usable from now on; whole seconds keep stored values exact.
    start = max(start, now_utc.replace(microsecond=0))
    if end - start < timedelta(minutes=settings.min_window_min):
        return "too_short"
    return Window(start, end)


def _parse_hhmm(text: str) -> time | None:
    match = _TIME_RE.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def _wall_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """The instant the clock in ``zone`` shows ``wall`` on ``day`` (first one if repeated), or
    None if the clock skips that time."""
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant


def _merged(windows: Iterable[Window]) -> tuple[Window, ...]:
    merged: list[Window] = []
    for window in sorted(windows):
        if merged and window.start <= merged[-1].end:
            merged[-1] = Window(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return tuple(merged)


def _check_text(
    name: str, raw: str, limit: int, settings: CallbackSettings, errors: list[FieldError]
) -> str:
    """Alias (one line, required) or message (may span lines, optional), NFC-normalised."""
    multiline = name == "message"
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n")).strip()
    if not multiline:
        text = " ".join(text.split())
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in text):
        errors.append(_error(name, "invalid_characters", settings))
    elif len(text) > limit:
        errors.append(_error(name, "too_long", settings))
    elif not text and not multiline:
        errors.append(_error(name, "required", settings))
    return text


# --- storage life ------------------------------------------------------------------------


def expiry(valid: ValidRequest, settings: CallbackSettings) -> datetime:
    """When the stored request must be gone: the end of its last window plus the grace period."""
    return max(window.end for window in valid.windows) + timedelta(seconds=settings.grace_s)


def ttl_seconds(valid: ValidRequest, settings: CallbackSettings, now: datetime) -> int:
    """Seconds from ``now`` until ``expiry``, rounded up; 0 means it is due for deletion."""
    remaining_s = (expiry(valid, settings) - _as_utc(now)).total_seconds()
    return max(0, math.ceil(remaining_s))


# --- the work list -----------------------------------------------------------------------


class WorkStatus(enum.StrEnum):
    """Where a pending request stands, as marked in the counsellors' work list.

    ``due``: now is inside one of its windows; call now. ``overdue``: not inside a window, and
    the window that ended most recently passed with no attempt made since it began (the call
    was missed; it must wait for its next window, since calling outside a window is not safe).
    ``upcoming``: its next window is still ahead and no window was missed. ``expired``: every
    window has ended; it cannot be called safely any more and awaits deletion.
    """

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class WorklistItem:
    """A pending request as the work list sees it: never the phone number."""

    request_id: str
    windows: tuple[Window, ...]
    attempts: int = 0
    last_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    item: WorklistItem
    status: WorkStatus
    next_window: Window | None


def next_window(windows: Iterable[Window], now: datetime) -> Window | None:
    """The window that holds ``now`` or, failing that, the earliest one still ahead."""
    now_utc = _as_utc(now)
    return min((w for w in windows if w.end > now_utc), default=None)


def classify(
    windows: Sequence[Window], now: datetime, last_attempt_at: datetime | None = None
) -> WorkStatus:
    """The work-list status of a pending request (see WorkStatus for the definitions)."""
    now_utc = _as_utc(now)
    if all(w.end <= now_utc for w in windows):
        return WorkStatus.EXPIRED
    if any(w.contains(now_utc) for w in windows):
        return WorkStatus.DUE
    ended = [w for w in windows if w.end <= now_utc]
    if ended and (last_attempt_at is None or last_attempt_at < max(ended).start):
        return WorkStatus.OVERDUE
    return WorkStatus.UPCOMING


def order_worklist(items: Iterable[WorklistItem], now: datetime) -> list[WorklistEntry]:
    """Entries ordered by the start of their next window (a window in progress counts by its
    start, so due ones come first), ties by request id; expired entries come last."""
    entries = [
        WorklistEntry(
            item, classify(item.windows, now, item.last_attempt_at), next_window(item.windows, now)
        )
        for item in items
    ]

    def sort_key(entry: WorklistEntry) -> tuple[bool, datetime, str]:
        windows = entry.item.windows
        anchor = entry.next_window.start if entry.next_window else max(w.end for w in windows)
        return entry.next_window is None, anchor, entry.item.request_id

    return sorted(entries, key=sort_key)


# --- outcomes ----------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    """What a call attempt ended in; never free text."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    NOT_SAFE = "not_safe"  # the visitor signalled danger or hung up: never call again
    WRONG_NUMBER = "wrong_number"


@dataclass(frozen=True, slots=True)
class OutcomeDecision:
    """``final``: delete the number now. ``retry``: keep it for ``next_window``.
    ``counted_as`` is the anonymous counter to bump: "completed", "failed" or "retry"."""

    final: bool
    retry: bool
    attempts: int
    counted_as: Literal["completed", "failed", "retry"]
    next_window: Window | None = None


def apply_outcome(
    attempts: int,
    outcome: Outcome,
    windows: Sequence[Window],
    now: datetime,
    settings: CallbackSettings,
) -> OutcomeDecision:
    """Decide what follows an attempt; ``attempts`` counts the earlier ones.

    Only "no answer" may be retried, and only in a window that starts after ``now`` (not later
    in the same window: a phone that rang unanswered may have been noticed by someone else)
    while fewer than ``max_attempts`` attempts have been made. Raises ValueError on a negative
    ``attempts``.
    """
    if attempts < 0:
        raise ValueError("attempts cannot be negative")
    made = attempts + 1
    if outcome is Outcome.REACHED:
        return OutcomeDecision(final=True, retry=False, attempts=made, counted_as="completed")
    if outcome is Outcome.NO_ANSWER and made < settings.max_attempts:
        now_utc = _as_utc(now)
        later = min((w for w in windows if w.start > now_utc), default=None)
        if later is not None:
            return OutcomeDecision(
                final=False, retry=True, attempts=made, counted_as="retry", next_window=later
            )
    return OutcomeDecision(final=True, retry=False, attempts=made, counted_as="failed")


# --- status codes ------------------------------------------------------------------------


def new_status_code(rand_bytes: bytes) -> str:
    """A one-time code such as "7KQ2-M9XD" for the visitor to check or cancel a request.

    Eight Crockford base32 characters (no I, L, O, U) from the first 5 bytes: 40 bits. That is
    only safe because the store keeps a keyed hash of the code, never the code, and rate-limits
    guesses. Raises ValueError if fewer than 5 bytes are given.
    """
    if len(rand_bytes) < STATUS_CODE_RANDOM_BYTES:
        raise ValueError(f"need at least {STATUS_CODE_RANDOM_BYTES} random bytes")
    value = int.from_bytes(rand_bytes[:STATUS_CODE_RANDOM_BYTES], "big")
    chars = "".join(
        STATUS_CODE_ALPHABET[(value >> (5 * shift)) & 31]
        for shift in reversed(range(STATUS_CODE_CHARS))
    )
    return f"{chars[:4]}-{chars[4:]}"


def normalise_status_code(text: str) -> str | None:
    """The canonical "ABCD-EFGH" form of a typed code, or None if it cannot be one.

    Case, spaces and dashes are ignored, and O, I, L are read as 0, 1, 1 as Crockford intends.
    """
    compact = "".join(text.split()).replace("-", "").upper().translate(_CROCKFORD_ALIASES)
    if len(compact) != STATUS_CODE_CHARS or any(c not in STATUS_CODE_ALPHABET for c in compact):
        return None
    return f"{compact[:4]}-{compact[4:]}"
