"""REDIS_SENTINELS and friends: what the environment may say, and the client it produces."""

from __future__ import annotations

import pytest
from redis.asyncio.sentinel import SentinelConnectionPool, SentinelManagedSSLConnection

from chat_server.redis_settings import RedisConfig, RedisSettingsError, ReplicaWait
from chat_server.store.connection import SentinelBackedRedis, connect

URL = "redis://nexus:hemligt@10.0.0.9:6379/2"


def test_no_redis_variables_mean_one_plain_redis_and_no_waiting() -> None:
    """Without the variables there are no Sentinels and writes do not wait for replicas."""
    config = RedisConfig.from_env({"REDIS_URL": URL})
    assert config == RedisConfig()
    assert not config.uses_sentinel and not config.wait.enabled


def test_sentinel_addresses_parse_with_default_port_and_ipv6() -> None:
    """host:port, a bare host (port 26379) and a bracketed IPv6 address are all understood."""
    config = RedisConfig.from_env({
        "REDIS_URL": URL,
        "REDIS_SENTINELS": " 10.0.0.21:26380, sentinel-b ,[fd00::23]:26381,",
        "REDIS_SENTINEL_MASTER": "nexus-prod",
        "REDIS_SENTINEL_USERNAME": "nexus-app",
        "REDIS_SENTINEL_PASSWORD": "pw",
        "REDIS_WAIT_REPLICAS": "1",
        "REDIS_WAIT_TIMEOUT_MS": "500",
    })  # fmt: skip
    assert config.sentinels == (("10.0.0.21", 26380), ("sentinel-b", 26379), ("fd00::23", 26381))
    assert config.sentinel_master == "nexus-prod"
    assert (config.sentinel_username, config.sentinel_password) == ("nexus-app", "pw")
    assert config.wait == ReplicaWait(replicas=1, timeout_ms=500)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"REDIS_SENTINELS": "10.0.0.21:26379"}, "needs REDIS_URL"),
        ({"REDIS_URL": "unix:///run/redis.sock", "REDIS_SENTINELS": "a:1"}, "unix://"),
        ({"REDIS_URL": URL, "REDIS_SENTINELS": "a:0"}, "bad port"),
        ({"REDIS_URL": URL, "REDIS_SENTINELS": "a:port"}, "bad port"),
        ({"REDIS_URL": URL, "REDIS_SENTINELS": ":26379"}, "no host"),
        ({"REDIS_URL": URL, "REDIS_WAIT_REPLICAS": "-1"}, "whole number"),
        ({"REDIS_URL": URL, "REDIS_WAIT_REPLICAS": "1", "REDIS_WAIT_TIMEOUT_MS": "0"}, "at least 1"),
        ({"REDIS_URL": URL, "REDIS_WAIT_TIMEOUT_MS": "60000"}, "at most"),
    ],
)  # fmt: skip
def test_unusable_values_are_refused_with_the_variable_named(
    env: dict[str, str], complaint: str
) -> None:
    """A value the service cannot use stops it at start with a message saying what is wrong."""
    with pytest.raises(RedisSettingsError, match=complaint):
        RedisConfig.from_env(env)


async def test_the_sentinel_client_logs_in_to_sentinels_and_primary_separately() -> None:
    """The client asks the named Sentinels (as the Sentinel user) for the primary and logs in
    there with REDIS_URL's user, password and database; nothing connects before a command."""
    config = RedisConfig.from_env({
        "REDIS_URL": URL, "REDIS_SENTINELS": "127.0.0.1:26379,127.0.0.1:26380",
        "REDIS_SENTINEL_USERNAME": "nexus-app", "REDIS_SENTINEL_PASSWORD": "sentinel-pw",
    })  # fmt: skip
    client = connect(URL, config)
    try:
        assert isinstance(client, SentinelBackedRedis)
        pool = client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert pool.service_name == "nexus"
        login = pool.connection_kwargs
        assert (login["username"], login["password"], login["db"]) == ("nexus", "hemligt", 2)
        sentinels = pool.sentinel_manager.sentinels
        ports = [s.connection_pool.connection_kwargs["port"] for s in sentinels]
        assert ports == [26379, 26380]
        assert all(
            s.connection_pool.connection_kwargs["username"] == "nexus-app" for s in sentinels
        )
    finally:
        await client.aclose()


async def test_without_sentinels_the_client_goes_to_the_url() -> None:
    """A plain configuration gives a plain client for the URL's host."""
    client = connect(URL, RedisConfig())
    try:
        assert not isinstance(client, SentinelBackedRedis)
        assert client.connection_pool.connection_kwargs["host"] == "10.0.0.9"
    finally:
        await client.aclose()


async def test_a_rediss_url_makes_the_sentinel_client_use_tls_to_the_primary() -> None:
    """rediss:// in REDIS_URL keeps TLS (and its options) on the primary found via Sentinel."""
    url = "rediss://nexus:hemligt@ignored:6379/0?ssl_cert_reqs=required"
    client = connect(url, RedisConfig.from_env({"REDIS_URL": url, "REDIS_SENTINELS": "a:1"}))
    try:
        pool = client.connection_pool
        assert issubclass(pool.connection_class, SentinelManagedSSLConnection)
        assert pool.connection_kwargs["ssl_cert_reqs"] == "required"
        assert "host" not in pool.connection_kwargs
    finally:
        await client.aclose()
