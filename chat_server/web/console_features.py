"""Console features beyond chatting: private notes, ask-a-supervisor, raise hand, wellbeing.

Each is a console frame type plugged into ``Services.console_handlers``. Frames meant for
other consoles (a back-channel message, a raised hand, a break suggestion) go through one
pub/sub channel, ``<prefix>ch:console``, so they reach consoles on every instance; its payload
says who gets the frame (``supervisors``: every console of a supervisor or admin; ``users``:
every console of those usernames).

A watcher task per instance closes console sockets whose account was disabled or whose
password, role or second factor changed (the staff file's session epoch), and keeps the notes
and back-channel TTLs level with their chat's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from redis.exceptions import RedisError

from ..domain import console_protocol as cp
from ..domain import protocol as p
from ..domain.models import Presence, Role
from ..services import Services
from ..store.login_throttle import LoginThrottle
from ..store.notes import NotesStore
from ..store.wellbeing import WellbeingStore
from . import auth_routes, console_api
from .appkeys import SERVICES
from .auth_routes import LOGIN_THROTTLE, session_is_current
from .console_api import CONSOLE_SETTINGS, STANDARD_TEXTS
from .console_settings import ConsoleSettings, break_due, load_standard_texts

if TYPE_CHECKING:
    from .console_session import ConsoleSession

log = logging.getLogger(__name__)

WATCH_INTERVAL_S: Final = 2.0
RENEW_EVERY_N_WATCHES: Final = 10
PRIVILEGED_ROLES: Final = frozenset({Role.SUPERVISOR, Role.ADMIN})


def is_supervisor(console: ConsoleSession) -> bool:
    return console.account.role in PRIVILEGED_ROLES


class ConsoleFeatures:
    """The state behind the feature frames; one per server instance."""

    def __init__(self, services: Services, settings: ConsoleSettings) -> None:
        self.services = services
        self.settings = settings
        prefix = services.keys.prefix
        self.notes = NotesStore(services.redis, prefix, services.chats.seals)
        self.wellbeing = WellbeingStore(services.redis, prefix, settings.break_idle_reset_s)
        self._watcher: asyncio.Task[None] | None = None
        self._opening: asyncio.Task[None] | None = None  # the last back-channel being opened

    def register(self) -> None:
        handlers = self.services.console_handlers
        handlers["note"] = self.save_note
        handlers["note_get"] = self.get_note
        handlers["backchannel"] = self.post_backchannel
        handlers["backchannel_get"] = self.get_backchannel
        handlers["raise_hand"] = self.raise_hand
        handlers["hand_answer"] = self.answer_hand
        handlers["chat_done"] = self.chat_done
        handlers["wellbeing"] = self.check_wellbeing
        handlers["break_over"] = self.break_over

    # --- lifecycle (the app's cleanup context starts and stops it) -----------------------

    async def start(self) -> None:
        await self.services.hub.subscribe(self.notes.channel, self._on_console_nudge)
        self._watcher = asyncio.create_task(self._watch(), name="console-features-watch")

    async def stop(self) -> None:
        await self.services.hub.unsubscribe(self.notes.channel, self._on_console_nudge)
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            rounds += 1
            try:
                self.close_stale_consoles()
                if rounds % RENEW_EVERY_N_WATCHES == 0:
                    held = {c for console in self.services.consoles for c in console.feeds}
                    await self.notes.renew(sorted(held))
            except RedisError:
                continue  # Redis is away: the next round tries again
            except (OSError, ValueError):
                log.exception("the console watcher could not read the staff file")

    def close_stale_consoles(self) -> int:
        """Close (4401) every local console whose account is gone, disabled or changed since
        its session began; returns how many."""
        closed = 0
        for console in list(self.services.consoles):
            if console.peer.close_after:
                continue
            account = self.services.staff.get(console.username)
            if account is None or not session_is_current(self.services, account, console.session):
                console.peer.close_soon(p.CloseCode.UNAUTHORIZED, "signed out")
                closed += 1
        return closed

    # --- delivery to other consoles, on every instance -----------------------------------

    async def publish(
        self, frame: dict[str, Any], *, supervisors: bool = False, users: Iterable[str] = ()
    ) -> None:
        payload = {"supervisors": supervisors, "users": list(users), "frame": frame}
        await self.services.redis.publish(self.notes.channel, json.dumps(payload))

    def _on_console_nudge(self, _channel: str, data: str) -> None:
        try:
            payload = json.loads(data)
            frame = payload["frame"]
            if frame.get("type") == "backchannel":  # sealed: opened in order, then sent
                self._opening = asyncio.get_running_loop().create_task(
                    self._open_backchannel(self._opening, payload, frame)
                )
                return
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignored a malformed console nudge")
            return
        self._deliver(payload, frame)

    async def _open_backchannel(
        self, before: asyncio.Task[None] | None, payload: dict[str, Any], frame: dict[str, Any]
    ) -> None:
        """Open a published back-channel message after the one before it (order kept)."""
        if before is not None:
            with contextlib.suppress(Exception):
                await before
        try:
            text = await self.notes.open_staff(str(frame["chat_id"]), str(frame["text"]))
        except (RedisError, p.ProtocolError, KeyError):
            log.warning("a back-channel message could not be opened here")
            return
        self._deliver(payload, {**frame, "text": text})

    def _deliver(self, payload: dict[str, Any], frame_data: dict[str, Any]) -> None:
        frame = json.dumps(frame_data, ensure_ascii=False, separators=(",", ":"))
        users = payload.get("users")
        to_users = set(users) if isinstance(users, list) else set()
        to_supervisors = payload.get("supervisors") is True
        for console in list(self.services.consoles):
            if console.username in to_users or (to_supervisors and is_supervisor(console)):
                console.peer.send(frame)

    # --- private notes --------------------------------------------------------------------

    async def save_note(self, console: ConsoleSession, message: cp.ChatText) -> None:
        chat_id, text = message.chat_id, message.text
        await self.notes.save_note(chat_id, console.username, text)
        console.peer.send(p.encode("note", chat_id=chat_id, text=text, saved=True))

    async def get_note(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        chat_id = message.chat_id
        text = await self.notes.note(chat_id, console.username)
        console.peer.send(p.encode("note", chat_id=chat_id, text=text, saved=False))

    # --- ask a supervisor -----------------------------------------------------------------

    async def post_backchannel(self, console: ConsoleSession, message: cp.ChatText) -> None:
        await self.notes.post_staff(
            message.chat_id,
            username=console.username,
            privileged=is_supervisor(console),
            name=console.account.shown_name,
            role=console.account.role.value,
            text=message.text,
            now_ms=self.services.clock_ms(),
        )

    async def get_backchannel(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        chat_id = message.chat_id
        alias, entries = await self.notes.staff_history(
            chat_id, username=console.username, privileged=is_supervisor(console)
        )
        console.peer.send(
            p.encode(
                "backchannel_history",
                chat_id=chat_id,
                alias=alias,
                entries=[e.as_frame_fields() for e in entries],
            )
        )

    # --- raise hand -------------------------------------------------------------------------

    async def raise_hand(self, console: ConsoleSession, message: cp.RaiseHand) -> None:
        chat_id = message.chat_id
        alias = ""
        if chat_id:
            info = await self.services.chats.info(chat_id)
            if info is None:
                raise p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "the chat has ended")
            if info.counsellor != console.username:
                raise p.ProtocolError(p.ErrorCode.NOT_YOUR_CHAT, "this chat is not yours")
            alias = info.alias
        now = self.services.clock_ms()
        hand = {
            "type": "hand_raised",
            "user": console.username,
            "name": console.account.shown_name,
            "chat_id": chat_id,
            "alias": alias,
            "ts": now,
        }
        await self.publish(hand, supervisors=True)
        console.peer.send(p.encode("hand_sent", chat_id=chat_id, ts=now))

    async def answer_hand(self, console: ConsoleSession, message: cp.AnswerHand) -> None:
        if not is_supervisor(console):
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "only supervisors answer hands")
        user = message.user
        answer = {
            "type": "hand_answered",
            "user": user,
            "by": console.username,
            "name": console.account.shown_name,
        }
        await self.publish(answer, supervisors=True, users=[user])

    # --- wellbeing ------------------------------------------------------------------------

    async def chat_done(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        await self._check(console, message.chat_id)

    async def check_wellbeing(self, console: ConsoleSession, _message: cp.Bare) -> None:
        await self._check(console, "")

    async def _check(self, console: ConsoleSession, finished_chat: str) -> None:
        now = self.services.clock_ms()
        stretch = await self.wellbeing.check_in(console.username, now, finished_chat)
        reason = break_due(stretch, now, self.settings)
        if reason is None or stretch.suggested:
            return
        if not await self.wellbeing.mark_suggested(console.username):
            return  # another console of theirs got there first
        await self.services.presence.set(console.username, Presence.PAUSED, now)
        suggestion = {
            "type": "break_suggested",
            "reason": reason,
            "chats": stretch.chats_done,
            "minutes": (now - stretch.since_ms) // 60_000,
        }
        await self.publish(suggestion, users=[console.username])
        await self.publish({"type": "presence", "presence": "paused"}, users=[console.username])

    async def break_over(self, console: ConsoleSession, _message: cp.Bare) -> None:
        now = self.services.clock_ms()
        await self.wellbeing.end_stretch(console.username)
        await self.services.presence.set(console.username, Presence.AVAILABLE, now)
        await self.publish({"type": "presence", "presence": "available"}, users=[console.username])


# --- wiring ------------------------------------------------------------------------------

FEATURES = web.AppKey("console_features", ConsoleFeatures)


def register_console_features(
    services: Services, settings: ConsoleSettings | None = None
) -> ConsoleFeatures:
    """Plug the feature frames into ``services.console_handlers``; returns their state."""
    features = ConsoleFeatures(services, settings or ConsoleSettings())
    features.register()
    return features


async def _features_ctx(app: web.Application) -> AsyncIterator[None]:
    features = app[FEATURES]
    await features.start()
    yield
    await features.stop()


def add_console_routes(
    app: web.Application,
    features: ConsoleFeatures | None = None,
    settings: ConsoleSettings | None = None,
) -> None:
    """Add the console API routes, the login throttle and the features' lifecycle to ``app``
    (registering the feature frames too unless ``features`` is given). Call once, after
    ``app[SERVICES]`` is set; a second call does nothing. Raises ConsoleSettingsError if the
    standard texts file is unusable."""
    if FEATURES in app:
        return
    services = app[SERVICES]
    if features is None:
        features = register_console_features(services, settings)
    chosen = features.settings
    app[FEATURES] = features
    app[CONSOLE_SETTINGS] = chosen
    app[STANDARD_TEXTS] = load_standard_texts(chosen.standard_texts_path, chosen.nexus_phone)
    app[LOGIN_THROTTLE] = LoginThrottle(
        services.redis, services.keys.prefix, chosen.throttle, chosen.login_hash_key
    )
    app.cleanup_ctx.append(_features_ctx)
    app.router.add_routes(
        [
            web.get("/console/api/me", console_api.me),
            web.get("/console/api/standard-texts", console_api.standard_texts),
            web.get("/console/api/staff", console_api.staff_list),
            web.post("/console/logout-everywhere", auth_routes.logout_everywhere),
        ]
    )
