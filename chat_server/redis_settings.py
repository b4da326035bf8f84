"""How the service reaches Redis beyond ``REDIS_URL``: Sentinel discovery and replica waits.

``REDIS_URL`` stays the one place for the data nodes' user, password, database and TLS choice.
With ``REDIS_SENTINELS`` set, its host and port are ignored: the client asks the Sentinels for
the current primary before every new connection, so a failover needs no restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .envparse import EnvReader

DEFAULT_SENTINEL_PORT = 26379
DEFAULT_WAIT_TIMEOUT_MS = 250
MAX_WAIT_TIMEOUT_MS = 5000


class RedisSettingsError(ValueError):
    """A Redis-related environment variable has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    """After each chat write, wait for ``replicas`` replicas to confirm it (Redis ``WAIT``).

    ``replicas == 0`` turns the wait off. A write that is not confirmed within ``timeout_ms``
    is still acknowledged (it is stored on the primary); the miss is logged.
    """

    replicas: int = 0
    timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS

    @property
    def enabled(self) -> bool:
        return self.replicas > 0


@dataclass(frozen=True, slots=True)
class RedisConfig:
    """Sentinel and replication settings; the defaults mean one plain Redis at ``REDIS_URL``."""

    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str = "nexus"
    sentinel_username: str = ""
    sentinel_password: str = ""
    wait: ReplicaWait = ReplicaWait()

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RedisConfig:
        """Read ``REDIS_SENTINELS``, ``REDIS_SENTINEL_MASTER``, ``REDIS_SENTINEL_USERNAME``,
        ``REDIS_SENTINEL_PASSWORD``, ``REDIS_WAIT_REPLICAS`` and ``REDIS_WAIT_TIMEOUT_MS``.

        Raises RedisSettingsError for a malformed address list, a negative or non-numeric
        count, or Sentinels without a ``REDIS_URL`` (which carries the data nodes' login).
        """
        sentinels = parse_sentinels(env.get("REDIS_SENTINELS", ""))
        if sentinels and not env.get("REDIS_URL", "").strip():
            raise RedisSettingsError(
                "REDIS_SENTINELS needs REDIS_URL too: its user, password and database are used "
                "on the primary the Sentinels name (its host and port are ignored)"
            )
        if sentinels and urlsplit(env["REDIS_URL"]).scheme == "unix":
            raise RedisSettingsError("REDIS_SENTINELS cannot be combined with a unix:// REDIS_URL")
        master = env.get("REDIS_SENTINEL_MASTER", "").strip() or "nexus"
        read = EnvReader(env, RedisSettingsError)
        replicas = read.whole("REDIS_WAIT_REPLICAS", 0, maximum=16)
        timeout_ms = read.whole(
            "REDIS_WAIT_TIMEOUT_MS", DEFAULT_WAIT_TIMEOUT_MS, maximum=MAX_WAIT_TIMEOUT_MS
        )
        if replicas and timeout_ms == 0:
            # WAIT with timeout 0 blocks forever: one lost replica would freeze every chat.
            raise RedisSettingsError("REDIS_WAIT_TIMEOUT_MS must be at least 1 when waiting")
        return cls(
            sentinels=sentinels,
            sentinel_master=master,
            sentinel_username=env.get("REDIS_SENTINEL_USERNAME", ""),
            sentinel_password=env.get("REDIS_SENTINEL_PASSWORD", ""),
            wait=ReplicaWait(replicas=replicas, timeout_ms=timeout_ms),
        )


def parse_sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    """``"10.0.0.1:26379,[fd00::2]:26379,host"`` → ((host, port), ...); port defaults to 26379.

    Raises RedisSettingsError for an empty host or a port outside 1..65535.
    """
    addresses = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port_text = rest.removeprefix(":")
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        else:
            host, port_text = item, ""
        port = _port(port_text, item) if port_text else DEFAULT_SENTINEL_PORT
        if not host:
            raise RedisSettingsError(f"REDIS_SENTINELS: no host in {item!r}")
        addresses.append((host, port))
    return tuple(addresses)


def _port(text: str, item: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise RedisSettingsError(f"REDIS_SENTINELS: bad port in {item!r}")
    return int(text)
