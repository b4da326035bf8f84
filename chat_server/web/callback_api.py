"""The visitor's callback JSON API (for the widget, with CORS), the flows it shares with the
no-JS form, the per-address flood limiter, and ``add_callback_routes`` that wires it all.

No handler sets a cookie or logs anything about the visitor; answers are ``no-store`` (the
security middleware's default).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from aiohttp import web

from ..callback_settings import CallbackConfig, offered_days
from ..crypto import keyed_hash
from ..domain.callbacks import (
    DEFAULT_OPENING,
    OPENINGS,
    CallbackRequestIn,
    CallbackValidationError,
    FieldError,
    Window,
    next_window,
    validate_request,
)
from ..domain.flood import MAX_CHALLENGE_CHARS, MAX_SOLUTION_CHARS
from ..domain.ratelimit import Bucket, take
from ..store.callbacks import CallbackStore, CreatedRequest, DuplicateRequest, StoredRequest
from ..store.flood import ChallengeNeeded, FloodGate
from .appkeys import SERVICES
from .bodies import UnreadableBody, read_json_object

ADDRESS_KEY_ROTATE_S: Final = 3600
MAX_TRACKED_ADDRESSES: Final = 50_000
PREFLIGHT_MAX_AGE_S: Final = 600
DUPLICATE_ERROR: Final = FieldError(
    "phone",
    "duplicate",
    "Det finns redan en förfrågan för det här numret under samma tid. Använd koden du fick för "
    "att se eller avbryta den.",
    "There is already a request for this number at the same time. Use the code you were given "
    "to see or cancel it.",
)
# What a lookup by status code finds: the stored request (status) or True (cancelled).
_Found = TypeVar("_Found")


class RateLimited(Exception):
    """Too many attempts from this address, or from everyone together, this hour."""


# The no-JS form's wait during a flood: it cannot solve a proof of work (domain/flood.py).
FLOOD_RETRY_AFTER_S: Final = 30


class FloodWait(Exception):
    """A flood is on and this client cannot solve a challenge: wait and send again."""


class ChallengeRequired(Exception):
    """A flood is on: solve ``decision.challenge`` and send again (``decision.refused``
    names what was wrong with the solution sent, or is ``pow_required``)."""

    def __init__(self, decision: ChallengeNeeded) -> None:
        super().__init__(decision.refused)
        self.decision = decision


@dataclass(frozen=True, slots=True)
class Proof:
    """The proof of work a JSON request carried ("" when none)."""

    challenge: str = ""
    solution: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proof:
        def text(name: str, limit: int) -> str:
            value = data.get(name)
            return value[:limit] if isinstance(value, str) else ""

        return cls(
            text("challenge", MAX_CHALLENGE_CHARS + 1), text("solution", MAX_SOLUTION_CHARS + 1)
        )


class AddressLimiter:
    """Per-address flood limits kept in this process's memory only.

    The address is never stored: buckets are keyed by a keyed hash under a random key that
    lives in memory and is replaced every ADDRESS_KEY_ROTATE_S (all buckets go with it), so a
    hash links to nothing once its key is gone. Each instance limits on its own.
    """

    def __init__(self, per_hour: dict[str, int], clock_ms: Callable[[], int]) -> None:
        self._per_hour = per_hour
        self._clock_ms = clock_ms
        self._buckets: dict[str, Bucket] = {}
        self._key = secrets.token_bytes(32)
        self._key_born_ms = clock_ms()

    def allows(self, kind: str, address: str) -> bool:
        """Whether one more ``kind`` from ``address`` is allowed now (nothing is spent)."""
        return self._step(kind, address, spend=False)

    def charge(self, kind: str, address: str) -> bool:
        """Spend one ``kind`` for ``address``; False (and nothing spent) when over the limit."""
        return self._step(kind, address, spend=True)

    def _step(self, kind: str, address: str, *, spend: bool) -> bool:
        limit = self._per_hour.get(kind, 0)
        if limit <= 0:
            return True
        now_ms = self._clock_ms()
        if (
            now_ms - self._key_born_ms >= ADDRESS_KEY_ROTATE_S * 1000
            or len(self._buckets) >= MAX_TRACKED_ADDRESSES
        ):
            self._key, self._key_born_ms = secrets.token_bytes(32), now_ms
            self._buckets.clear()
        slot = keyed_hash(self._key, f"{kind}\0{address}")
        bucket = self._buckets.get(slot) or Bucket.full(now_ms, limit / 3600, limit)
        allowed, after = take(bucket, now_ms)
        if spend:
            self._buckets[slot] = after
        return allowed


@dataclass
class CallbackService:
    """What the callback handlers share, kept on the app under CALLBACKS."""

    store: CallbackStore
    config: CallbackConfig
    limiter: AddressLimiter
    allowed_origins: tuple[str, ...] = field(default=())
    flood: FloodGate | None = None


CALLBACKS = web.AppKey("callbacks", CallbackService)


def client_address(request: web.Request) -> str:
    """The peer address, used only as limiter input (behind nginx it is nginx's)."""
    return request.remote or ""


# --- flows shared by the JSON API and the no-JS form --------------------------------------


async def submit_request(
    service: CallbackService, raw: CallbackRequestIn, address: str, proof: Proof | None = None
) -> CreatedRequest:
    """Validate and store a request. Raises RateLimited, or CallbackValidationError listing
    every problem (a duplicate number is one more error on the phone field); in a flood,
    ChallengeRequired (JSON, ``proof`` given) or FloodWait (the no-JS form, no ``proof``).
    A valid request is checked against the flood only after validation, so a visitor's
    solved challenge is not spent on a form that still needs correcting."""
    store, config = service.store, service.config
    now = store.clock()
    if not service.limiter.charge("submit", address) or await store.service_limit_reached(
        "request", config.service_requests_per_h, now
    ):
        raise RateLimited()
    valid = validate_request(raw, config.rules, now)
    await _pass_flood_gate(service.flood, proof)
    try:
        created = await store.create(valid, now)
    except DuplicateRequest:
        raise CallbackValidationError([DUPLICATE_ERROR]) from None
    await store.count_service_use("request", now)
    if service.flood is not None:
        await service.flood.count_start()
    return created


async def _pass_flood_gate(gate: FloodGate | None, proof: Proof | None) -> None:
    if gate is None:
        return
    if proof is None:
        if await gate.required_bits():
            raise FloodWait()
        return
    decision = await gate.check(proof.challenge, proof.solution)
    if isinstance(decision, ChallengeNeeded):
        raise ChallengeRequired(decision)


async def _guard_guess(service: CallbackService, address: str, now: datetime) -> None:
    if not service.limiter.allows("guess", address) or await service.store.service_limit_reached(
        "guess", service.config.service_guesses_per_h, now
    ):
        raise RateLimited()


async def _count_miss(service: CallbackService, address: str, now: datetime) -> None:
    service.limiter.charge("guess", address)
    await service.store.count_service_use("guess", now)


async def find_by_code(service: CallbackService, code: str, address: str) -> StoredRequest | None:
    """The request behind ``code``, or None (a miss counts as a guess). Raises RateLimited."""
    now = service.store.clock()
    await _guard_guess(service, address, now)
    found = await service.store.find_by_code(code)
    if found is None:
        await _count_miss(service, address, now)
    return found


async def cancel_by_code(service: CallbackService, code: str, address: str) -> bool:
    """Delete the request behind ``code``; False (a counted guess) if none. Raises
    RateLimited."""
    now = service.store.clock()
    await _guard_guess(service, address, now)
    cancelled = await service.store.cancel_by_code(code, now)
    if not cancelled:
        await _count_miss(service, address, now)
    return cancelled


def visitor_status(stored: StoredRequest) -> str:
    """ "in_progress" while a counsellor holds it, "retry" after an unanswered call, else
    "pending"."""
    if stored.claimed_by:
        return "in_progress"
    return "retry" if stored.attempts else "pending"


def window_json(window: Window, service: CallbackService) -> dict[str, str]:
    zone = service.config.rules.zone
    return {
        "start": window.start.astimezone(zone).isoformat(),
        "end": window.end.astimezone(zone).isoformat(),
    }


# --- JSON handlers ------------------------------------------------------------------------


def _answer(request: web.Request, body: dict[str, Any], status: int = 200) -> web.Response:
    response = web.json_response(body, status=status)
    _allow_origin(request, response)
    return response


def _allow_origin(request: web.Request, response: web.StreamResponse) -> None:
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin and origin in request.app[CALLBACKS].allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"


async def preflight(request: web.Request) -> web.Response:
    response = web.Response(status=204)
    _allow_origin(request, response)
    if "Access-Control-Allow-Origin" in response.headers:
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    return response


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    """The JSON object posted, or the answer for a body that is not one: 400 invalid_json
    (not UTF-8 JSON, not an object, nested too deep, a lone surrogate in a string), 413
    too_large."""
    try:
        return await read_json_object(request)
    except UnreadableBody as error:
        return _answer(request, {"error": error.code}, error.status)


async def form_info(request: web.Request) -> web.Response:
    service = request.app[CALLBACKS]
    rules = service.config.rules
    days = offered_days(rules, service.store.clock())
    return _answer(
        request,
        {
            "hours": {
                str(day): [f"{start:%H:%M}", f"{end:%H:%M}"]
                for day, (start, end) in sorted(rules.callback_hours.items())
            },
            "max_days_ahead": rules.max_days_ahead,
            "max_windows": rules.max_windows,
            "min_window_min": rules.min_window_min,
            "max_message_chars": rules.max_message_chars,
            "max_alias_chars": rules.max_alias_chars,
            "openings": [
                {"code": o.code, "choice_sv": o.choice_sv, "choice_en": o.choice_en}
                for o in OPENINGS
            ],
            "default_opening": DEFAULT_OPENING,
            "tz": rules.tz,
            "days": [
                {"date": d.day.isoformat(), "start": f"{d.start:%H:%M}", "end": f"{d.end:%H:%M}"}
                for d in days
            ],
        },
    )


async def create_request(request: web.Request) -> web.Response:
    service = request.app[CALLBACKS]
    data = await _body(request)
    if isinstance(data, web.Response):
        return data
    try:
        created = await submit_request(
            service, CallbackRequestIn.from_json(data), client_address(request),
            Proof.from_json(data),
        )  # fmt: skip
    except RateLimited:
        return _answer(request, {"error": "rate_limited"}, 429)
    except ChallengeRequired as needed:
        challenge = needed.decision.challenge
        body = {
            "error": needed.decision.refused,
            "challenge": challenge.text,
            "bits": challenge.bits,
            "expires_ms": challenge.expires_ms,
        }
        return _answer(request, body, 428)
    except CallbackValidationError as error:
        return _answer(request, {"errors": [e._asdict() for e in error.errors]}, 422)
    body = {
        "code": created.code,
        "windows": [window_json(w, service) for w in created.windows],
        "expires_at": created.expires_at.astimezone(service.config.rules.zone).isoformat(),
    }
    return _answer(request, body, 201)


async def _act_on_code(
    request: web.Request,
    act: Callable[[CallbackService, str, str], Awaitable[_Found | None]],
    respond: Callable[[CallbackService, _Found], dict[str, Any]],
) -> web.Response:
    """What the status and cancel endpoints share: the body's ``code`` (a non-string counts
    as "") goes to ``act``, which guards and counts guesses. Answers 400 or 413 for a body
    that is not a JSON object (see ``_body``), 429 when guessing is rate limited, 404 when
    ``act`` finds nothing (None or False), else 200 with ``respond``'s body for what it
    found."""
    service = request.app[CALLBACKS]
    data = await _body(request)
    if isinstance(data, web.Response):
        return data
    code = data.get("code")
    try:
        found = await act(service, code if isinstance(code, str) else "", client_address(request))
    except RateLimited:
        return _answer(request, {"error": "rate_limited"}, 429)
    if not found:
        return _answer(request, {"error": "not_found"}, 404)
    return _answer(request, respond(service, found))


def _status_body(service: CallbackService, found: StoredRequest) -> dict[str, Any]:
    upcoming = next_window(found.windows, service.store.clock())
    return {
        "status": visitor_status(found),
        "next_window": window_json(upcoming, service) if upcoming else None,
        "windows": [window_json(w, service) for w in found.windows],
    }


async def request_status(request: web.Request) -> web.Response:
    return await _act_on_code(request, find_by_code, _status_body)


async def cancel_request(request: web.Request) -> web.Response:
    return await _act_on_code(request, cancel_by_code, lambda _service, _done: {"cancelled": True})


# --- wiring -------------------------------------------------------------------------------


def add_callback_routes(app: web.Application, config: CallbackConfig) -> None:
    """Register the callback API, the no-JS form, the work list and its console page, and
    build the store on the app's Services at start-up (under CALLBACKS). Call once per app,
    after ``create_app`` has put the Services on it."""
    from . import callback_form, callback_worklist  # they import this module's flows

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        limits = {
            "submit": config.per_address_submits_per_h,
            "guess": config.per_address_guesses_per_h,
        }
        app[CALLBACKS] = CallbackService(
            store=CallbackStore.from_services(services, config),
            config=config,
            limiter=AddressLimiter(limits, services.clock_ms),
            allowed_origins=services.settings.allowed_origins,
            flood=services.flood,
        )
        yield

    app.cleanup_ctx.append(lifecycle)
    api = [
        ("/api/callbacks/form", web.get, form_info),
        ("/api/callbacks", web.post, create_request),
        ("/api/callbacks/status", web.post, request_status),
        ("/api/callbacks/cancel", web.post, cancel_request),
    ]
    app.router.add_routes([method(path, handler) for path, method, handler in api])
    app.router.add_routes([web.options(path, preflight) for path, _, _ in api])
    app.router.add_routes(callback_form.routes())
    app.router.add_routes(callback_worklist.routes())
