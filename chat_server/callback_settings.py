"""Settings of the safe callback service, read from the environment, and what they offer.

``CallbackConfig.from_env`` is the only reader of the ``NEXUS_CALLBACK*`` variables (the lead's
Settings calls it). The pure helpers at the end (``offered_days``, ``time_steps``) turn the
callback hours into the choices the form and the widget show; they take ``now`` from the caller.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import holidays

from .crypto import FieldCipher, KeySettingError, generate_key
from .domain.callbacks import CallbackSettings
from .domain.schedule import ScheduleError, parse_dates, parse_weekly_schedule
from .envparse import EnvReader

TOPIC_CODES: Final = frozenset(
    {
        "violence_close",
        "honour",
        "sex_for_compensation",
        "older_person",
        "worried_other",
        "professional",
        "other",
    }
)
CALL_LANGUAGES: Final = ("sv", "en", "ar", "fa", "so", "ti")  # the widget's, less lättläst
TIME_STEP_MIN: Final = 30
HOLIDAY_YEARS_AHEAD: Final = 10  # public holidays are looked up this far from start-up
_KEY_LABEL_CIPHER: Final = b"nexus-chat callback v1: field cipher"
_KEY_LABEL_LOOKUP: Final = b"nexus-chat callback v1: lookup hashes"


class CallbackConfigError(ValueError):
    """A NEXUS_CALLBACK* variable has a value the service cannot use; never echoes the key."""


@dataclass(frozen=True, kw_only=True)
class CallbackConfig:
    """Everything the callback service needs: the key, the rules and the flood limits.

    ``master_key`` (32 bytes) never appears in a repr; two subkeys are derived from it, one for
    AES-GCM of the stored fields and one for the keyed hashes used as lookup keys (status codes,
    duplicate numbers), so neither use can weaken the other. Limits are "per hour"; 0 turns a
    limit off. ``per_address_*`` limits are kept in process memory (see docs/callbacks.md),
    ``service_*`` limits in Redis, shared by every instance.
    """

    master_key: bytes = field(repr=False)
    rules: CallbackSettings = field(default_factory=lambda: CallbackSettings(max_windows=3))
    per_address_submits_per_h: int = 10
    per_address_guesses_per_h: int = 10
    service_requests_per_h: int = 120
    service_guesses_per_h: int = 300

    def __post_init__(self) -> None:
        if len(self.master_key) != 32:
            raise CallbackConfigError("the callback key must be 32 bytes")

    def field_cipher(self) -> FieldCipher:
        return FieldCipher(_derive(self.master_key, _KEY_LABEL_CIPHER))

    def lookup_key(self) -> bytes:
        return _derive(self.master_key, _KEY_LABEL_LOOKUP)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, demo: bool = False) -> CallbackConfig:
        """Read ``NEXUS_CALLBACK_*``; see docs/callbacks.md for each variable.

        ``NEXUS_CALLBACK_KEY`` is required, except with ``demo``, where a fresh key is made
        (requests then die with the process, which the demo's private Redis does anyway).
        Raises CallbackConfigError naming the variable at fault.
        """
        raw_key = env.get("NEXUS_CALLBACK_KEY", "").strip()
        if not raw_key:
            if not demo:
                raise CallbackConfigError(
                    "NEXUS_CALLBACK_KEY is required: base64 of 32 random bytes, the same on every "
                    "instance (make one with: openssl rand -base64 32 | tr '+/' '-_')"
                )
            raw_key = generate_key()
        try:
            FieldCipher.from_setting(raw_key)  # the checks and the error text live there
        except KeySettingError as error:
            raise CallbackConfigError(f"NEXUS_CALLBACK_KEY: {error}") from None
        key = base64.urlsafe_b64decode(
            raw_key.replace("+", "-").replace("/", "_") + "=" * (-len(raw_key) % 4)
        )
        read = EnvReader(env, CallbackConfigError)
        try:
            rules = CallbackSettings(
                callback_hours=_hours(env.get("NEXUS_CALLBACK_HOURS", "") or "mon-fri 09:00-16:00"),
                closed_dates=_closed_dates(read),
                tz=env.get("NEXUS_CALLBACK_TZ", "") or "Europe/Stockholm",
                max_days_ahead=read.whole("NEXUS_CALLBACK_MAX_DAYS_AHEAD", 7),
                min_window_min=read.whole("NEXUS_CALLBACK_MIN_WINDOW_MIN", 30),
                max_windows=read.whole("NEXUS_CALLBACK_MAX_WINDOWS", 3),
                grace_s=read.whole("NEXUS_CALLBACK_GRACE_S", 3600),
                max_attempts=read.whole("NEXUS_CALLBACK_MAX_ATTEMPTS", 3),
                max_message_chars=read.whole("NEXUS_CALLBACK_MAX_MESSAGE_CHARS", 300),
                max_alias_chars=read.whole("NEXUS_CALLBACK_MAX_ALIAS_CHARS", 40),
                lock_ttl_s=read.whole("NEXUS_CALLBACK_LOCK_TTL_S", 600),
                topic_codes=TOPIC_CODES,
            )
        except CallbackConfigError:
            raise
        except ScheduleError as error:
            raise CallbackConfigError(f"NEXUS_CALLBACK_HOURS or _CLOSED_DATES: {error}") from None
        except ValueError as error:
            raise CallbackConfigError(f"NEXUS_CALLBACK_*: {error}") from None
        return cls(
            master_key=key,
            rules=rules,
            per_address_submits_per_h=read.whole("NEXUS_CALLBACK_PER_ADDRESS_SUBMITS_PER_H", 10),
            per_address_guesses_per_h=read.whole("NEXUS_CALLBACK_PER_ADDRESS_GUESSES_PER_H", 10),
            service_requests_per_h=read.whole("NEXUS_CALLBACK_SERVICE_REQUESTS_PER_H", 120),
            service_guesses_per_h=read.whole("NEXUS_CALLBACK_SERVICE_GUESSES_PER_H", 300),
        )


def _derive(master_key: bytes, label: bytes) -> bytes:
    return hmac.new(master_key, label, hashlib.sha256).digest()


def _hours(spec: str) -> dict[int, tuple[time, time]]:
    """One period per weekday (a callback window must fit one span of staffed hours)."""
    hours: dict[int, tuple[time, time]] = {}
    for weekday, periods in parse_weekly_schedule(spec).items():
        if len(periods) > 1:
            raise CallbackConfigError(
                f"NEXUS_CALLBACK_HOURS: give at most one period per day ({spec!r})"
            )
        if periods:
            hours[weekday] = periods[0]
    return hours


def _closed_dates(read: EnvReader) -> frozenset[date]:
    closed = parse_dates(read.env.get("NEXUS_CALLBACK_CLOSED_DATES", ""))
    if not read.flag("NEXUS_CALLBACK_OBSERVE_HOLIDAYS", True):
        return closed
    first_year = datetime.now(UTC).year - 1
    calendar = holidays.country_holidays(
        "SE",
        years=range(first_year, first_year + HOLIDAY_YEARS_AHEAD + 1),
        categories=("public",),
        include_sundays=False,
    )
    return closed | frozenset(calendar)


# --- what the rules offer ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferedDay:
    """A date with callback hours, and the span still open on it (wall clock)."""

    day: date
    start: time
    end: time


def offered_days(rules: CallbackSettings, now: datetime) -> list[OfferedDay]:
    """The dates from today to ``max_days_ahead`` with callback hours, in order.

    Today counts only while a window of ``min_window_min`` still fits; its start is then the
    current half hour (a window that has begun counts from now). Raises ValueError if ``now``
    is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_now = now.astimezone(rules.zone)
    today = local_now.date()
    days: list[OfferedDay] = []
    for offset in range(rules.max_days_ahead + 1):
        day = today + timedelta(days=offset)
        hours = rules.callback_hours.get(day.weekday())
        if hours is None or day in rules.closed_dates:
            continue
        start, end = hours
        if offset == 0:
            end_at = datetime.combine(day, end, tzinfo=rules.zone)
            if end_at - local_now < timedelta(minutes=max(rules.min_window_min, 1)):
                continue
            step_min = (local_now.hour * 60 + local_now.minute) // TIME_STEP_MIN * TIME_STEP_MIN
            start = max(start, time(step_min // 60, step_min % 60))
        days.append(OfferedDay(day, start, end))
    return days


def time_steps(rules: CallbackSettings) -> list[time]:
    """Every ``TIME_STEP_MIN`` from the earliest start to the latest end of the callback hours
    (the latest end included even off the step), for the form's time selects."""
    if not rules.callback_hours:
        return []
    first = min(start for start, _ in rules.callback_hours.values())
    last = max(end for _, end in rules.callback_hours.values())
    minutes, last_min = first.hour * 60 + first.minute, last.hour * 60 + last.minute
    steps = [time(m // 60, m % 60) for m in range(minutes, last_min + 1, TIME_STEP_MIN)]
    if steps[-1] != last:
        steps.append(last)
    return steps
