"""The Redis client, with explicit timeouts, retries and health checks."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

SOCKET_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 1.0
HEALTH_CHECK_INTERVAL_S = 5
RETRIES = 2
# A bounded pool that makes a burst wait for a free connection instead of failing (redis-py's
# default pool raises MaxConnectionsError past 100).
MAX_CONNECTIONS = 64
POOL_WAIT_S = 10.0


def connect(url: str) -> Redis:
    """A client for ``url`` (redis://, rediss:// or unix://) that fails fast and retries briefly.

    Short timeouts matter: while Redis is away, a request must get a clear error within about
    a second rather than hang, and the server must not spin.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        client_name="nexus-chat",
    )
    return Redis.from_pool(pool)  # the client owns the pool and closes it
