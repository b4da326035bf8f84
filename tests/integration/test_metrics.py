"""Prometheus metrics: only on their own port, optionally behind a token, only aggregates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from chat_server.supervisor_config import SupervisorConfig
from chat_server.web.metrics import ServiceMetrics
from tests.integration.supervisor_helpers import FAST_CONFIG, supervised_server
from tests.support.servers import free_port, make_settings, start_visitor

TOKEN = "metrics-token-for-tests-0123456789"


async def scrape(port: int, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


def sample(text: str, name: str) -> float:
    """The value of an unlabelled sample in Prometheus text format."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics")


async def test_metrics_are_off_by_default_and_never_on_the_public_port(
    redis_url: str, staff_file: Path
) -> None:
    """Without NEXUS_METRICS_PORT nothing listens; /metrics on the service port is 404."""
    async with supervised_server(make_settings(redis_url, staff_file, free_port())) as server:
        assert server.supervision.metrics_server is None
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
            assert response.status == 404


async def test_the_metrics_port_serves_aggregates_that_follow_the_queue(
    redis_url: str, staff_file: Path
) -> None:
    """The separate port shows the queue, duty and relay figures as plain numbers."""
    metrics_port = free_port()
    config = SupervisorConfig(queue_sample_interval_s=1.0, metrics_port=metrics_port)
    settings = make_settings(redis_url, staff_file, free_port())
    async with supervised_server(settings, config) as server:
        visitor, _ = await start_visitor(server)
        server.supervision.metrics.messages_relayed.inc(3)
        async with asyncio.timeout(8):
            while True:
                status, text = await scrape(metrics_port)
                if sample(text, "nexus_queue_waiting") == 1:
                    break
                await asyncio.sleep(0.2)
        await visitor.close()
    assert status == 200
    assert sample(text, "nexus_messages_relayed_total") == 3
    assert sample(text, "nexus_chats_active") == 0
    assert sample(text, "nexus_intake_paused") == 0
    assert sample(text, "nexus_queue_longest_wait_seconds") >= 0


async def test_a_metrics_token_is_required_when_set(redis_url: str, staff_file: Path) -> None:
    """With NEXUS_METRICS_TOKEN the port answers 401 without the bearer token."""
    metrics_port = free_port()
    config = SupervisorConfig(metrics_port=metrics_port, metrics_token=TOKEN)
    async with supervised_server(make_settings(redis_url, staff_file, free_port()), config):
        assert (await scrape(metrics_port))[0] == 401
        assert (await scrape(metrics_port, "wrong-" + TOKEN))[0] == 401
        status, text = await scrape(metrics_port, TOKEN)
    assert status == 200
    assert "nexus_queue_waiting" in text


def test_each_app_has_its_own_registry() -> None:
    """Two instances in one process count separately (no global registry collision)."""
    first, second = ServiceMetrics(), ServiceMetrics()
    first.messages_relayed.inc()
    first.error("redis")
    first.error("visitor 203.0.113.7")
    assert second.registry.get_sample_value("nexus_messages_relayed_total") == 0
    assert first.registry.get_sample_value("nexus_errors_total", {"kind": "redis"}) == 1
    assert first.registry.get_sample_value("nexus_errors_total", {"kind": "internal"}) == 1


def test_no_metric_has_a_label_that_could_name_someone() -> None:
    """The only labels are fixed codes: answered yes/no and the error kind."""
    metrics = ServiceMetrics()
    labels = {
        name
        for family in metrics.registry.collect()
        for sample_ in family.samples
        for name in sample_.labels
    }
    metrics.chats_ended.labels(answered="yes").inc()
    labels |= {n for f in metrics.registry.collect() for s in f.samples for n in s.labels}
    assert labels <= {"answered", "kind"}


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"NEXUS_METRICS_PORT": "http"}, "NEXUS_METRICS_PORT must be a number"),
        ({"NEXUS_METRICS_PORT": "70000"}, "NEXUS_METRICS_PORT must be a TCP port"),
        ({"NEXUS_METRICS_PORT": "9100.5"}, "whole number"),
        ({"NEXUS_METRICS_TOKEN": "short"}, "at least 24"),
        ({"NEXUS_SERVICE_TARGETS_S": "90"}, "90 is not one of the wait buckets"),
        ({"NEXUS_SERVICE_TARGETS_S": "1 min"}, "whole seconds"),
        ({"NEXUS_QUEUE_SAMPLE_S": "0.1"}, "at least 1 second"),
        ({"NEXUS_QUEUE_HISTORY_S": "999999"}, "48 hours"),
        ({"NEXUS_OUTCOME_GRACE_S": "30"}, "between 60 seconds and 24 hours"),
        ({"NEXUS_OUTCOME_GRACE_S": "half an hour"}, "NEXUS_OUTCOME_GRACE_S must be a number"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(env: dict[str, str], words: str) -> None:
    """Each unusable value names its environment variable and what is expected."""
    with pytest.raises(ValueError, match=words):
        SupervisorConfig.from_env(env)


def test_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    """Every variable reaches its field; the roll-ups default to <data dir>/stats."""
    config = SupervisorConfig.from_env(
        {
            "NEXUS_SERVICE_TARGETS_S": "30,120,300",
            "NEXUS_QUEUE_SAMPLE_S": "15",
            "NEXUS_QUEUE_HISTORY_S": "7200",
            "NEXUS_STATS_FLUSH_S": "30",
            "NEXUS_METRICS_HOST": "10.0.0.5",
            "NEXUS_METRICS_PORT": "9464",
            "NEXUS_METRICS_TOKEN": TOKEN,
            "NEXUS_OUTCOME_GRACE_S": "3600",
        }
    )
    assert config == SupervisorConfig(
        service_targets_s=(30, 120, 300), queue_sample_interval_s=15, queue_history_s=7200,
        stats_flush_interval_s=30, metrics_host="10.0.0.5", metrics_port=9464, metrics_token=TOKEN,
        outcome_grace_s=3600,
    )  # fmt: skip
    assert config.resolved_stats_dir(tmp_path) == tmp_path / "stats"
    elsewhere = SupervisorConfig.from_env({"NEXUS_STATS_DIR": str(tmp_path / "x")})
    assert elsewhere.resolved_stats_dir(Path("var")) == tmp_path / "x"
    assert SupervisorConfig.from_env({}) == SupervisorConfig() != FAST_CONFIG


async def test_the_outcome_grace_period_reaches_the_statistics(
    redis_url: str, staff_file: Path
) -> None:
    """NEXUS_OUTCOME_GRACE_S is what the app's late-outcome store waits for."""
    config = SupervisorConfig.from_env({"NEXUS_OUTCOME_GRACE_S": "3600"})
    settings = make_settings(redis_url, staff_file, free_port())
    async with supervised_server(settings, config) as server:
        assert server.supervision.stats.late_outcomes.grace_s == 3600
