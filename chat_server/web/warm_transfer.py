"""Warm transfer: the counsellor consults a colleague first, and the chat moves only if they
accept (docs/console.md, *Warm transfer*; the frames in docs/protocol.md §3).

``consult`` (holder) opens a consult (:mod:`..store.consults`); ``consult_answer``
(colleague) accepts, which moves the chat as ``transfer`` does in one script that re-checks
the consult, the holder and the colleague's room, or declines; ``consult_cancel`` (holder)
withdraws it. A sweep on every instance ends consults that lapsed
(``NEXUS_CONSULT_TIMEOUT_S``) or whose colleague is no longer available; closing is atomic,
so only one instance announces it. The chat's end takes its consult with it (end_chat.lua).

Frames for other consoles travel on ``<prefix>ch:consult`` (payload: ``users`` and
``frame``); a consult's staff-only note travels sealed and is opened by each instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from redis.exceptions import RedisError

from ..domain import console_protocol as cp
from ..domain import protocol as p
from ..domain.models import Presence
from ..domain.queue import queue_score
from ..services import Services
from ..store.consults import ConsultStore
from ..store.sealing import NOTE
from .appkeys import SERVICES

if TYPE_CHECKING:
    from .console_session import ConsoleSession

log = logging.getLogger(__name__)

CONSULT_SWEEP_S: Final = 1.0
"""How often each instance looks for lapsed consults and colleagues gone off duty."""


class WarmTransfer:
    """The consult frames and the sweep; one per server instance."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = ConsultStore(services.redis, services.keys)
        self._sweeper: asyncio.Task[None] | None = None
        self._delivering: asyncio.Task[None] | None = None  # the last frame being delivered

    def register(self) -> None:
        handlers = self.services.console_handlers
        handlers["consult"] = self.consult
        handlers["consult_answer"] = self.answer
        handlers["consult_cancel"] = self.cancel

    async def start(self) -> None:
        await self.services.hub.subscribe(self.store.channel, self._on_frame)
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="consult-sweep")

    async def stop(self) -> None:
        await self.services.hub.unsubscribe(self.store.channel, self._on_frame)
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    # --- the frames -------------------------------------------------------------------------

    async def consult(self, console: ConsoleSession, message: cp.Consult) -> None:
        s = self.services
        if message.chat_id not in console.feeds:
            raise p.ProtocolError(p.ErrorCode.NOT_YOUR_CHAT, "this chat is not yours")
        if message.to == console.username:
            raise p.ProtocolError(p.ErrorCode.INVALID_FIELD, "you cannot consult yourself")
        colleague = s.staff.get(message.to)
        if colleague is None or colleague.disabled:
            raise p.ProtocolError(p.ErrorCode.TARGET_UNAVAILABLE, "no such colleague on duty")
        note = message.note and await s.chats.seals.seal(message.chat_id, NOTE, message.note)
        await self.store.open(
            message.chat_id, holder=console.username, holder_name=console.account.shown_name,
            colleague=colleague.username, colleague_name=colleague.shown_name,
            colleague_capacity=colleague.capacity, reason=message.reason, sealed_note=note,
            now_ms=s.clock_ms(), timeout_s=s.settings.consult_timeout_s,
        )  # fmt: skip

    async def answer(self, console: ConsoleSession, message: cp.ConsultAnswer) -> None:
        chat_id = message.chat_id
        if not message.accept:
            if not await self.store.close(chat_id, result="declined", colleague_reason="answered",
                                          by_field="to", user=console.username):  # fmt: skip
                raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "no consult awaits your answer")
            return
        await self._accept(console, chat_id)

    async def _accept(self, console: ConsoleSession, chat_id: str) -> None:
        s = self.services
        pending = await self.store.get(chat_id)
        if pending is None or pending.colleague != console.username:
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "no consult awaits your answer")
        info = await s.chats.info(chat_id)
        if info is None:
            raise p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "the chat has ended")
        await s.routing.transfer(
            chat_id, holder=pending.holder, to=console.username,
            to_capacity=console.account.capacity, reason=pending.reason, now_ms=s.clock_ms(),
            queue_score=queue_score(info.enqueued_ms, info.urgent), warm=True,
        )  # fmt: skip
        await s.routing.publish_to_staff(console.username, {
            "kind": "assigned", "chat_id": chat_id, "from": pending.holder_name,
            "reason": pending.reason, "consult_note": pending.note})  # fmt: skip
        await s.routing.publish_to_staff(
            pending.holder, {"kind": "released", "chat_id": chat_id, "to": console.username}
        )
        await self.store.publish([pending.holder], {
            "type": "consult_result", "chat_id": chat_id, "result": "accepted",
            "to": console.username, "name": console.account.shown_name})  # fmt: skip
        await self.store.publish(
            [console.username], {"type": "consult_withdrawn", "chat_id": chat_id,
                                 "reason": "answered"}
        )  # fmt: skip

    async def cancel(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        if message.chat_id not in console.feeds:
            raise p.ProtocolError(p.ErrorCode.NOT_YOUR_CHAT, "this chat is not yours")
        if not await self.store.close(message.chat_id, result="cancelled",
                                      colleague_reason="cancelled", by_field="from",
                                      user=console.username):  # fmt: skip
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "no consult of this chat is pending")

    # --- the sweep --------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(CONSULT_SWEEP_S)
            try:
                await self.sweep()
            except RedisError:
                continue  # Redis is away: the next round tries again

    async def sweep(self) -> int:
        """End every consult that lapsed or whose colleague is no longer available (offline,
        paused, disabled); returns how many this call ended (the loop's step; tests call it)."""
        s = self.services
        now = s.clock_ms()
        ended = 0
        for chat_id, colleague, lapses_ms in await self.store.pending():
            if lapses_ms <= now:
                ended += await self.store.close(
                    chat_id, result="timeout", colleague_reason="timeout", lapsed_by_ms=now
                )
                continue
            account = s.staff.get(colleague) if colleague else None
            on_duty = account is not None and not account.disabled
            if on_duty and await s.presence.get(colleague) is Presence.AVAILABLE:
                continue
            ended += await self.store.close(chat_id, result="colleague_unavailable",
                                            colleague_reason="colleague_unavailable",
                                            by_field="to", user=colleague)  # fmt: skip
        return ended

    # --- delivery to the named consoles of this instance ------------------------------------

    def _on_frame(self, _channel: str, data: str) -> None:
        try:
            payload = json.loads(data)
            users = frozenset(str(u) for u in payload["users"])
            frame = dict(payload["frame"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed consult nudge")
            return
        if not any(c.username in users for c in self.services.consoles):
            return
        self._delivering = asyncio.get_running_loop().create_task(
            self._deliver(self._delivering, users, frame, payload.get("sealed_note") is True)
        )

    async def _deliver(
        self, before: asyncio.Task[None] | None, users: frozenset[str], frame: dict[str, Any],
        sealed_note: bool,
    ) -> None:  # fmt: skip
        """Send ``frame`` after the one before it (order kept), its note opened first."""
        if before is not None:
            with contextlib.suppress(Exception):
                await before
        if sealed_note and frame.get("note"):
            try:
                frame["note"] = await self.services.chats.seals.open(
                    str(frame["chat_id"]), NOTE, str(frame["note"])
                )
            except (RedisError, p.ProtocolError):
                log.warning("a consult's note could not be opened here")
                frame["note"] = ""
        encoded = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        for console in list(self.services.consoles):
            if console.username in users:
                console.peer.send(encoded)


# --- wiring ------------------------------------------------------------------------------

WARM_TRANSFER = web.AppKey("warm_transfer", WarmTransfer)


async def _warm_transfer_ctx(app: web.Application) -> AsyncIterator[None]:
    warm = app[WARM_TRANSFER]
    await warm.start()
    yield
    await warm.stop()


def add_warm_transfer(app: web.Application) -> WarmTransfer:
    """Plug the consult frames into ``app``'s services and run the sweep with the app."""
    if WARM_TRANSFER in app:
        return app[WARM_TRANSFER]
    warm = WarmTransfer(app[SERVICES])
    warm.register()
    app[WARM_TRANSFER] = warm
    app.cleanup_ctx.append(_warm_transfer_ctx)
    return warm
