"""Prometheus metrics: aggregate gauges and counters only, served on a port of their own.

No metric carries a label that could name a chat, a visitor or a counsellor: the only labels
are fixed codes (``answered``: yes/no, ``kind`` of error). Each app instance has its own
``CollectorRegistry`` (several apps in one test process never collide).

``/metrics`` is never served on the public port. With ``NEXUS_METRICS_PORT`` set, a second,
separate aiohttp server answers on ``NEXUS_METRICS_HOST`` (default 127.0.0.1) at that port;
with ``NEXUS_METRICS_TOKEN`` set as well, it also requires ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from typing import Final

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import choose_encoder

ERROR_KINDS: Final = ("redis", "protocol", "internal", "stats_rollup")


class ServiceMetrics:
    """This instance's metrics. The chat sessions increment ``messages_relayed``; the live
    view sets the gauges (every few seconds and on every queue change)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue_waiting = Gauge("nexus_queue_waiting", "Chats waiting in the queue", registry=r)
        self.queue_longest_wait = Gauge(
            "nexus_queue_longest_wait_seconds", "How long the first waiting chat has waited",
            registry=r,
        )  # fmt: skip
        self.chats_active = Gauge("nexus_chats_active", "Chats held by counsellors", registry=r)
        self.counsellors_available = Gauge(
            "nexus_counsellors_available", "Counsellors with presence available", registry=r
        )
        self.counsellors_on_duty = Gauge(
            "nexus_counsellors_on_duty", "Counsellors available or paused", registry=r
        )
        self.intake_paused = Gauge("nexus_intake_paused", "1 while intake is paused", registry=r)
        self.supervisor_views = Gauge(
            "nexus_supervisor_views", "Supervisor live views open on this instance", registry=r
        )
        self.messages_relayed = Counter(
            "nexus_messages_relayed", "Chat messages stored and relayed by this instance",
            registry=r,
        )  # fmt: skip
        self.chats_ended = Counter(
            "nexus_chats_ended", "Chats ended on this instance", ["answered"], registry=r
        )
        self.feedback_responses = Counter(
            "nexus_feedback_responses", "Post-chat survey answers received", registry=r
        )
        self.errors = Counter("nexus_errors", "Errors by kind", ["kind"], registry=r)
        self.flood_challenges = Counter(
            "nexus_flood_challenges", "Proof-of-work challenges sent, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.flood_bits = Gauge(
            "nexus_flood_bits", "Difficulty of the last challenge this instance sent", registry=r
        )

    def flood_challenge(self, reason: str, bits: int) -> None:
        """One challenge sent (reason: pow_required, pow_invalid, pow_expired, pow_replayed)."""
        self.flood_challenges.labels(reason=reason).inc()
        self.flood_bits.set(bits)

    def error(self, kind: str) -> None:
        """Count one error; a kind outside ERROR_KINDS counts as "internal"."""
        self.errors.labels(kind=kind if kind in ERROR_KINDS else "internal").inc()


METRICS = web.AppKey("metrics", ServiceMetrics)
_TOKEN = web.AppKey("metrics_token", str)


async def _metrics(request: web.Request) -> web.Response:
    token = request.app[_TOKEN]
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise web.HTTPUnauthorized(
                text="bearer token required", headers={"WWW-Authenticate": "Bearer"}
            )
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(
        body=encoder(request.app[METRICS].registry),
        headers={"Content-Type": content_type, "Cache-Control": "no-store"},
    )


def metrics_app(metrics: ServiceMetrics, token: str = "") -> web.Application:
    """The tiny application that serves ``GET /metrics`` and nothing else."""
    app = web.Application()
    app[METRICS] = metrics
    app[_TOKEN] = token
    app.router.add_get("/metrics", _metrics)
    return app


class MetricsServer:
    """The metrics application on its own host and port, started and stopped with the app."""

    def __init__(self, metrics: ServiceMetrics, host: str, port: int, token: str = "") -> None:
        self._runner = web.AppRunner(metrics_app(metrics, token), access_log=None)
        self._host = host
        self._port = port

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
