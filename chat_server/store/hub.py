"""One pub/sub connection per server instance, fanning nudges out to local listeners.

Pub/sub is only a nudge: a listener that may have missed one is told to resync and reads the
chat's stream again. The hub notices a lost connection at once when Redis goes away (the socket
closes) and within PROBE_INTERVAL_S + PROBE_TIMEOUT_S when Redis hangs or the network drops
packets (its own PINGs on the pub/sub connection go unanswered). It then reports
``connected = False``, reconnects with capped backoff, subscribes every channel anew, waits until
Redis has confirmed the subscriptions and only then calls the resync hooks, so nothing published
after a resync can be missed. The hub never gives up and never spins.

Every chat message passes through here, so the read loop is lean: it reads the connection
directly, without a timer per read and without redis-py's per-read retry and health-check
wrappers (which would also reconnect and resubscribe silently, losing what was published
meanwhile). A prober task beside it sends the PINGs and, when one goes unanswered, cuts the
connection, which ends the blocked read.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import str_if_bytes

from .deadlines import cut_off

log = logging.getLogger(__name__)

Listener = Callable[[str, str], None]
"""Called with (channel, data) on the event loop; must not block."""

PROBE_TICK_S = 0.25  # the prober checks the probe's deadline this often
PROBE_INTERVAL_S = 1.0  # the hub PINGs Redis over the pub/sub connection this often
PROBE_TIMEOUT_S = 1.0  # an answer later than this means the connection is dead
CONFIRM_TIMEOUT_S = 1.0  # longest wait for Redis to confirm a subscription
RECONNECT_BACKOFF_S = (0.1, 0.2, 0.5, 1.0)  # then every second: cheap, and quick to recover
PROBE_PING_DATA = "nexus-hub-probe"
CONFIRM_PING_PREFIX = "nexus-hub-confirm-"

# Any error on the pub/sub connection means: start over on a fresh one.
_LOST = (RedisError, OSError)


class Hub:
    def __init__(self, redis: Redis, base_channels: tuple[str, ...] = ()) -> None:
        """``base_channels`` stay subscribed for the hub's whole life; at least one is needed
        (the probes and confirmations ride on a subscribed connection)."""
        if not base_channels:
            raise ValueError("the hub needs at least one base channel")
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._listeners: dict[str, set[Listener]] = {}
        self._base_channels = base_channels
        self._resync_hooks: set[Callable[[], None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._tokens = itertools.count()
        self._probe_sent_at: float | None = None
        self._last_probe_at = 0.0
        self._failures = 0
        self._renewed = False
        self._cut_because: str | None = None
        self._stopping = False
        self.connected = False
        self.on_health_change: Callable[[bool], None] | None = None

    async def start(self) -> None:
        """Subscribe the base channels and start reading. If Redis cannot be reached now, the
        hub starts disconnected and keeps trying in the background."""
        for channel in self._base_channels:
            self._listeners.setdefault(channel, set())
        try:
            await self._open()
            self._set_connected(True)
        except _LOST as error:
            log.warning("Redis pub/sub unavailable at start (%s); retrying", type(error).__name__)
        self._task = asyncio.create_task(self._run(), name="hub-reader")

    async def stop(self) -> None:
        """Stop reading and close the pub/sub connection; returns once the reader is gone."""
        self._stopping = True
        if self._task:
            # A cancel that lands exactly when a read times out can be swallowed inside the
            # Redis client; the flag ends the reader's loops then, and the cancel is repeated.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=PROBE_TICK_S)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_pubsub()

    def add_resync_hook(self, hook: Callable[[], None]) -> None:
        self._resync_hooks.add(hook)

    def remove_resync_hook(self, hook: Callable[[], None]) -> None:
        self._resync_hooks.discard(hook)

    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Add ``listener`` to ``channel``. Returns once Redis has confirmed the subscription
        (or after CONFIRM_TIMEOUT_S), so a read of stored history that follows cannot miss a
        nudge. While disconnected it returns at once; the reconnect subscribes it."""
        listeners = self._listeners.setdefault(channel, set())
        first = not listeners and channel not in self._base_channels
        listeners.add(listener)
        pubsub = self._pubsub
        if not self.connected or pubsub is None:
            return
        # A failure here is healed by the reader's reconnect, which resubscribes everything.
        with contextlib.suppress(*_LOST):
            if first:
                await pubsub.subscribe(channel)
            await self._await_confirmation(pubsub)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners and channel not in self._base_channels:
            del self._listeners[channel]
            pubsub = self._pubsub
            if self.connected and pubsub is not None:
                with contextlib.suppress(*_LOST):
                    await pubsub.unsubscribe(channel)

    # --- connection ----------------------------------------------------------------------

    async def _open(self) -> None:
        """A fresh pub/sub connection with every channel subscribed and confirmed."""
        await self._close_pubsub()
        # Our own push handler: redis-py's default one formats every message (text included)
        # for a debug log line, which costs time and would leak chat text at DEBUG level.
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True, push_handler_func=_as_is)
        self._pubsub = pubsub
        self._renewed = False
        subscribed: set[str] = set()
        # Listeners may come and go while this runs (subscribe() does nothing while we are
        # disconnected): repeat until the connection carries exactly the channels wanted now.
        while missing := set(self._listeners) - subscribed:
            await pubsub.subscribe(*missing)
            if not subscribed:
                connection = _connection_of(pubsub)
                if connection is not None:
                    # redis-py may reconnect this connection by itself inside a call and
                    # resubscribe silently, losing what was published meanwhile: hear about it.
                    connection.register_connect_callback(  # type: ignore[no-untyped-call]
                        self._on_connection_renewed
                    )
            subscribed |= missing
            await self._confirm_inline(pubsub)
        if unwanted := subscribed - set(self._listeners):
            await pubsub.unsubscribe(*unwanted)

    async def _confirm_inline(self, pubsub: PubSub) -> None:
        """Wait (reading the connection ourselves) until Redis has handled everything sent
        on it so far; messages that arrive meanwhile are dispatched as usual."""
        token = self._next_token()
        await pubsub.ping(token)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONFIRM_TIMEOUT_S
        while (remaining := deadline - loop.time()) > 0:
            message = await _next_message(pubsub, remaining)
            if message and message.get("type") == "pong" and message.get("data") == token:
                return
            if message:
                self._handle(message)
        raise RedisTimeoutError("Redis did not confirm the subscriptions")

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        connection = _connection_of(pubsub)
        if connection is not None:
            connection.deregister_connect_callback(  # type: ignore[no-untyped-call]
                self._on_connection_renewed
            )
        with contextlib.suppress(Exception):
            await pubsub.aclose()

    def _on_connection_renewed(self, connection: AbstractConnection) -> None:
        if self._pubsub is not None and connection is _connection_of(self._pubsub):
            self._renewed = True

    async def _await_confirmation(self, pubsub: PubSub) -> None:
        token = self._next_token()
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations[token] = confirmed
        try:
            await pubsub.ping(token)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(confirmed, CONFIRM_TIMEOUT_S)
        finally:
            self._confirmations.pop(token, None)

    def _next_token(self) -> str:
        return f"{CONFIRM_PING_PREFIX}{next(self._tokens)}"

    # --- reading -------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if not self.connected:
                    await self._reconnect()
                await self._pump()
            except _LOST as error:
                self._lost(type(error).__name__)
            except Exception:
                log.exception("the pub/sub reader failed; starting over")
                self._lost("unexpected error")

    async def _pump(self) -> None:
        """Read until the connection fails; raises a redis error when it does."""
        pubsub = self._pubsub
        connection = _connection_of(pubsub) if pubsub is not None else None
        if pubsub is None or connection is None:
            raise RedisConnectionError("no pub/sub connection")
        self._cut_because = None
        prober = asyncio.create_task(self._probe(connection), name="hub-prober")
        try:
            while not self._stopping:
                response = await connection.read_response(
                    timeout=math.inf, disconnect_on_error=False, push_request=True
                )
                if self._renewed:
                    raise RedisConnectionError("the pub/sub connection was re-established")
                if type(response) is list and len(response) == 3 and response[0] == "message":
                    self._dispatch(str(response[1]), str(response[2]))  # the common case
                elif message := await _as_message(pubsub, response):
                    self._handle(message)
        except _LOST:
            if self._cut_because:
                raise RedisTimeoutError(self._cut_because) from None
            raise
        finally:
            prober.cancel()

    async def _probe(self, connection: AbstractConnection) -> None:
        """Beside ``_pump``: a PING every PROBE_INTERVAL_S; when one is not answered within
        PROBE_TIMEOUT_S, or redis-py quietly replaced the connection, cut it."""
        try:
            await self._probe_until_cut(connection)
        except Exception:
            log.exception("the pub/sub prober failed; starting over")
            self._cut(connection, "the prober failed")

    async def _probe_until_cut(self, connection: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        self._probe_sent_at = None
        self._last_probe_at = loop.time()
        while True:
            await asyncio.sleep(PROBE_TICK_S)
            now = loop.time()
            if self._renewed:
                self._cut(connection, "the pub/sub connection was re-established")
                return
            if self._probe_sent_at is not None:
                if now - self._probe_sent_at > PROBE_TIMEOUT_S:
                    self._cut(connection, "no answer to the pub/sub probe")
                    return
            elif now - self._last_probe_at >= PROBE_INTERVAL_S:
                self._probe_sent_at = self._last_probe_at = now
                try:
                    await connection.send_command("PING", PROBE_PING_DATA, check_health=False)
                except _LOST:
                    self._cut(connection, "the pub/sub probe could not be sent")
                    return

    def _cut(self, connection: AbstractConnection, why: str) -> None:
        """End the reader's blocked read."""
        self._cut_because = why
        cut_off(connection)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "message":
            self._dispatch(str(message["channel"]), str(message["data"]))
        elif kind == "pong":
            data = str(message.get("data", ""))
            if data == PROBE_PING_DATA:
                self._probe_sent_at = None
                self._failures = 0  # a full round trip: the connection is healthy again
            elif (confirmed := self._confirmations.get(data)) and not confirmed.done():
                confirmed.set_result(None)

    def _dispatch(self, channel: str, data: str) -> None:
        for listener in list(self._listeners.get(channel, ())):
            try:
                listener(channel, data)
            except Exception:
                log.exception("a pub/sub listener failed")

    def _lost(self, why: str) -> None:
        self._set_connected(False)
        for confirmed in self._confirmations.values():
            if not confirmed.done():
                confirmed.set_result(None)  # nobody waits on a dead connection
        log.warning("Redis pub/sub connection lost (%s); reconnecting", why)

    async def _reconnect(self) -> None:
        await self._close_pubsub()
        while not self._stopping:
            delay = RECONNECT_BACKOFF_S[min(self._failures, len(RECONNECT_BACKOFF_S) - 1)]
            self._failures += 1
            await asyncio.sleep(delay)
            try:
                await self._open()
            except _LOST:
                continue
            log.info("Redis pub/sub connection restored")
            self._set_connected(True)
            for hook in list(self._resync_hooks):
                try:
                    hook()
                except Exception:
                    log.exception("a resync hook failed")
            return

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            if self.on_health_change:
                try:
                    self.on_health_change(value)
                except Exception:
                    log.exception("announcing the Redis state failed")


async def _next_message(pubsub: PubSub, timeout_s: float) -> dict[str, Any] | None:
    """The next pub/sub message within ``timeout_s``, or None (used while (re)subscribing;
    the steady state reads in ``Hub._pump``)."""
    response = await pubsub.parse_response(block=False, timeout=timeout_s)
    return None if response is None else await _as_message(pubsub, response)


async def _as_message(pubsub: PubSub, response: Any) -> dict[str, Any] | None:
    """A response read on the pub/sub connection as redis-py's message dict (None for what
    it ignores). Under RESP3 Redis answers a PING on a subscribed connection with just its
    argument, which redis-py's handle_message garbles when responses are decoded; here it
    becomes {"type": "pong", "data": argument}."""
    if isinstance(response, bytes | str):
        return {"type": "pong", "data": str_if_bytes(response)}
    message: dict[str, Any] | None = await pubsub.handle_message(  # type: ignore[no-untyped-call]
        response
    )
    return message


async def _as_is(response: Any) -> Any:
    """The pub/sub push handler: hand the response on unchanged."""
    return response


def _connection_of(pubsub: PubSub) -> AbstractConnection | None:
    """The PubSub's connection (redis-py leaves the attribute untyped)."""
    connection: AbstractConnection | None = pubsub.connection
    return connection
