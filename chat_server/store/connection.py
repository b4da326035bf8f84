"""The Redis client: explicit timeouts, retries and health checks; plain or through Sentinel.

While Redis is away, a command must fail within about a second with a clear error instead of
hanging, and nothing may spin. When Redis is back (or Sentinel names a new primary) the next
command reconnects by itself; Lua scripts reload after a NOSCRIPT (redis-py's Script does that).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.maint_notifications import MaintNotificationsConfig
from redis.typing import EncodableT, KeyT

from ..redis_settings import RedisConfig, ReplicaWait
from .deadlines import with_deadlines

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 1.0
# An idle pooled connection is PINGed before reuse after this long, so a connection that died
# while Redis restarted is replaced before it fails a visitor's command.
HEALTH_CHECK_INTERVAL_S = 5
# One retry, on connection errors only: it heals a stale pooled connection. Timeouts are not
# retried, because the command may have run (a retried post would store the message twice).
RETRIES = 1
RETRY_BACKOFF_BASE_S = 0.05
RETRY_BACKOFF_CAP_S = 0.25
SENTINEL_TIMEOUT_S = 0.5
CLIENT_NAME = "nexus-chat"
MAX_CONNECTIONS = 64
POOL_WAIT_S = 10.0
# A replica that lags is reported at most this often, not once per message.
REPLICA_WARNING_INTERVAL_S = 60.0


class SettingsWithRedis(Protocol):
    """What ``connect_from_settings`` reads: the URL and the Sentinel/replication settings."""

    @property
    def redis_url(self) -> str: ...

    @property
    def redis(self) -> RedisConfig: ...


class SentinelBackedRedis(Redis):
    """A client whose pool asks Sentinel for the primary; closing it closes the Sentinel
    connections too (redis-py leaves those open)."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool = self.connection_pool
        await super().aclose(close_connection_pool)
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


class GatedConnectionPool(ConnectionPool):
    """redis-py's pool, except that a burst beyond ``max_connections`` waits up to
    ``timeout`` seconds for a free connection instead of failing (redis-py 8's pool raises
    MaxConnectionsError). ``BlockingConnectionPool`` waits too, but takes a Condition and a
    timeout around every checkout; here the common case, a connection free, costs one
    uncontended semaphore acquire (10-25 % less client CPU per command, measured)."""

    def __init__(self, *, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gate = asyncio.Semaphore(self.max_connections)
        self._wait_s = timeout

    async def get_connection(self, *args: Any, **options: Any) -> AbstractConnection:
        """A connection from the pool, waiting for one when all are in use. Arguments pass
        through unchanged (redis-py warns about the deprecated ``command_name``)."""
        if self._gate.locked():
            try:
                async with asyncio.timeout(self._wait_s):
                    await self._gate.acquire()
            except TimeoutError as error:
                raise RedisConnectionError("No connection available.") from error
        else:
            await self._gate.acquire()
        try:
            connection: AbstractConnection = await super().get_connection(  # type: ignore[no-untyped-call]
                *args, **options
            )
        except BaseException:
            self._gate.release()
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        was_in_use = connection in self._in_use_connections
        returned = False
        try:
            await super().release(connection)
            returned = True
        finally:
            # A release cancelled while it waits for the pool's lock leaves the connection in
            # use and redis-py finishes it in the background by calling this method again:
            # the gate opens once, in the call that took the connection out of use.
            if was_in_use and (returned or connection not in self._in_use_connections):
                self._gate.release()


def _retry() -> Retry:
    backoff = ExponentialBackoff(cap=RETRY_BACKOFF_CAP_S, base=RETRY_BACKOFF_BASE_S)
    return Retry(backoff, RETRIES, supported_errors=(RedisConnectionError,))


def _client_options() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "retry": _retry(),
        "client_name": CLIENT_NAME,
        # RESP3, as redis-py 8 picks by default; spelled out so an upgrade cannot change it.
        "protocol": 3,
        # No CLIENT SETINFO or CLIENT MAINT_NOTIFICATIONS: Redis 6.2 does not know them, and
        # the ACL would log every refusal.
        "driver_info": None,
        "maint_notifications_config": MaintNotificationsConfig(enabled=False),
    }


def connect(url: str, config: RedisConfig | None = None) -> Redis:
    """A client for ``url`` (redis://, rediss:// or unix://) that fails fast and retries once.

    With ``config.sentinels``, the host and port of ``url`` are ignored: every new connection
    goes to the primary the Sentinels name (user, password, database and TLS still come from
    ``url``). Nothing connects until the first command.
    """
    if config is None or not config.uses_sentinel:
        # A bounded pool where a burst waits for a free connection instead of failing
        # (redis-py's default pool raises MaxConnectionsError past 100).
        pool = GatedConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S, **_client_options()
        )
        pool.connection_class = with_deadlines(pool.connection_class)
        return Redis.from_pool(pool)  # the client owns the pool and closes it
    return _connect_through_sentinel(url, config)


def connect_from_settings(settings: SettingsWithRedis) -> Redis:
    """``connect(settings.redis_url, settings.redis)``: the one call the app factory needs."""
    return connect(settings.redis_url, settings.redis)


def _connect_through_sentinel(url: str, config: RedisConfig) -> Redis:
    login = parse_url(url)
    sentinel = Sentinel(
        list(config.sentinels),
        sentinel_kwargs={
            "username": config.sentinel_username or None,
            "password": config.sentinel_password or None,
            "socket_timeout": SENTINEL_TIMEOUT_S,
            "socket_connect_timeout": SENTINEL_TIMEOUT_S,
            # Each Sentinel is asked once per discovery; the next one is the retry.
            "retry": Retry(NoBackoff(), 0),
            "protocol": 3,
            "driver_info": None,
            "maint_notifications_config": MaintNotificationsConfig(enabled=False),
        },
    )
    options = _client_options()
    # Everything REDIS_URL says except where to connect: user, password, db, TLS options.
    from_url: dict[str, Any] = dict(login)
    options["ssl"] = from_url.pop("connection_class", None) is SSLConnection
    for where in ("host", "port", "path"):
        from_url.pop(where, None)
    options.update(from_url)
    client: Redis = sentinel.master_for(
        config.sentinel_master, redis_class=SentinelBackedRedis, **options
    )
    pool = client.connection_pool
    pool.connection_class = with_deadlines(pool.connection_class)
    return client


async def call_script(
    redis: Redis,
    script: AsyncScript,
    *,
    keys: Sequence[KeyT],
    args: Iterable[EncodableT],
    wait: ReplicaWait | None = None,
) -> Any:
    """Run ``script`` and return its result; with ``wait`` enabled, first make sure (Redis
    ``WAIT``) that ``wait.replicas`` replicas hold the write, for at most ``wait.timeout_ms``.

    The script and WAIT go down one connection in one round trip (WAIT only covers writes made
    on its own connection). A write the replicas did not confirm in time is still returned as
    done, because it is stored on the primary; the shortfall is logged (rarely). Raises what
    the script raises, or a redis ConnectionError/TimeoutError.
    """
    if wait is None or not wait.enabled:
        return await script(keys=keys, args=args)
    async with redis.pipeline(transaction=False) as pipe:
        await script(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", wait.replicas, wait.timeout_ms)
        result, confirmed = await pipe.execute()
    if int(confirmed) < wait.replicas:
        _warn_replicas_behind(int(confirmed), wait)
    return result


_last_replica_warning_s = 0.0


def _warn_replicas_behind(confirmed: int, wait: ReplicaWait) -> None:
    global _last_replica_warning_s  # one process-wide rate limit for one log line
    now = time.monotonic()
    if now - _last_replica_warning_s >= REPLICA_WARNING_INTERVAL_S:
        _last_replica_warning_s = now
        log.warning(
            "a chat write reached %d of %d replicas within %d ms; it is on the primary only "
            "until replication catches up (further misses are not logged for %d s)",
            confirmed,
            wait.replicas,
            wait.timeout_ms,
            REPLICA_WARNING_INTERVAL_S,
        )
