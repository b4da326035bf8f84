"""A bare WebSocket relay over Redis pub/sub: the baseline the benchmark compares us with.

Written only for the comparison. It does the least a relay through Redis must do: a frame
from a visitor's socket is PUBLISHed to its room's channel, and the one pub/sub connection of
the process fans it out to the subscribed counsellor sockets (and the other way round). No
routing, no authentication, no streams, no sequence numbers, no acks, no echoes. Like the real
server it uses aiohttp (permessage-deflate off, as in the server), redis-py with one pub/sub
connection per process, and one writer task per socket, so the comparison measures what the
real server does on top, not a different stack.

    visitor:    GET /ws/visitor?room=R   then  {"type": "message", "text": T}
    counsellor: GET /ws/console          then  {"type": "join", "room": R}
                                               {"type": "message", "room": R, "text": T}
    each side receives {"type": "message", "room": R, "text": T} from the other side; a
    visitor gets {"type": "ready"} and a counsellor {"type": "joined", "room": R} once
    subscribed.

Run: ``python -m chat_server.bench.bare_relay --port 8090 --redis-url redis://127.0.0.1:6379``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub

TO_COUNSELLOR = "bare:c:"
TO_VISITOR = "bare:v:"
OUTBOX_LIMIT = 2000
REDIS_CONNECTIONS = 100
REDIS_CLIENT_NAME = "bare-relay"


class Socket:
    """One client socket with a single writer task, so frames never interleave."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write_loop())

    def send(self, frame: str) -> None:
        if self.outbox.qsize() < OUTBOX_LIMIT:
            self.outbox.put_nowait(frame)

    async def _write_loop(self) -> None:
        while (frame := await self.outbox.get()) is not None:
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    async def close(self) -> None:
        self.outbox.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer


class Relay:
    """The process's one pub/sub connection and the local sockets listening per channel."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self.listeners: dict[str, set[Socket]] = {}
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # redis-py's PubSub needs one subscription before it can read.
        await self.pubsub.subscribe("bare:keepalive")
        self.reader = asyncio.create_task(self._read_loop())

    async def stop(self) -> None:
        if self.reader:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        await self.pubsub.aclose()
        await self.redis.aclose()

    async def listen(self, channel: str, sock: Socket) -> None:
        listeners = self.listeners.setdefault(channel, set())
        listeners.add(sock)
        if len(listeners) == 1:
            await self.pubsub.subscribe(channel)

    async def forget(self, channel: str, sock: Socket) -> None:
        listeners = self.listeners.get(channel, set())
        listeners.discard(sock)
        if not listeners and channel in self.listeners:
            del self.listeners[channel]
            await self.pubsub.unsubscribe(channel)

    async def _read_loop(self) -> None:
        while True:
            message = await self.pubsub.get_message(timeout=1.0)
            if message and message.get("type") == "message":
                for sock in list(self.listeners.get(str(message["channel"]), ())):
                    sock.send(str(message["data"]))


RELAY: web.AppKey[Relay] = web.AppKey("relay", Relay)


async def visitor_socket(request: web.Request) -> web.StreamResponse:
    relay = request.app[RELAY]
    room = request.query.get("room", "")[:64]
    ws = web.WebSocketResponse(compress=False)  # as nexus: chat frames gain nothing from it
    await ws.prepare(request)
    sock = Socket(ws)
    await relay.listen(TO_VISITOR + room, sock)
    sock.send('{"type":"ready"}')
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            text = json.loads(msg.data).get("text", "")
            await relay.redis.publish(
                TO_COUNSELLOR + room, json.dumps({"type": "message", "room": room, "text": text})
            )
    finally:
        await relay.forget(TO_VISITOR + room, sock)
        await sock.close()
    return ws


async def console_socket(request: web.Request) -> web.StreamResponse:
    relay = request.app[RELAY]
    ws = web.WebSocketResponse(compress=False)  # as nexus: chat frames gain nothing from it
    await ws.prepare(request)
    sock = Socket(ws)
    rooms: set[str] = set()
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            room = str(frame.get("room", ""))[:64]
            if frame.get("type") == "join":
                rooms.add(room)
                await relay.listen(TO_COUNSELLOR + room, sock)
                sock.send(json.dumps({"type": "joined", "room": room}))
            elif frame.get("type") == "message":
                await relay.redis.publish(
                    TO_VISITOR + room,
                    json.dumps({"type": "message", "room": room, "text": frame.get("text", "")}),
                )
    finally:
        for room in rooms:
            await relay.forget(TO_COUNSELLOR + room, sock)
        await sock.close()
    return ws


async def healthz(request: web.Request) -> web.Response:
    await request.app[RELAY].redis.ping()
    return web.json_response({"status": "ok"})


def create_relay_app(redis_url: str) -> web.Application:
    """The bare relay as an aiohttp application on ``redis_url``."""
    app = web.Application()
    # A blocking pool: a burst waits for a free connection instead of failing (redis-py's
    # default pool raises MaxConnectionsError beyond 100 commands in flight).
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=REDIS_CONNECTIONS,
        timeout=10,
        decode_responses=True,
        client_name=REDIS_CLIENT_NAME,
    )
    app[RELAY] = Relay(Redis(connection_pool=pool))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[RELAY].start()
        yield
        await app[RELAY].stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_routes(
        [
            web.get("/ws/visitor", visitor_socket),
            web.get("/ws/console", console_socket),
            web.get("/healthz", healthz),
        ]
    )
    return app


async def serve(host: str, port: int, redis_url: str) -> None:
    """Serve until SIGINT or SIGTERM."""
    runner = web.AppRunner(create_relay_app(redis_url), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    gc.freeze()  # as the server does after start-up: like for like
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="bare WebSocket relay over Redis pub/sub")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.redis_url))


if __name__ == "__main__":
    main()
