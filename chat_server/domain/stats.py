"""Anonymous statistics for evaluating the pilot: counters, histograms, service level, export.

Pure arithmetic. The store adds the increments returned by ``increments_for_*`` (HINCRBY) to
one hash per day; nothing here touches Redis. No visitor text can enter a counter: every label
is checked against a fixed allow-list (anything else becomes ``"other"``, an empty choice
``"unspecified"``) and :func:`counter_field` accepts only short lowercase codes.

Counting rule: every chat is counted exactly once, when it ends, in the hash of the day and the
local hour (Europe/Stockholm) it was *offered* (entered the queue). So on every day
``chats_offered == chats_answered + chats_abandoned`` holds and a service level never mixes
chats of two days. Chats still waiting or active belong to the live queue, not to these counters.
Day and hour come from :func:`local_day_and_hour`.

Late outcomes: only the counsellor's own ``end`` carries outcome codes. A chat that ended any
other way is counted at its end without outcome fields, and its outcomes are added to the same
day later, once, when the counsellor saves them or the grace period runs out
(:func:`outcome_waits_for_counsellor`, :func:`increments_for_outcomes`). Counters only ever
grow: nothing is counted first and taken back later, because the archive keeps the larger of
its own and Redis's value of every counter.

Waits and handle times are histograms with fixed bucket bounds, so percentiles need no
individual rows. The bounds are part of the stored data: changing them needs a migration.

Exporting (date ranges, small-cell suppression, CSV, the statistics page's report) lives in
:mod:`chat_server.domain.stats_export`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from .models import EndReason
from .outcomes import OUTCOMES
from .vocabulary import LANGUAGES, TOPICS

# --- histograms ---------------------------------------------------------------------------

# Upper bounds (inclusive) in seconds; the last bucket is open. 60 and 120 must stay bounds:
# they are the default service-level targets.
WAIT_BUCKETS_S: Final[tuple[float, ...]] = (10, 30, 60, 120, 300, 600, 1200, 1800, math.inf)
HANDLE_BUCKETS_S: Final[tuple[float, ...]] = (60, 300, 600, 1200, 1800, 2700, 3600, math.inf)
DEFAULT_SERVICE_TARGETS_S: Final[tuple[int, ...]] = (60, 120)
# A visitor who leaves within this many seconds had no real chance of an answer (a misclick,
# or a quick exit because someone came into the room); such chats leave the service level out.
SHORT_ABANDON_S: Final = 10


def bucket_label(bound: float) -> str:
    """The label of the bucket with this upper bound: ``"le_60"``, or ``"inf"`` for the last."""
    return "inf" if math.isinf(bound) else f"le_{int(bound)}"


def bucket_for(value_s: float, bounds: Sequence[float]) -> str:
    """The label of the first bucket whose bound is ≥ ``value_s`` (60 s exactly is ``le_60``).

    Negative values (clock skew between hosts) count as 0. Raises ``ValueError`` for NaN or a
    value above the last bound (bounds should end with ``math.inf``).
    """
    if math.isnan(value_s):
        raise ValueError("a duration cannot be NaN")
    for bound in bounds:
        if max(0.0, value_s) <= bound:
            return bucket_label(bound)
    raise ValueError(f"{value_s} s is above the last bucket bound")


def percentile_from_histogram(
    counts: Mapping[str, int], bounds: Sequence[float], q: float
) -> float | None:
    """The upper bound of the bucket holding the ``q``-quantile (0 ≤ q ≤ 1), or None if empty.

    This is an *upper estimate*: the true value lies somewhere in that bucket, at most the
    returned bound (``math.inf`` for the open last bucket). Raises ``ValueError`` for a ``q``
    outside [0, 1], negative counts, or labels that are not buckets of ``bounds``.
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    labels = [bucket_label(bound) for bound in bounds]
    unknown = set(counts) - set(labels)
    if unknown:
        raise ValueError(f"not buckets of these bounds: {sorted(unknown)}")
    if any(count < 0 for count in counts.values()):
        raise ValueError("histogram counts cannot be negative")
    total = sum(counts.values())
    if total == 0:
        return None
    # The rank of the q-quantile among the sorted values (1-based); rounding first keeps
    # 0.9 * 10 from becoming 9.000000000000002 and so rank 10.
    rank = max(1, math.ceil(round(q * total, 9)))
    seen = 0
    for bound, label in zip(bounds, labels, strict=True):
        seen += counts.get(label, 0)
        if seen >= rank:
            return float(bound)
    raise AssertionError("unreachable: the last bucket reaches the total")


def median_wait_s(wait_hist: Mapping[str, int]) -> float | None:
    """The median wait of answered chats, as an upper estimate (see percentile_from_histogram)."""
    return percentile_from_histogram(wait_hist, WAIT_BUCKETS_S, 0.5)


def histogram(counters: Mapping[str, int], metric: str) -> dict[str, int]:
    """The buckets of one histogram metric (``"wait"``) out of a day's counters, by label."""
    prefix = metric + ":"
    return {field[len(prefix) :]: n for field, n in counters.items() if field.startswith(prefix)}


# --- counter vocabulary -------------------------------------------------------------------

CHATS_OFFERED: Final = "chats_offered"
CHATS_ANSWERED: Final = "chats_answered"
CHATS_ABANDONED: Final = "chats_abandoned"
CHATS_ABANDONED_SHORT: Final = "chats_abandoned_short"
CHATS_URGENT: Final = "chats_urgent"  # the visitor marked the chat urgent
OFFERED_BY_HOUR: Final = "offered_by_hour"
ANSWERED_BY_HOUR: Final = "answered_by_hour"
ABANDONED_BY_HOUR: Final = "abandoned_by_hour"
WAIT: Final = "wait"  # wait of answered chats
ABANDON_WAIT: Final = "abandon_wait"  # how long abandoning visitors waited
HANDLE: Final = "handle"
TOPIC: Final = "topic"
LANGUAGE: Final = "language"
OUTCOME: Final = "outcome"
END_REASON: Final = "end_reason"
CALLBACKS_REQUESTED: Final = "callbacks_requested"
CALLBACKS_COMPLETED: Final = "callbacks_completed"
CALLBACKS_FAILED: Final = "callbacks_failed"
CALLBACKS_RETRY: Final = "callbacks_retry"  # an attempt without answer, to be tried again
CALLBACKS_CANCELLED: Final = "callbacks_cancelled"  # by the visitor, with the status code
CALLBACKS_EXPIRED: Final = "callbacks_expired"  # every window passed without a final outcome
FEEDBACK_RESPONSES: Final = "feedback_responses"
FEEDBACK: Final = "feedback"  # labels: question, answer

# How many labels each metric takes; counter_field refuses anything else.
METRIC_LABEL_COUNTS: Final[Mapping[str, int]] = {
    CHATS_OFFERED: 0,
    CHATS_ANSWERED: 0,
    CHATS_ABANDONED: 0,
    CHATS_ABANDONED_SHORT: 0,
    CHATS_URGENT: 0,
    OFFERED_BY_HOUR: 1,
    ANSWERED_BY_HOUR: 1,
    ABANDONED_BY_HOUR: 1,
    WAIT: 1,
    ABANDON_WAIT: 1,
    HANDLE: 1,
    TOPIC: 1,
    LANGUAGE: 1,
    OUTCOME: 1,
    END_REASON: 1,
    CALLBACKS_REQUESTED: 0,
    CALLBACKS_COMPLETED: 0,
    CALLBACKS_FAILED: 0,
    CALLBACKS_RETRY: 0,
    CALLBACKS_CANCELLED: 0,
    CALLBACKS_EXPIRED: 0,
    FEEDBACK_RESPONSES: 0,
    FEEDBACK: 2,
}

OTHER: Final = "other"
UNSPECIFIED: Final = "unspecified"
HELPED: Final = "helped"  # "Fick du den hjälp du behövde?" 1–5
CONTACT_AGAIN: Final = "contact_again"  # "Skulle du kontakta oss igen?" yes/no/unsure
HELPED_SCORES: Final = ("1", "2", "3", "4", "5")
CONTACT_AGAIN_ANSWERS: Final = ("yes", "no", "unsure")
END_REASONS: Final = tuple(reason.value for reason in EndReason)
# "completed", "failed" and "retry" are what domain.callbacks.apply_outcome counts an attempt as.
CallbackStatus = Literal["requested", "completed", "failed", "retry", "cancelled", "expired"]
_CALLBACK_FIELDS: Final[Mapping[str, str]] = {
    "requested": CALLBACKS_REQUESTED,
    "completed": CALLBACKS_COMPLETED,
    "failed": CALLBACKS_FAILED,
    "retry": CALLBACKS_RETRY,
    "cancelled": CALLBACKS_CANCELLED,
    "expired": CALLBACKS_EXPIRED,
}
CALLBACK_STATUSES: Final = tuple(_CALLBACK_FIELDS)
_LABEL = re.compile(r"[a-z0-9_]{1,40}")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The allow-lists of topics, languages and outcomes (referrals are ``referral_*``).

    Configuration may pass its own. The widget's topic and language choices and the console's
    outcome picklist send exactly these codes: by default the shared lists of
    :mod:`chat_server.domain.vocabulary` and :mod:`chat_server.domain.outcomes`. Anything else
    is counted as "other"; the widget's own topic "other" is counted there too, so it is not
    listed. Raises ``ValueError`` if an entry is not a short lowercase code.
    """

    topics: tuple[str, ...] = tuple(topic for topic in TOPICS if topic != OTHER)
    languages: tuple[str, ...] = LANGUAGES
    outcomes: tuple[str, ...] = tuple(outcome.code for outcome in OUTCOMES)

    def __post_init__(self) -> None:
        for code in (*self.topics, *self.languages, *self.outcomes):
            if not _LABEL.fullmatch(code):
                raise ValueError("vocabulary entries must be short lowercase codes")


DEFAULT_VOCABULARY: Final = Vocabulary()


def allowed_label(value: str, allowed: Iterable[str]) -> str:
    """``value`` if it is in the allow-list (case and surrounding space ignored), else
    ``"other"``; an empty value is ``"unspecified"``."""
    code = value.strip().lower()
    if not code:
        return UNSPECIFIED
    return code if code in allowed else OTHER


def counter_field(metric: str, *labels: str) -> str:
    """The hash field of one counter: ``"chats_offered"``, ``"wait:le_60"``,
    ``"feedback:helped:4"``. Raises ``ValueError`` for an unknown metric, a wrong number of
    labels, or a label that is not a short lowercase code (the label is not echoed)."""
    if METRIC_LABEL_COUNTS.get(metric) != len(labels):
        raise ValueError(f"metric {metric[:40]!r} does not take {len(labels)} label(s)")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError("counter labels must be short lowercase codes")
    return ":".join((metric, *labels))


def local_day_and_hour(epoch_ms: int, tz: ZoneInfo) -> tuple[date, int]:
    """The local calendar day and hour (0–23) of an instant given in Unix epoch milliseconds.

    On the autumn day the repeated hour 02 counts both of its occurrences as hour 02.
    """
    local = datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(tz)
    return local.date(), local.hour


def is_counter_field(field: str) -> bool:
    """Whether ``field`` is a well-formed counter name (a known metric with its labels), as
    :func:`counter_field` would build it; used to check counters read back from storage."""
    metric, *labels = field.split(":")
    return METRIC_LABEL_COUNTS.get(metric) == len(labels) and all(
        _LABEL.fullmatch(label) for label in labels
    )


def _hour_label(hour: int) -> str:
    if not 0 <= hour <= 23:
        raise ValueError("hour must be 0–23")
    return f"{hour:02d}"


def increments_for_chat_ended(
    *,
    wait_s: float,
    handle_s: float | None,
    answered: bool,
    topic: str,
    language: str,
    outcomes: Iterable[str] | None,
    hour: int,
    end_reason: str = "",
    urgent: bool = False,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> dict[str, int]:
    """The counters one ended chat adds to the hash of the day it was offered.

    ``wait_s`` runs from entering the queue to being answered (or, if never answered, to
    leaving); ``hour`` is the local hour of being offered. Outcomes count as
    :func:`increments_for_outcomes` does (``outcome:unspecified`` for none). ``outcomes=None``
    means *pending*: the counsellor gives them later, so no outcome field is counted now (see
    :func:`outcome_waits_for_counsellor`). Raises ``ValueError`` for an unanswered chat with a
    handle time or outcomes, or an hour outside 0–23.
    """
    if isinstance(outcomes, str):
        raise TypeError("outcomes is a collection of codes, not one string")
    chosen = None if outcomes is None else tuple(o for o in outcomes if o.strip())
    hour_label = _hour_label(hour)
    increments = {
        CHATS_OFFERED: 1,
        counter_field(OFFERED_BY_HOUR, hour_label): 1,
        counter_field(TOPIC, allowed_label(topic, vocabulary.topics)): 1,
        counter_field(LANGUAGE, allowed_label(language, vocabulary.languages)): 1,
    }
    if urgent:
        increments[CHATS_URGENT] = 1
    if answered:
        increments[CHATS_ANSWERED] = 1
        increments[counter_field(ANSWERED_BY_HOUR, hour_label)] = 1
        increments[counter_field(WAIT, bucket_for(wait_s, WAIT_BUCKETS_S))] = 1
        if handle_s is not None:
            increments[counter_field(HANDLE, bucket_for(handle_s, HANDLE_BUCKETS_S))] = 1
        if chosen is not None:
            increments.update(increments_for_outcomes(chosen, vocabulary))
    else:
        if handle_s is not None or chosen:
            raise ValueError("an unanswered chat has no handle time and no outcome")
        increments[CHATS_ABANDONED] = 1
        increments[counter_field(ABANDONED_BY_HOUR, hour_label)] = 1
        increments[counter_field(ABANDON_WAIT, bucket_for(wait_s, WAIT_BUCKETS_S))] = 1
        if wait_s <= SHORT_ABANDON_S:
            increments[CHATS_ABANDONED_SHORT] = 1
    if end_reason.strip():
        increments[counter_field(END_REASON, allowed_label(end_reason, END_REASONS))] = 1
    return increments


def increments_for_outcomes(
    outcomes: Iterable[str], vocabulary: Vocabulary = DEFAULT_VOCABULARY
) -> dict[str, int]:
    """The outcome counters of one answered chat: each distinct code once (a code outside the
    vocabulary as ``outcome:other``), ``outcome:unspecified`` when none is given. Raises
    ``TypeError`` for one string instead of a collection of codes."""
    if isinstance(outcomes, str):
        raise TypeError("outcomes is a collection of codes, not one string")
    labels = {allowed_label(o, vocabulary.outcomes) for o in outcomes if o.strip()}
    return {counter_field(OUTCOME, label): 1 for label in labels or {UNSPECIFIED}}


def outcome_waits_for_counsellor(*, answered: bool, reason: str, counsellor: str) -> bool:
    """Whether an ended chat's outcome is left pending for its counsellor to give later.

    Only the counsellor's own ``end`` carries outcomes. An answered chat that ended any other
    way (the visitor ended it, a quick exit, expiry) and still has a counsellor to ask waits;
    an unanswered chat has no outcome, and a chat nobody holds has nobody to ask.
    """
    return answered and bool(counsellor) and reason != EndReason.COUNSELLOR_ENDED.value


def increments_for_abandoned(
    *,
    wait_s: float,
    topic: str,
    language: str,
    hour: int,
    end_reason: str = "",
    urgent: bool = False,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> dict[str, int]:
    """The counters of a chat the visitor left (or that expired) before anyone answered."""
    return increments_for_chat_ended(
        wait_s=wait_s,
        handle_s=None,
        answered=False,
        topic=topic,
        language=language,
        outcomes=(),
        hour=hour,
        end_reason=end_reason,
        urgent=urgent,
        vocabulary=vocabulary,
    )


def increments_for_callback(status: CallbackStatus) -> dict[str, int]:
    """The counter one callback event adds; raises ``ValueError`` for an unknown status."""
    if status not in _CALLBACK_FIELDS:
        raise ValueError(f"callback status must be one of {', '.join(CALLBACK_STATUSES)}")
    return {_CALLBACK_FIELDS[status]: 1}


def increments_for_feedback(*, helped: int | None, contact_again: str | None) -> dict[str, int]:
    """The counters of one feedback form; an unanswered question adds nothing, an answer
    outside the scale counts as ``"other"`` (the form is visitor input, so never trusted)."""
    increments = {FEEDBACK_RESPONSES: 1}
    if helped is not None:
        valid = isinstance(helped, int) and not isinstance(helped, bool) and 1 <= helped <= 5
        increments[counter_field(FEEDBACK, HELPED, str(helped) if valid else OTHER)] = 1
    if contact_again and contact_again.strip():
        answer = allowed_label(contact_again, CONTACT_AGAIN_ANSWERS)
        increments[counter_field(FEEDBACK, CONTACT_AGAIN, answer)] = 1
    return increments


def all_fields(vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> list[str]:
    """Every counter field the increments can produce, in a stable order (CSV columns)."""
    hours = [_hour_label(h) for h in range(24)]
    any_label = (OTHER, UNSPECIFIED)
    labelled: list[tuple[str, Iterable[str]]] = [
        (WAIT, map(bucket_label, WAIT_BUCKETS_S)),
        (ABANDON_WAIT, map(bucket_label, WAIT_BUCKETS_S)),
        (HANDLE, map(bucket_label, HANDLE_BUCKETS_S)),
        (TOPIC, (*vocabulary.topics, *any_label)),
        (LANGUAGE, (*vocabulary.languages, *any_label)),
        (OUTCOME, (*vocabulary.outcomes, *any_label)),
        (END_REASON, (*END_REASONS, OTHER)),
        (OFFERED_BY_HOUR, hours),
        (ANSWERED_BY_HOUR, hours),
        (ABANDONED_BY_HOUR, hours),
    ]
    fields = [CHATS_OFFERED, CHATS_ANSWERED, CHATS_ABANDONED, CHATS_ABANDONED_SHORT, CHATS_URGENT]
    fields += [counter_field(metric, label) for metric, labels in labelled for label in labels]
    fields += [*_CALLBACK_FIELDS.values(), FEEDBACK_RESPONSES]
    fields += [counter_field(FEEDBACK, HELPED, s) for s in (*HELPED_SCORES, OTHER)]
    fields += [counter_field(FEEDBACK, CONTACT_AGAIN, a) for a in (*CONTACT_AGAIN_ANSWERS, OTHER)]
    return fields


# --- service level ------------------------------------------------------------------------


def answered_within_target(
    wait_hist: Mapping[str, int], target_s: float, bounds: Sequence[float] = WAIT_BUCKETS_S
) -> int:
    """How many answered chats waited at most ``target_s``.

    Exact only because the target is a bucket bound; raises ``ValueError`` if it is not.
    """
    if target_s not in bounds:
        raise ValueError(f"service-level target {target_s} s is not a wait bucket bound")
    return sum(wait_hist.get(bucket_label(b), 0) for b in bounds if b <= target_s)


def service_level(answered_within: int, offered: int, abandoned_short: int = 0) -> float | None:
    """Share of chats answered within the target: ``answered_within / (offered − short)``.

    ``short`` is the chats abandoned within SHORT_ABANDON_S: they leave both sides of the
    fraction, while later abandons count as not answered in time. None when nothing counts.
    Raises ``ValueError`` for negative inputs.
    """
    if min(answered_within, offered, abandoned_short) < 0:
        raise ValueError("counters cannot be negative")
    eligible = offered - abandoned_short
    if eligible <= 0:
        return None
    # A reader between two HINCRBYs may see the numerator a step ahead; never show > 100 %.
    return min(1.0, answered_within / eligible)


@dataclass(frozen=True, slots=True)
class LiveSummary:
    """Today's headline numbers for the supervisor's live view."""

    offered: int
    answered: int
    abandoned: int
    median_wait_s: float | None
    service_levels: dict[int, float | None]


def live_summary(
    counters: Mapping[str, int], targets_s: Iterable[int] = DEFAULT_SERVICE_TARGETS_S
) -> LiveSummary:
    """Summarise one day's counters; raises ``ValueError`` if a target is not a bucket bound."""
    waits = histogram(counters, WAIT)
    offered = counters.get(CHATS_OFFERED, 0)
    short = counters.get(CHATS_ABANDONED_SHORT, 0)
    return LiveSummary(
        offered=offered,
        answered=counters.get(CHATS_ANSWERED, 0),
        abandoned=counters.get(CHATS_ABANDONED, 0),
        median_wait_s=median_wait_s(waits),
        service_levels={
            t: service_level(answered_within_target(waits, t), offered, short) for t in targets_s
        },
    )


# --- live chart ---------------------------------------------------------------------------


def downsample(points: Sequence[tuple[int, int]], max_points: int) -> list[tuple[int, int]]:
    """At most ``max_points`` of a time-ordered (ts, value) series, keeping first and last.

    The points between are cut into equal slices and each slice keeps its highest value
    (the earliest, on ties): for queue length the peaks are what staffing is planned for,
    and averaging would hide them. Raises ``ValueError`` if ``max_points`` < 2.
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2 (the first and the last point)")
    if len(points) <= max_points:
        return list(points)
    inner = points[1:-1]
    slices = max_points - 2
    kept = [points[0]]
    for i in range(slices):
        chunk = inner[i * len(inner) // slices : (i + 1) * len(inner) // slices]
        kept.append(max(chunk, key=lambda point: point[1]))
    kept.append(points[-1])
    return kept
