"""Callback requests in Redis: encrypted fields, TTLs from the first write, atomic claims.

A request is a hash ``<prefix>cb:req:<id>`` whose phone number, alias and message are AES-GCM
tokens bound to their field and request id; a Redis dump shows none of them (the chosen opening,
a code from a fixed list, is kept plain beside the flags and goes with the hash). Around it, each
with a TTL: ``cb:code:<keyed hash of the status code>`` -> id, ``cb:num:<keyed hash of the
number>`` -> set of ids (duplicate check), ``cb:req:<id>:lock`` (a counsellor's claim), the
work-list index ``cb:index`` (sorted by next window start) and anonymous per-day counts. Every
change that touches several keys is one Lua script (``lua/callback_*.lua``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Final

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from ..callback_settings import CallbackConfig
from ..crypto import DecryptError, FieldCipher, keyed_hash, purpose_aad
from ..domain.callbacks import (
    DEFAULT_OPENING,
    STATUS_CODE_RANDOM_BYTES,
    Outcome,
    OutcomeDecision,
    ValidRequest,
    Window,
    WorklistItem,
    apply_outcome,
    expiry,
    new_status_code,
    normalise_status_code,
    ttl_seconds,
)
from ..services import Services
from .codec import as_str, str_dict

COUNTS_TTL_S: Final = 40 * 86400  # anonymous day counts, kept for the monthly report
SERVICE_LIMIT_WINDOW_S: Final = 3600
REQUEST_ID_BYTES: Final = 12
CODE_DRAWS: Final = 5  # a 40-bit code collides with a live one essentially never
ENCRYPTED_FIELDS: Final = ("phone", "alias", "message")
_SCRIPTS: Final = ("create", "claim", "finish", "cancel", "worklist")
# The plain fields callback_worklist.lua returns after the id, in its order.
WORKLIST_FIELDS: Final = (
    "windows",
    "attempts",
    "last_attempt_s",
    "language",
    "topic",
    "voicemail_ok",
    "say_nexus_ok",
    "opening",
)


class CallbackStoreError(Exception):
    """Base of the store's refusals; the message carries no visitor data."""


class DuplicateRequest(CallbackStoreError):
    """The number has a pending request whose windows overlap the new ones."""


class RequestGone(CallbackStoreError):
    """No such request: finished, cancelled, expired, or unreadable under the current key."""


class NotDue(CallbackStoreError):
    """None of the request's windows is open now; calling would not be safe."""


class ClaimTaken(CallbackStoreError):
    """Another counsellor holds the request."""


class NotLockHolder(CallbackStoreError):
    """The caller does not hold the request (never claimed it, or the lock expired)."""


@dataclass(frozen=True, slots=True)
class CallbackKeys:
    prefix: str = "nx:"

    def request(self, request_id: str) -> str:
        return f"{self.request_prefix}{request_id}"

    def lock(self, request_id: str) -> str:
        return f"{self.request_prefix}{request_id}:lock"  # callback_cancel.lua builds it too

    @property
    def request_prefix(self) -> str:
        return f"{self.prefix}cb:req:"

    @property
    def code_prefix(self) -> str:
        return f"{self.prefix}cb:code:"

    @property
    def number_prefix(self) -> str:
        return f"{self.prefix}cb:num:"

    @property
    def index(self) -> str:
        return f"{self.prefix}cb:index"

    def counts(self, day: str) -> str:
        return f"{self.prefix}cb:counts:{day}"

    def service_limit(self, kind: str, window_no: int) -> str:
        return f"{self.prefix}cb:limit:{kind}:{window_no}"


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A request's plain fields as the work list and the visitor's status page see them."""

    request_id: str
    windows: tuple[Window, ...]
    attempts: int
    last_attempt_at: datetime | None
    language: str
    topic: str
    voicemail_ok: bool
    say_nexus_ok: bool
    claimed_by: str
    opening: str = DEFAULT_OPENING

    def as_worklist_item(self) -> WorklistItem:
        return WorklistItem(self.request_id, self.windows, self.attempts, self.last_attempt_at)


@dataclass(frozen=True, slots=True)
class ClaimedRequest:
    """What only the claiming counsellor sees."""

    request: StoredRequest
    phone_e164: str
    alias: str
    message: str


@dataclass(frozen=True, slots=True)
class CreatedRequest:
    code: str
    windows: tuple[Window, ...]
    expires_at: datetime


class CallbackStore:
    """The only code that knows how callback requests sit in Redis. ``clock`` gives aware
    datetimes (the server's wall clock; tests pass their own)."""

    def __init__(
        self, redis: Redis, prefix: str, config: CallbackConfig, clock: Callable[[], datetime]
    ) -> None:
        self._redis = redis
        self.keys = CallbackKeys(prefix)
        self.config = config
        self.clock = clock
        self._cipher: FieldCipher = config.field_cipher()
        self._lookup_key = config.lookup_key()
        lua = resources.files("chat_server.store") / "lua"
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script((lua / f"callback_{name}.lua").read_text("utf-8"))
            for name in _SCRIPTS
        }

    @classmethod
    def from_services(cls, services: Services, config: CallbackConfig) -> CallbackStore:
        """A store on the app's Redis, prefix and clock."""

        def clock() -> datetime:
            return datetime.fromtimestamp(services.clock_ms() / 1000, UTC)

        return cls(services.redis, services.settings.redis_prefix, config, clock)

    # --- the visitor's side ---------------------------------------------------------------

    async def create(self, valid: ValidRequest, now: datetime) -> CreatedRequest:
        """Store ``valid``; returns the status code, shown to the visitor once and kept only as
        a keyed hash. Raises DuplicateRequest."""
        rules = self.config.rules
        ttl_s = max(1, ttl_seconds(valid, rules, now))
        number_hash = keyed_hash(self._lookup_key, f"phone:{valid.phone_e164}")
        windows_text = _windows_text(valid.windows)
        counts_key = self.keys.counts(self._day(now))
        for _ in range(CODE_DRAWS):
            request_id = secrets.token_hex(REQUEST_ID_BYTES)
            code = new_status_code(secrets.token_bytes(STATUS_CODE_RANDOM_BYTES))
            code_hash = self._code_hash(code)
            fields = {
                "phone": self._seal("phone", request_id, valid.phone_e164),
                "alias": self._seal("alias", request_id, valid.alias),
                "message": self._seal("message", request_id, valid.message),
                "windows": windows_text,
                "attempts": "0",
                "last_attempt_s": "0",
                "language": valid.language,
                "topic": valid.topic,
                "voicemail_ok": "1" if valid.voicemail_ok else "0",
                "say_nexus_ok": "1" if valid.say_nexus_ok else "0",
                "opening": valid.opening,
                "code_h": code_hash,
                "num_h": number_hash,
            }
            result = await self._scripts["create"](
                keys=[
                    self.keys.request(request_id),
                    self.keys.code_prefix + code_hash,
                    self.keys.number_prefix + number_hash,
                    self.keys.index,
                    counts_key,
                ],
                args=[
                    ttl_s,
                    request_id,
                    valid.windows[0].to_epoch_s()[0],
                    windows_text,
                    self.keys.request_prefix,
                    COUNTS_TTL_S,
                    *[item for pair in fields.items() for item in pair],
                ],
            )
            if result == "ok":
                return CreatedRequest(code, valid.windows, expiry(valid, rules))
            if result == "duplicate":
                raise DuplicateRequest("the number has an overlapping pending request")
        raise CallbackStoreError("could not draw a free status code")

    async def find_by_code(self, typed_code: str) -> StoredRequest | None:
        """The request behind a status code, or None (unknown, malformed, or gone)."""
        code = normalise_status_code(typed_code)
        if code is None:
            return None
        request_id = as_str(await self._redis.get(self.keys.code_prefix + self._code_hash(code)))
        if not request_id:
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.request(request_id))
            pipe.get(self.keys.lock(request_id))
            data, holder = await pipe.execute()
        fields = str_dict(data)
        return _stored(request_id, fields, as_str(holder)) if fields else None

    async def cancel_by_code(self, typed_code: str, now: datetime) -> bool:
        """Delete every key of the request behind the code; False if there is none."""
        code = normalise_status_code(typed_code)
        if code is None:
            return False
        result = await self._scripts["cancel"](
            keys=[
                self.keys.code_prefix + self._code_hash(code),
                self.keys.index,
                self.keys.counts(self._day(now)),
            ],
            args=[self.keys.request_prefix, self.keys.number_prefix, COUNTS_TTL_S],
        )
        return bool(result == "ok")

    # --- the counsellor's side ------------------------------------------------------------

    async def worklist(self, now: datetime) -> list[StoredRequest]:
        """Every live request (expired index entries are dropped and counted on the way)."""
        rows = await self._scripts["worklist"](
            keys=[self.keys.index, self.keys.counts(self._day(now))],
            args=[self.keys.request_prefix, COUNTS_TTL_S],
        )
        last = len(WORKLIST_FIELDS) + 1
        return [
            _stored(
                as_str(row[0]),
                dict(zip(WORKLIST_FIELDS, map(as_str, row[1:last]), strict=True)),
                row[last],
            )
            for row in rows
        ]

    async def claim(self, request_id: str, username: str, now: datetime) -> ClaimedRequest:
        """Lock the request for ``username`` and open its fields for them alone.

        Raises RequestGone, NotDue or ClaimTaken. The holder may claim again (renewing it).
        """
        reply = await self._scripts["claim"](
            keys=[self.keys.request(request_id), self.keys.lock(request_id)],
            args=[username, self.config.rules.lock_ttl_s * 1000, int(now.timestamp())],
        )
        status = as_str(reply[0])
        if status == "not_due":
            raise NotDue("no window is open now")
        if status == "taken":
            raise ClaimTaken("another counsellor holds this request")
        if status != "ok":
            raise RequestGone("no such request")
        fields = {as_str(k): as_str(v) for k, v in zip(reply[1::2], reply[2::2], strict=True)}
        try:
            opened = {name: self._open(name, request_id, fields) for name in ENCRYPTED_FIELDS}
        except DecryptError:
            raise RequestGone("the request does not open with the current key") from None
        return ClaimedRequest(
            _stored(request_id, fields, username),
            opened["phone"],
            opened["alias"],
            opened["message"],
        )

    async def record_outcome(
        self, request_id: str, username: str, outcome: Outcome, now: datetime
    ) -> OutcomeDecision:
        """Apply the rules of ``domain.callbacks.apply_outcome`` for the lock holder: a final
        outcome deletes every key at once. Raises RequestGone or NotLockHolder."""
        data = str_dict(await self._redis.hgetall(self.keys.request(request_id)))
        if not data:
            raise RequestGone("no such request")
        stored = _stored(request_id, data, "")
        decision = apply_outcome(stored.attempts, outcome, stored.windows, now, self.config.rules)
        later = decision.next_window
        await self._finish(
            request_id,
            username,
            now,
            mode="final" if decision.final else "retry",
            attempts=decision.attempts,
            score=later.to_epoch_s()[0] if later else 0,
            counter=decision.counted_as,
            # A retry is never in the window just tried, only in one that starts later.
            windows=tuple(w for w in stored.windows if later and w.start >= later.start),
        )
        return decision

    async def release(self, request_id: str, username: str, now: datetime) -> None:
        """Give the request back unchanged. Raises RequestGone or NotLockHolder."""
        await self._finish(request_id, username, now, mode="release", attempts=0, score=0)

    async def _finish(
        self,
        request_id: str,
        username: str,
        now: datetime,
        *,
        mode: str,
        attempts: int,
        score: int,
        counter: str = "",
        windows: tuple[Window, ...] = (),
    ) -> None:
        result = await self._scripts["finish"](
            keys=[
                self.keys.request(request_id),
                self.keys.lock(request_id),
                self.keys.index,
                self.keys.counts(self._day(now)),
            ],
            args=[
                username,
                mode,
                attempts,
                int(now.timestamp()),
                score,
                counter,
                COUNTS_TTL_S,
                request_id,
                self.keys.code_prefix,
                self.keys.number_prefix,
                _windows_text(windows),
            ],
        )
        if result == "gone":
            raise RequestGone("no such request")
        if result in ("not_holder", "conflict"):
            raise NotLockHolder("the request is not held by this counsellor")

    async def day_counts(self, now: datetime) -> dict[str, int]:
        """Today's anonymous counts (requested, completed, failed, retry, cancelled, expired)."""
        raw = str_dict(await self._redis.hgetall(self.keys.counts(self._day(now))))
        return {name: int(value) for name, value in raw.items()}

    # --- service-wide flood limits --------------------------------------------------------

    async def service_limit_reached(self, kind: str, limit: int, now: datetime) -> bool:
        """True when ``kind`` was counted ``limit`` times this hour on every instance together
        (0 means no limit)."""
        if limit <= 0:
            return False
        used = await self._redis.get(self.keys.service_limit(kind, self._limit_window(now)))
        return int(as_str(used) or 0) >= limit

    async def count_service_use(self, kind: str, now: datetime) -> None:
        key = self.keys.service_limit(kind, self._limit_window(now))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, SERVICE_LIMIT_WINDOW_S * 2)
            await pipe.execute()

    # --- helpers --------------------------------------------------------------------------

    def _seal(self, name: str, request_id: str, value: str) -> str:
        return self._cipher.encrypt(value, purpose_aad(f"callback:{name}", request_id))

    def _open(self, name: str, request_id: str, fields: Mapping[str, str]) -> str:
        return self._cipher.decrypt(fields[name], purpose_aad(f"callback:{name}", request_id))

    def _code_hash(self, code: str) -> str:
        return keyed_hash(self._lookup_key, f"code:{code}")

    def _day(self, now: datetime) -> str:
        return now.astimezone(self.config.rules.zone).date().isoformat()

    @staticmethod
    def _limit_window(now: datetime) -> int:
        return int(now.timestamp()) // SERVICE_LIMIT_WINDOW_S


def _windows_text(windows: tuple[Window, ...]) -> str:
    return ",".join("{}:{}".format(*window.to_epoch_s()) for window in windows)


def _stored(request_id: str, fields: Mapping[str, str], holder: object) -> StoredRequest:
    windows = tuple(
        Window.from_epoch_s(int(start), int(end))
        for start, _, end in (part.partition(":") for part in fields["windows"].split(","))
    )
    last_s = int(fields.get("last_attempt_s") or 0)
    return StoredRequest(
        request_id=request_id,
        windows=windows,
        attempts=int(fields.get("attempts") or 0),
        last_attempt_at=datetime.fromtimestamp(last_s, UTC) if last_s else None,
        language=fields.get("language", ""),
        topic=fields.get("topic", ""),
        voicemail_ok=fields.get("voicemail_ok") == "1",
        say_nexus_ok=fields.get("say_nexus_ok") == "1",
        claimed_by=as_str(holder),
        opening=fields.get("opening") or DEFAULT_OPENING,
    )
