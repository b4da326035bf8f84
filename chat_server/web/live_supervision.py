"""Live supervision in the duty console: a supervisor monitors, whispers and joins.

A supervisor's console (role supervisor or admin) asks for the active chats
(``chats_active``), opens one read-only (``monitor``: ``monitor_opened``, then the chat's
history and live events as a follower), whispers in its back-channel (the ``backchannel``
frame, allowed while monitoring: ``store/notes.py``), joins the conversation visibly to the
visitor (``join``: a stored ``supervisor_joined`` event, then ``message`` frames as sender
``supervisor``) and leaves it (``leave``), and stops (``monitor_stop``). Monitoring ends with
the chat and with the supervisor's console.

The counsellor always sees who is monitoring: every change publishes a ``monitors`` frame to
the chat's counsellor and its monitors on every instance (the console channel of
:mod:`.console_features`), and a counsellor's console gets it whenever it opens the chat.
The state is the chat's monitors hash (:mod:`..store.monitors`), deleted with the chat.
Starting and ending to monitor and joining are audited (docs/audit.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from redis.exceptions import RedisError

from ..audit import AuditLog
from ..domain import console_protocol as cp
from ..domain import protocol as p
from ..domain.audit import AuditKind
from ..domain.models import ChatEvent, Sender
from ..domain.supervision import (
    JOINED_EVENT,
    LEFT_EVENT,
    Monitor,
    check_may_supervise,
    monitors_frame_fields,
)
from ..services import Services
from ..store.monitors import MonitorStore
from .appkeys import SERVICES
from .audit_trail import audit_log
from .console_features import FEATURES, ConsoleFeatures
from .console_session import render_for_console
from .feed import ChatFeed

if TYPE_CHECKING:
    from .console_session import ConsoleSession

log = logging.getLogger(__name__)


def render_for_monitor(chat_id: str, event: ChatEvent) -> str | None:
    """A monitoring console's frame for one chat event: what the counsellor's console gets,
    with no outcome to give, and the client id of a joined supervisor's own message."""
    if event.kind == "msg" and event.sender is Sender.SUPERVISOR and event.extra.get("cid"):
        return p.encode("message", chat_id=chat_id, seq=event.seq, sender=event.sender.value,
                        text=event.text, ts=event.ts_ms, client_id=event.extra["cid"])  # fmt: skip
    return render_for_console(chat_id, event, follower="")


@dataclass
class Monitoring:
    """One console's monitoring of one chat."""

    feature: LiveSupervision
    feed: ChatFeed
    alias: str
    counsellor: str
    joined: bool = False

    async def send_text(self, console: ConsoleSession, message: p.SendText) -> None:
        await self.feature.send_text(console, self, message)


class LiveSupervision:
    """The live supervision frames of one server instance."""

    def __init__(self, services: Services, features: ConsoleFeatures, audit: AuditLog | None):
        self.services = services
        self.features = features
        self.audit = audit
        self.store = MonitorStore(services.redis, services.keys.prefix)
        self._tasks: set[asyncio.Task[None]] = set()

    def _soon(self, step: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def register(self) -> None:
        handlers = self.services.console_handlers
        handlers["chats_active"] = self.chats_active
        handlers["monitor"] = self.monitor
        handlers["monitor_stop"] = self.monitor_stop
        handlers["join"] = self.join
        handlers["leave"] = self.leave
        self.services.follow_hooks.append(self.show_monitors)
        self.services.console_closed_hooks.append(self.console_closed)

    async def start(self) -> None:
        await self.services.hub.subscribe(self.store.channel, self._on_stopped)

    async def stop(self) -> None:
        await self.services.hub.unsubscribe(self.store.channel, self._on_stopped)

    # --- frames ----------------------------------------------------------------------------

    async def chats_active(self, console: ConsoleSession, _message: cp.Bare) -> None:
        """``chats_active``: every answered chat, for a supervisor to pick one to monitor."""
        check_may_supervise(console.account.role)
        staff = {a.username: a for a in self.services.staff.all() if not a.disabled}
        rows = await self.store.active_chats(sorted(staff))
        console.peer.send(p.encode("chats_active", chats=[
            {"chat_id": c.chat_id, "alias": c.alias, "counsellor": c.counsellor,
             "name": staff[c.counsellor].shown_name, "topic": c.topic, "language": c.language,
             "answered_ms": c.answered_ms, "monitors": c.monitors,
             "monitoring": c.chat_id in console.monitoring}
            for c in sorted(rows, key=lambda c: c.answered_ms)
        ]))  # fmt: skip

    async def monitor(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        """``monitor``: answers ``monitor_opened``; the chat's history and live events follow."""
        check_may_supervise(console.account.role)
        chat_id, user = message.chat_id, console.username
        if chat_id in console.monitoring:
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "you monitor this chat already")
        me = Monitor(user, console.account.shown_name, since_ms=self.services.clock_ms())
        started = await self.store.start(chat_id, me)
        joined = any(m.user == user and m.joined for m in started.monitors)
        holder = self.services.staff.get(started.counsellor)
        console.peer.send(p.encode(
            "monitor_opened", chat_id=chat_id, alias=started.alias, counsellor=started.counsellor,
            name=holder.shown_name if holder else started.counsellor, topic=started.topic,
            language=started.language, answered_ms=started.answered_ms, joined=joined,
        ))  # fmt: skip
        s = self.services
        feed = ChatFeed(chat_id, s.keys.chat_channel(chat_id), peer=console.peer, store=s.chats,
                        hub=s.hub, render=render_for_monitor,
                        on_end=lambda: self._chat_ended(console, chat_id))  # fmt: skip
        console.monitoring[chat_id] = Monitoring(self, feed, started.alias, started.counsellor,
                                                 joined)  # fmt: skip
        await feed.start(replay=True)
        if started.fresh:
            await self._record(AuditKind.MONITOR_START, user, started.alias, started.counsellor)
        if await s.chats.info(chat_id) is None:  # it ended before the feed listened
            self._chat_ended(console, chat_id)
            return
        await self._announce(chat_id, started.counsellor, started.monitors, user)

    async def monitor_stop(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        """``monitor_stop``: answers ``monitor_stopped`` (reason ``stopped``)."""
        watching = self._watching(console, message.chat_id)
        await self._end(console, message.chat_id, watching)
        console.peer.send(p.encode("monitor_stopped", chat_id=message.chat_id, reason="stopped"))

    async def join(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        """``join``: the visitor is told a supervisor joined; the answer is ``monitors``."""
        await self._set_joined(console, message.chat_id, True)

    async def leave(self, console: ConsoleSession, message: cp.ChatRequest) -> None:
        """``leave``: back to monitoring only; the visitor is told, calmly."""
        await self._set_joined(console, message.chat_id, False)

    async def send_text(
        self, console: ConsoleSession, watching: Monitoring, message: p.SendText
    ) -> None:
        """A ``message`` from a supervisor who monitors the chat: sent as ``supervisor`` once
        they joined, else refused like any message to a chat one does not hold."""
        if not watching.joined:
            raise p.ProtocolError(
                p.ErrorCode.NOT_YOUR_CHAT, "join the conversation first"
            ).for_client_message(message.client_id)
        try:
            await self.services.chats.post(message.chat_id, sender=Sender.SUPERVISOR,
                                           text=message.text, now_ms=self.services.clock_ms(),
                                           client_id=message.client_id)  # fmt: skip
        except p.ProtocolError as error:
            raise error.for_client_message(message.client_id) from None
        self.services.metrics.messages_relayed.inc()  # the echo through the feed is the ack

    # --- hooks -----------------------------------------------------------------------------

    async def show_monitors(self, console: ConsoleSession, chat_id: str) -> None:
        """A counsellor's console opened a chat: tell it who is monitoring, if anyone. A
        supervisor who monitored it (and now holds it: a transfer) stops monitoring."""
        watching = console.monitoring.get(chat_id)
        if watching is not None:
            await self._end(console, chat_id, watching)
            console.peer.send(p.encode("monitor_stopped", chat_id=chat_id, reason="stopped"))
        monitors = await self.store.monitors(chat_id)
        if monitors:
            console.peer.send(p.encode("monitors", **monitors_frame_fields(chat_id, monitors)))

    async def console_closed(self, console: ConsoleSession) -> None:
        """A supervisor's console closed: their monitoring of every chat ends."""
        for chat_id, watching in list(console.monitoring.items()):
            try:
                await self._end(console, chat_id, watching)
            except (RedisError, OSError):
                log.warning("a closed console's monitoring could not end; it ends with the chat")

    # --- the rest --------------------------------------------------------------------------

    def _watching(self, console: ConsoleSession, chat_id: str) -> Monitoring:
        check_may_supervise(console.account.role)
        watching = console.monitoring.get(chat_id)
        if watching is None:
            raise p.ProtocolError(p.ErrorCode.NOT_MONITORING, "you do not monitor this chat")
        return watching

    async def _set_joined(self, console: ConsoleSession, chat_id: str, joined: bool) -> None:
        watching = self._watching(console, chat_id)
        was, counsellor, monitors = await self.store.set_joined(chat_id, console.username, joined)
        if was == joined and not joined:
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "you have not joined this chat")
        watching.joined = joined
        if was != joined:
            now = self.services.clock_ms()
            kind = JOINED_EVENT if joined else LEFT_EVENT
            await self.services.chats.post(chat_id, sender=Sender.SYSTEM, text="", now_ms=now,
                                           kind=kind)  # fmt: skip
            if joined:
                await self._record(AuditKind.JOIN, console.username, watching.alias, counsellor)
        await self._announce(chat_id, counsellor, monitors, console.username)

    async def _end(self, console: ConsoleSession, chat_id: str, watching: Monitoring) -> None:
        """Stop following the chat here, take the supervisor off its monitors (a visible
        leave first, if they had joined) and tell everyone."""
        console.monitoring.pop(chat_id, None)
        await watching.feed.stop()
        entry, counsellor, left = await self.store.stop(chat_id, console.username)
        if entry is not None and entry.joined and counsellor:
            with contextlib.suppress(p.ProtocolError):  # the chat ended meanwhile
                await self.services.chats.post(chat_id, sender=Sender.SYSTEM, text="",
                                               now_ms=self.services.clock_ms(),
                                               kind=LEFT_EVENT)  # fmt: skip
        if entry is not None:
            await self.services.redis.publish(
                self.store.channel, json.dumps({"user": console.username, "chat_id": chat_id})
            )
            await self._record(AuditKind.MONITOR_END, console.username, watching.alias,
                               counsellor or watching.counsellor)  # fmt: skip
        if counsellor:
            await self._announce(chat_id, counsellor, left, console.username)

    def _chat_ended(self, console: ConsoleSession, chat_id: str) -> None:
        """The monitored chat ended (its 'ended' frame is queued): monitoring ends with it."""
        watching = console.monitoring.pop(chat_id, None)
        if watching is None:
            return
        console.peer.send(p.encode("monitor_stopped", chat_id=chat_id, reason="chat_ended"))
        self._soon(watching.feed.stop())
        self._soon(self._record(AuditKind.MONITOR_END, console.username, watching.alias,
                                watching.counsellor))  # fmt: skip

    def _on_stopped(self, _channel: str, data: str) -> None:
        """A supervisor stopped monitoring a chat (on any instance): their other consoles
        here stop too, so nobody reads a chat without the counsellor seeing it."""
        try:
            stopped = json.loads(data)
            user, chat_id = str(stopped["user"]), str(stopped["chat_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed monitoring nudge")
            return
        for console in list(self.services.consoles):
            watching = console.monitoring.get(chat_id) if console.username == user else None
            if watching is not None:
                console.monitoring.pop(chat_id, None)
                self._soon(watching.feed.stop())
                console.peer.send(p.encode("monitor_stopped", chat_id=chat_id, reason="stopped"))

    async def _announce(
        self, chat_id: str, counsellor: str, monitors: list[Monitor], changed_by: str
    ) -> None:
        """``monitors`` to the chat's counsellor and its monitors, on every instance."""
        users = {counsellor, changed_by, *(m.user for m in monitors)} - {""}
        frame = {"type": "monitors", **monitors_frame_fields(chat_id, monitors)}
        await self.features.publish(frame, users=sorted(users))

    async def _record(self, kind: AuditKind, user: str, alias: str, counsellor: str) -> None:
        if self.audit is not None:
            await self.audit.arecord(kind, user, alias=alias, target=counsellor)


# --- wiring ------------------------------------------------------------------------------

LIVE_SUPERVISION = web.AppKey("live_supervision", LiveSupervision)


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    feature = app[LIVE_SUPERVISION]
    await feature.start()
    yield
    await feature.stop()


def add_live_supervision(app: web.Application) -> LiveSupervision:
    """Plug live supervision into the console (after ``add_console_routes`` and
    ``add_audit_routes``); a second call returns the first one's."""
    if LIVE_SUPERVISION in app:
        return app[LIVE_SUPERVISION]
    feature = LiveSupervision(app[SERVICES], app[FEATURES], audit_log(app))
    feature.register()
    app[LIVE_SUPERVISION] = feature
    app.cleanup_ctx.append(_ctx)
    return feature
