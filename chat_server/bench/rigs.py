"""Chats held open for the load: visitors paired with counsellor bots, on either target.

``NexusRig`` speaks the real protocol: visitors ``start``, bots sign in and ``take`` chats;
each visitor first writes ``pair:<n>`` so the bot that takes the chat learns which visitor it
is (a visitor never learns its chat id). ``BareRig`` does the same on the bare relay with
rooms. Both record arrivals in one ``Ledger``; the real server's ``seq`` numbers are checked
too (every stored event once, in order, no gap, on every connection).
"""

from __future__ import annotations

import asyncio
import functools
import math
from dataclasses import dataclass, field

from .bare_relay import REDIS_CLIENT_NAME
from .processes import Child
from .tally import COUNSELLOR_TO_VISITOR, VISITOR_TO_COUNSELLOR, Ledger, SeqCheck
from .tally import parse_message_id as msg_id_of
from .wsclient import Conn, Frame, open_conn, wait_for

SETUP_TIMEOUT_S = 30.0
END_ATTEMPTS = 10
END_RETRY_PAUSE_S = 0.2


@dataclass
class Rig:
    """The pairs under load; ``send`` writes message ``msg_id`` in ``direction``."""

    name: str
    ledger: Ledger = field(default_factory=Ledger)
    seq: SeqCheck = field(default_factory=SeqCheck)
    visitors: list[Conn] = field(default_factory=list)
    bots: list[Conn] = field(default_factory=list)
    chat_of_pair: list[str] = field(default_factory=list)
    bot_of_pair: list[int] = field(default_factory=list)
    ended_chats: int = 0
    redis_client_name: str = ""
    """How the rig's server names its Redis connections (CLIENT SETNAME)."""
    pids: dict[str, int] = field(default_factory=dict)
    """Processes whose CPU use each step reports (the servers, Redis, this client)."""

    @property
    def pairs(self) -> int:
        return len(self.visitors)

    def unexpected_closes(self) -> int:
        return sum(1 for c in [*self.visitors, *self.bots] if not c.open)

    async def send(self, pair: int, direction: int, msg_id: int, text: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in [*self.visitors, *self.bots]))


class NexusRig(Rig):
    async def send(self, pair: int, direction: int, msg_id: int, text: str) -> None:
        frame: Frame = {"type": "message", "text": text, "client_id": str(msg_id)}
        if direction == VISITOR_TO_COUNSELLOR:
            await self.visitors[pair].send(frame)
        else:
            frame["chat_id"] = self.chat_of_pair[pair]
            await self.bots[self.bot_of_pair[pair]].send(frame)

    def on_visitor_frame(self, pair: int, frame: Frame, now_ns: int) -> None:
        kind = frame.get("type")
        if kind == "message":
            self.seq.see(pair, "", int(frame["seq"]))
            self._note_echo(frame)
            msg_id = msg_id_of(str(frame.get("text", "")))
            if frame.get("sender") == "counsellor" and msg_id is not None:
                self.ledger.arrived(msg_id, COUNSELLOR_TO_VISITOR, now_ns)
        elif kind == "state":
            self.seq.see(pair, "", int(frame["seq"]))
        else:
            self._on_common(frame)

    def on_bot_frame(self, bot: int, frame: Frame, now_ns: int) -> None:
        kind = frame.get("type")
        conn = -1 - bot  # visitors are 0.. in the seq check, bots below zero
        if kind == "message":
            chat_id = str(frame["chat_id"])
            self.seq.see(conn, chat_id, int(frame["seq"]))
            self._note_echo(frame)
            text = str(frame.get("text", ""))
            if frame.get("sender") != "visitor":
                return
            if text.startswith("pair:"):
                pair = int(text[5:])
                self.chat_of_pair[pair] = chat_id
                self.bot_of_pair[pair] = bot
            elif (msg_id := msg_id_of(text)) is not None:
                self.ledger.arrived(msg_id, VISITOR_TO_COUNSELLOR, now_ns)
        elif kind == "chat_state":
            self.seq.see(conn, str(frame["chat_id"]), int(frame["seq"]))
        elif kind == "chat_ended":
            self.ended_chats += 1
        else:
            self._on_common(frame)

    def _note_echo(self, frame: Frame) -> None:
        """A writer's own message comes back with its client_id: stored, so acknowledged."""
        client_id = str(frame.get("client_id") or "")
        if client_id.isdigit():
            self.ledger.ack(int(client_id))

    def _on_common(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "error":  # with or without a client id: the message was not stored
            self.ledger.refuse(str(frame.get("code")))

    async def end_all(self, timeout_s: float = SETUP_TIMEOUT_S) -> None:
        """Every visitor ends its chat and waits for ``ended`` (then close 1000); an end the
        server refuses for a passing reason (``unavailable``) is counted and sent again."""

        async def end(visitor: Conn) -> None:
            for _ in range(END_ATTEMPTS):
                answer = visitor.waiter(("ended", "error"))
                await visitor.send({"type": "end"})
                frame = await wait_for(answer, timeout_s)
                if frame["type"] == "ended":
                    await visitor.reader
                    return
                self.ledger.refuse(f"end_{frame.get('code')}")
                await asyncio.sleep(END_RETRY_PAUSE_S)
            raise RuntimeError("a visitor could not end its chat")

        await asyncio.gather(*(end(v) for v in self.visitors))


async def nexus_rig(
    visitor_server: Child, console_server: Child, cookies: list[str], chats: int, consoles: int
) -> NexusRig:
    """``chats`` visitors on ``visitor_server``, taken by ``consoles`` console connections on
    ``console_server`` signed in with ``cookies``, one account each (every console of an
    account follows the chats any of them takes, so a shared account would count twice)."""
    rig = NexusRig(
        "nexus", chat_of_pair=[""] * chats, bot_of_pair=[-1] * chats, redis_client_name="nexus"
    )
    for b in range(consoles):
        bot = await open_conn(
            f"{console_server.ws_url}/ws/console",
            console_server.url,
            cookie=cookies[b % len(cookies)],
            on_frame=functools.partial(rig.on_bot_frame, b),
        )
        hello = bot.waiter("hello")
        await bot.send({"type": "hello"})
        rig.bots.append(bot)
        await wait_for(hello, SETUP_TIMEOUT_S)
    for pair in range(chats):
        visitor = await open_conn(
            f"{visitor_server.ws_url}/ws/visitor",
            visitor_server.url,
            on_frame=functools.partial(rig.on_visitor_frame, pair),
        )
        rig.visitors.append(visitor)
        welcome = visitor.waiter("welcome")
        await visitor.send({"type": "start", "language": "sv", "topic": "violence_close"})
        await wait_for(welcome, SETUP_TIMEOUT_S)
        await visitor.send({"type": "message", "text": f"pair:{pair}", "client_id": "pair"})
    active = [v.waiter("state") for v in rig.visitors]
    per_bot = math.ceil(chats / consoles)

    async def take_chats(bot: Conn, count: int) -> None:
        for _ in range(count):
            opened = bot.waiter(("chat_opened", "error"))
            await bot.send({"type": "take"})
            answer = await wait_for(opened, SETUP_TIMEOUT_S)
            if answer["type"] == "error":
                raise RuntimeError(f"take refused: {answer.get('code')}")

    counts = [max(0, min(per_bot, chats - b * per_bot)) for b in range(consoles)]
    await asyncio.gather(*(take_chats(rig.bots[b], n) for b, n in enumerate(counts) if n > 0))
    await asyncio.wait_for(asyncio.gather(*active), SETUP_TIMEOUT_S)
    for _ in range(int(SETUP_TIMEOUT_S / 0.05)):  # the pairing lines follow chat_opened
        if all(rig.chat_of_pair):
            return rig
        await asyncio.sleep(0.05)
    raise RuntimeError("some chats were taken but their pairing line never arrived")


class BareRig(Rig):
    async def send(self, pair: int, direction: int, msg_id: int, text: str) -> None:
        if direction == VISITOR_TO_COUNSELLOR:
            await self.visitors[pair].send({"type": "message", "text": text})
        else:
            room = str(pair)
            await self.bots[self.bot_of_pair[pair]].send(
                {"type": "message", "room": room, "text": text}
            )

    def on_frame(self, direction: int, frame: Frame, now_ns: int) -> None:
        if frame.get("type") == "message":
            msg_id = msg_id_of(str(frame.get("text", "")))
            if msg_id is not None:
                self.ledger.arrived(msg_id, direction, now_ns)


async def bare_rig(relay: Child, bots: int, chats: int) -> BareRig:
    """``chats`` rooms on the bare relay, each joined by one of ``bots`` console connections
    (round robin)."""
    rig = BareRig(
        "bare", bot_of_pair=[p % bots for p in range(chats)], redis_client_name=REDIS_CLIENT_NAME
    )
    for _ in range(bots):
        bot = await open_conn(
            f"{relay.ws_url}/ws/console",
            relay.url,
            on_frame=functools.partial(rig.on_frame, VISITOR_TO_COUNSELLOR),
        )
        rig.bots.append(bot)
    for pair in range(chats):
        visitor = await open_conn(
            f"{relay.ws_url}/ws/visitor?room={pair}",
            relay.url,
            on_frame=functools.partial(rig.on_frame, COUNSELLOR_TO_VISITOR),
        )
        ready = visitor.waiter("ready")
        rig.visitors.append(visitor)
        await wait_for(ready, SETUP_TIMEOUT_S)
        bot = rig.bots[rig.bot_of_pair[pair]]
        joined = bot.waiter("joined", room=str(pair))
        await bot.send({"type": "join", "room": str(pair)})
        await wait_for(joined, SETUP_TIMEOUT_S)
    return rig
