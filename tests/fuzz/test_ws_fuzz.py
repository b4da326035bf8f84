"""Property: no WebSocket frame, of any type or none, breaks the visitor, console or
supervisor socket, goes unanswered, or makes the server log an error or the sender's address.

The frame types come from the protocol modules (``VISITOR_FRAME_TYPES``,
``COUNSELLOR_FRAME_TYPES``, ``SUPERVISOR_FRAME_TYPES``), so a new type is fuzzed without
anyone listing it. Each example is a list of frames sent over one connection from the
loopback address 127.0.0.2, which must appear in no log line. After each frame the client
sends a probe (a frame of an unknown type, which every socket answers with an ``error`` that
names it), so everything the server sent before the probe's answer is its answer to that
frame, and silence is seen as silence without waiting for a time to pass. Drawn values refer
to the test's real chat ids and resume tokens as well as fake ones.

Every frame the protocol module refuses gets exactly one ``error`` with the module's code;
every other frame at most one, never ``internal_error``, and a console frame about a chat that
does not exist gets one; a connection closes only with a documented code (4400 or 4404 after a
refused first frame, 4429 after the visitor's 21st error, 1000 after the visitor's ``end``,
1009 for an oversized frame, and aiohttp's 1007 for a text frame that is not UTF-8), never
1011. After the examples a normal chat still works on the same server.

Hypothesis runs in a worker thread and hands each example to the test's event loop, where the
server runs; it is derandomized, so every run sends the same frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from chat_server.domain import console_protocol as cp
from chat_server.domain import protocol as p
from chat_server.domain.outcomes import OUTCOMES
from chat_server.domain.vocabulary import LANGUAGES, TOPICS, TRANSFER_REASONS
from tests.support.servers import TEST_PASSWORD, Client, RunningServer

SOURCE_IP: Final = "127.0.0.2"  # a loopback source address that appears nowhere else
VISITOR_EXAMPLES: Final = 300
CONSOLE_EXAMPLES: Final = 500
SUPERVISOR_EXAMPLES: Final = 100
MAX_FRAMES_PER_EXAMPLE: Final = 12
ANSWER_TIMEOUT_S: Final = 10.0  # a guard against a hang, never waited out by a passing test
EXAMPLE_TIMEOUT_S: Final = 120.0
SUPERVISOR_MAX_FRAME_BYTES: Final = 4096  # supervisor_socket's max_msg_size
NOT_UTF8_CLOSE: Final = 1007  # aiohttp's answer to a text frame that is not UTF-8
ABNORMAL_CLOSE: Final = 1006  # the connection dropped without a close frame
PROBE: Final = "zz-probe-"

ERROR_CODES: Final = frozenset(
    value for name, value in vars(p.ErrorCode).items() if name.isupper()
) - {p.ErrorCode.INTERNAL_ERROR}
DOCUMENTED_CLOSES: Final = frozenset(
    value for name, value in vars(p.CloseCode).items() if name.isupper()
) - {p.CloseCode.INTERNAL_ERROR}
ALL_TYPES: Final = (
    *p.VISITOR_FRAME_TYPES,
    *cp.COUNSELLOR_FRAME_TYPES,
    *p.SUPERVISOR_FRAME_TYPES,
)
OUTCOME_CODES: Final = tuple(o.code for o in OUTCOMES)
PRESENCES: Final = cp.PRESENCES
USERNAMES: Final = ("anna", "bo", "sara", "olle", "nobody", " ANNA ", "")
# Chat ids that name no chat: the first two fit the pattern and are drawn beside the real ids
# of the test's chats; the others do not fit it.
FAKE_CHAT_IDS: Final = ("0" * 32, "f" * 64, "a" * 65, "not a chat", "x")
SURROGATES: Final = ("\ud800", "\udfff", "a\udc80b", "\ud83d", "\udc00\ud800")
NAN_LIKE: Final = ("NaN", "nan", "Infinity", "-Infinity", "1e999", "null", "undefined", "0x10")
ODD_STRINGS: Final = ("", " ", "\t\n ", "\u200b", "\u0000", "\ufeff", "Besökare 4F", "<b>", "%00")
BIG_NUMBERS: Final = (10**30, -(10**30), 2**63, 2**64 + 1, -1, 0, 1)
LONG_SIZES: Final = (33, 65, 129, 2001, 2500, 4097, 16385, 20000)
DEPTHS: Final = (2, 10, 100, 400, 5000, 8000)  # far from the recursion limit either way
# Every field name of the protocol, each with a right value (for fields_read).
RIGHT_VALUES: Final[dict[str, Any]] = {
    **{"chat_id": "0" * 32, "text": "hej", "client_id": "c1", "token": "t" * 32},
    **{"last_seq": 1, "topic": TOPICS[0], "language": LANGUAGES[0], "presence": "available"},
    **{"to": "", "reason": TRANSFER_REASONS[0], "outcome": [OUTCOMES[0].code], "offset": 0},
    **{"user": "anna", "urgent": True, "active": True, "quick": True, "enabled": True},
    **{"on": True},
}
FIELD_NAMES: Final = tuple(RIGHT_VALUES)
OTHER_TYPES: Final = (
    *("", "START", "Message", "message ", " typing", "ping", "hello2", "__proto__"),
    *("type", "error", "welcome", "queue", "live", "\u0000", "take\u200b"),
)
RAW_TEXTS: Final = (
    *("", " ", "{", "}", "[]", "null", "42", '"start"', "NaN", "{'type': 'start'}"),
    *('{"type":"start"', '{"type":"start"}{"type":"end"}', '{"type":"start","type":"end"}'),
    '\ufeff{"type":"start"}',
    "9" * 5000,  # over Python's digit limit for int()
    "[" * 5000 + "]" * 5000,
    '{"type":"message","text":"\\ud800"}',
    '{"type":"message","text":"\\u0000"}',
    '{"type":"resume","token":"a","last_seq":1e400}',
    '{"type":"queue_page","offset":' + "9" * 4400 + "}",
    '{"type":"queue_page","offset":1.0}',
    '{"type":"take","chat_id":"\\ud800"}',
    '{"type":"' + "x" * 20000 + '"}',
)
RAW_BINARIES: Final = (b'{"type":"start"}', b"", b"\x00" * 10, b'{"type":"hello"}')
NOT_UTF8: Final = (
    b'{"type":"message","text":"\xff"}',
    b"\xc3\x28",
    b'{"type":"start","topic":"\xed\xa0\x80"}',  # a surrogate, UTF-8 encoded
    b"\xf4\x90\x80\x80",
)
# A console frame that reads a chat id must be refused for a chat that never was, and for one
# that ended, except these: `chat_done` counts any chat id towards the break suggestion (as
# docs/protocol.md says); `outcome` is for ended chats.
ANY_CHAT_ID: Final = frozenset({"chat_done"})
ENDED_CHAT_ID: Final = frozenset({"outcome"})


# --- what is drawn ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRef:
    """A real chat id of this test, resolved when sent: the ``index``-th most recent one seen,
    or (``mine``) offered to or opened by the console's user."""

    index: int
    mine: bool = False


@dataclass(frozen=True)
class TokenRef:
    """A real resume token of this test, resolved when sent."""

    index: int


@dataclass(frozen=True)
class Long:
    size: int
    char: str


@dataclass(frozen=True)
class Deep:
    """A nested JSON value, written out flat (``json.dumps`` itself would hit the recursion
    limit); unclosed, it is malformed JSON."""

    depth: int
    opener: str
    closed: bool

    def to_json(self) -> str:
        closer = "]" if self.opener == "[" else "}"
        inner = "1" if self.opener != "[" else ""
        return self.opener * self.depth + inner + (closer * self.depth if self.closed else "")


class Absent:
    """The frame has no ``type`` at all."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent()
# One of each kind of value, for one_wrong_field (some are right for some fields).
WRONG_VALUES: Final[tuple[Any, ...]] = (
    *(None, True, False, 0, -1, 10**30, 1.5, float("nan"), float("inf"), "", " ", "\ud800"),
    *(Long(2001, "x"), [], ["x"], {}, {"a": 1}, Deep(400, "[", closed=True)),
)


@dataclass(frozen=True)
class Drawn:
    """One frame as drawn: ``json`` (a value to encode), ``text``, ``binary`` or ``not_utf8``
    (bytes sent in a text frame)."""

    form: str
    value: Any


@dataclass(frozen=True)
class Wire:
    """One frame as sent."""

    data: str | bytes
    text: bool

    @property
    def size(self) -> int:
        return len(self.data.encode() if isinstance(self.data, str) else self.data)


@dataclass
class Pool:
    """The real chat ids and tokens seen so far, for drawn values to refer to."""

    chat_ids: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    ended: set[str] = field(default_factory=set)
    user: str = ""  # the console's, while an example runs
    held: dict[str, list[str]] = field(default_factory=dict)  # per user, oldest first
    owed: dict[str, list[str]] = field(default_factory=dict)  # ended, outcome pending
    offered: dict[str, list[str]] = field(default_factory=dict)

    def chat_id(self, ref: ChatRef) -> str:
        known: list[str] = []
        if ref.mine:  # the user's chats, most recent first, then those that owe an outcome
            known = [
                *self.held.get(self.user, [])[::-1],
                *self.owed.get(self.user, [])[::-1],
                *self.offered.get(self.user, [])[::-1],
            ]
        known = known or self.chat_ids[::-1]
        return known[ref.index % len(known)] if known else FAKE_CHAT_IDS[0]

    def token(self, index: int) -> str:
        if not self.tokens:
            return "t" * 32
        return self.tokens[-1 - index % len(self.tokens)]

    def learn(self, frame: dict[str, Any]) -> None:
        """Remember the chat ids and tokens a server frame shows."""
        chats = frame.get("chats")
        rows: list[Any] = chats if isinstance(chats, list) else []
        for item in [frame, *rows]:
            chat_id = item.get("chat_id") if isinstance(item, dict) else None
            if isinstance(chat_id, str) and chat_id and chat_id not in self.chat_ids:
                self.chat_ids.append(chat_id)
        kind = frame.get("type")
        held = self.held.setdefault(self.user, [])
        if kind in ("chat_ended", "chat_released") and frame["chat_id"] in held:
            held.remove(frame["chat_id"])
        if kind == "chat_ended":
            self.ended.add(frame["chat_id"])
            if frame.get("outcome_pending"):
                self.owed.setdefault(self.user, []).append(frame["chat_id"])
        elif kind == "outcomes_pending":
            self.owed[self.user] = [row["chat_id"] for row in rows]
        elif kind == "chat_opened":
            held.append(frame["chat_id"])
        elif kind == "hello" and self.user:  # the chats the user holds now
            held[:] = [row["chat_id"] for row in rows]
        offered = self.offered.setdefault(self.user, [])
        if kind in ("offer_withdrawn", "chat_opened", "chat_ended") and frame["chat_id"] in offered:
            offered.remove(frame["chat_id"])
        if kind == "offer":
            offered.append(frame["chat_id"])
        if frame.get("type") == "welcome" and isinstance(frame.get("token"), str):
            self.tokens.append(frame["token"])

    def encode(self, value: Any) -> str:
        """``value`` as JSON text, ASCII only, so a lone surrogate travels as its escape."""
        if isinstance(value, dict):
            items = (f"{json.dumps(k)}:{self.encode(v)}" for k, v in value.items())
            return "{" + ",".join(items) + "}"
        if isinstance(value, list):
            return "[" + ",".join(self.encode(v) for v in value) + "]"
        if isinstance(value, ChatRef):
            return json.dumps(self.chat_id(value))
        if isinstance(value, TokenRef):
            return json.dumps(self.token(value.index))
        if isinstance(value, Long):
            return json.dumps(value.char * value.size)
        if isinstance(value, Deep):
            return value.to_json()
        return json.dumps(value, ensure_ascii=True)

    def wire(self, drawn: Drawn) -> Wire:
        if drawn.form == "json":
            return Wire(self.encode(drawn.value), text=True)
        return Wire(drawn.value, text=drawn.form in ("text", "not_utf8"))


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn about as often as its weight says (``one_of`` gives
    no weights)."""
    slots = [strategy for weight, strategy in choices for _ in range(weight)]

    @st.composite
    def one(draw: st.DrawFn) -> Any:
        return draw(slots[draw(st.integers(0, len(slots) - 1))])

    return one()


def wild_values() -> st.SearchStrategy[Any]:
    """Values of every wrong kind, and some right-looking ones."""
    scalars = weighted(
        (2, st.none()),
        (2, st.booleans()),
        (2, st.integers()),
        (1, st.sampled_from(BIG_NUMBERS)),
        (2, st.floats()),  # NaN and infinities included
        (1, st.text(max_size=12)),
        (1, st.sampled_from(SURROGATES)),
        (1, st.sampled_from(NAN_LIKE)),
        (1, st.sampled_from(ODD_STRINGS)),
        (1, st.builds(Long, st.sampled_from(LONG_SIZES), st.sampled_from(("x", "é", " ")))),
        (
            1,
            st.builds(
                Deep, st.sampled_from(DEPTHS), st.sampled_from(("[", '{"a":')), st.booleans()
            ),
        ),
        (1, st.sampled_from((*TOPICS, *LANGUAGES, *PRESENCES, *TRANSFER_REASONS, *OUTCOME_CODES))),
        (1, st.sampled_from(USERNAMES)),
        (1, st.integers(0, 7).map(ChatRef)),
        (1, st.integers(0, 3).map(TokenRef)),
    )
    keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=6), st.sampled_from(SURROGATES))
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=6,
    )


WILD: Final = wild_values()
PLAUSIBLE: Final[dict[str, st.SearchStrategy[Any]]] = {
    "chat_id": weighted(
        (4, st.builds(ChatRef, st.integers(0, 2), st.just(True))),
        (4, st.integers(0, 2).map(ChatRef)),
        (1, st.integers(3, 9).map(ChatRef)),
        (1, st.sampled_from(FAKE_CHAT_IDS[:2])),
    ),
    "text": st.one_of(
        st.sampled_from(("hej", "Hej! Jag heter Anna.", "  trimmed  ")), st.text(max_size=30)
    ),
    "client_id": st.sampled_from(("c1", "k2", "x" * 64)),
    "token": st.integers(0, 3).map(TokenRef),
    "last_seq": st.integers(0, 12),
    "topic": st.sampled_from(("", *TOPICS)),
    "language": st.sampled_from(("", *LANGUAGES)),
    "presence": weighted((3, st.just("available")), (1, st.sampled_from(PRESENCES))),
    "to": weighted((1, st.just("")), (2, st.sampled_from(USERNAMES))),  # "": back to the queue
    "reason": st.sampled_from(TRANSFER_REASONS),
    "outcome": st.lists(st.sampled_from(OUTCOME_CODES), max_size=3),
    "offset": st.integers(0, 120),
    "user": st.sampled_from(USERNAMES),
    **{name: st.booleans() for name in ("urgent", "active", "quick", "enabled", "on")},
}
# For one_wrong_field: real ids where RIGHT_VALUES has fake ones.
PLAUSIBLE_VALUE: Final[dict[str, Any]] = {"chat_id": ChatRef(0, mine=True), "token": TokenRef(0)}
MOSTLY_PLAUSIBLE: Final = {name: weighted((1, PLAUSIBLE[name]), (1, WILD)) for name in FIELD_NAMES}
EXTRA_FIELDS: Final = st.dictionaries(
    st.one_of(st.text(max_size=8), st.sampled_from(SURROGATES)), WILD, max_size=2
)


def type_values(types: Sequence[str]) -> st.SearchStrategy[Any]:
    """Mostly the socket's own types; also other sockets' types, odd strings, non-strings
    and no type at all."""
    return weighted(
        (12 if types else 0, st.sampled_from(types or ("",))),
        (2, st.sampled_from((*ALL_TYPES, *OTHER_TYPES))),
        (1, st.text(max_size=10)),
        (1, st.sampled_from(SURROGATES)),
        (1, st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=3)))),
        (1, st.just(ABSENT)),
    )


Reads = dict[str, tuple[str, ...]]


def fields_read(parse: Callable[[str | bytes], Any], types: Sequence[str]) -> Reads:
    """Per type, the fields its parser looks at: those whose wrong value changes what it
    makes of a frame. Worked out from the parser, so a new type's fields are found too; the
    fuzz then breaks one of them at a time."""

    def outcome(frame: dict[str, Any]) -> str:
        try:
            return repr(parse(json.dumps(frame)))
        except p.ProtocolError as error:
            return f"{error.code}: {error.detail}"

    reads = {}
    for kind in types:
        right = {**RIGHT_VALUES, "type": kind}
        reference = outcome(right)
        reads[kind] = tuple(
            name for name in FIELD_NAMES if outcome({**right, name: {"wrong": []}}) != reference
        )
    return reads


def objects(
    types: Sequence[str], reads: Reads | None = None, *, wild: bool = True
) -> st.SearchStrategy[Drawn]:
    """JSON objects of the given types. The fields the type reads are right-looking, or
    (``wild``) one of them is absent or of any kind, or each may be; a few fields it does not
    read come along; ``wild`` also draws other types and none."""
    reads = reads or {}
    kinds = type_values(types) if wild else st.sampled_from(types)
    modes = ("one_wrong", "one_wrong", "any", "some", "every") if wild else ("some", "every")
    others = st.lists(st.sampled_from(FIELD_NAMES), max_size=2, unique=True)
    presence = st.sampled_from(("right", "right", "absent", "wrong"))

    @st.composite
    def one(draw: st.DrawFn) -> Drawn:
        kind = draw(kinds)
        read = reads.get(kind, ()) if isinstance(kind, str) else ()
        fields: dict[Any, Any] = draw(EXTRA_FIELDS) if wild and draw(st.booleans()) else {}
        for name in draw(others):
            fields[name] = draw(MOSTLY_PLAUSIBLE[name] if wild else PLAUSIBLE[name])
        mode = draw(st.sampled_from(modes))
        for name in read:
            fields[name] = draw(PLAUSIBLE[name])
        if mode == "one_wrong" and read:
            name = draw(st.sampled_from(read))
            if draw(st.integers(0, 3)):
                fields[name] = draw(WILD)
            else:
                del fields[name]
        elif mode in ("some", "any"):
            for name in read:
                how = (
                    draw(presence) if mode == "any" else draw(st.sampled_from(("right", "absent")))
                )
                if how == "absent":
                    del fields[name]
                elif how == "wrong":
                    fields[name] = draw(WILD)
        if kind is not ABSENT:
            fields["type"] = kind
        return Drawn("json", fields)

    return one()


def frames(types: Sequence[str], reads: Reads | None = None) -> st.SearchStrategy[Drawn]:
    """Any frame: mostly objects, also other JSON, text that is no JSON, binary frames and
    text frames that are not UTF-8."""
    return weighted(
        (16, objects(types, reads)),
        (1, WILD.map(lambda value: Drawn("json", value))),
        (1, st.text(max_size=40).map(lambda text: Drawn("text", text))),
        (1, st.sampled_from(RAW_TEXTS).map(lambda text: Drawn("text", text))),
        (1, st.binary(max_size=40).map(lambda raw: Drawn("binary", raw))),
        (1, st.sampled_from(RAW_BINARIES).map(lambda raw: Drawn("binary", raw))),
        (1, st.sampled_from(NOT_UTF8).map(lambda raw: Drawn("not_utf8", raw))),
    )


def examples(
    first: st.SearchStrategy[Drawn],
    types: Sequence[str],
    reads: Reads,
    *more: st.SearchStrategy[Any],
) -> st.SearchStrategy[Any]:
    """The frames that follow the first, the first (the hello, or anything), and ``more``.
    The list is drawn first: drawn after the first frame, it came out with one element in
    half the examples."""
    return st.tuples(frame_lists(frames(types, reads)), first, *more)


def frame_lists(frame: st.SearchStrategy[Drawn]) -> st.SearchStrategy[list[Drawn]]:
    """1 to MAX_FRAMES_PER_EXAMPLE frames, every length about as likely (Hypothesis' lists
    are mostly short), no two alike (its lists repeat elements on purpose; here that would
    mostly resend what was just answered)."""
    return st.integers(1, MAX_FRAMES_PER_EXAMPLE).flatmap(
        lambda size: st.lists(frame, min_size=size, max_size=size, unique_by=repr)
    )


# --- what the server must answer --------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What the protocol module makes of a frame: too big, not UTF-8, refused with ``code``,
    or accepted as ``message``."""

    too_big: bool = False
    not_utf8: bool = False
    code: str = ""
    message: Any = None


def judge(wire: Wire, parse: Callable[[str | bytes], Any], max_bytes: int) -> Verdict:
    if wire.size > max_bytes:
        return Verdict(too_big=True)
    received: str | bytes = wire.data
    if wire.text and isinstance(wire.data, bytes):
        try:
            received = wire.data.decode("utf-8")
        except UnicodeDecodeError:
            return Verdict(not_utf8=True)
    try:
        return Verdict(message=parse(received))
    except p.ProtocolError as error:
        return Verdict(code=error.code)


def supervisor_code(received: str | bytes) -> str:
    """The live view's answer, worked out from docs/protocol.md rather than the module: the
    decode errors, else ``unknown_type`` ("" for a type the view knows: any one error)."""
    if isinstance(received, bytes):
        return p.ErrorCode.BINARY_NOT_SUPPORTED
    try:
        data = json.loads(received)
    except (ValueError, RecursionError):
        return p.ErrorCode.MALFORMED_JSON
    if not isinstance(data, dict):
        return p.ErrorCode.NOT_AN_OBJECT
    if not isinstance(data.get("type"), str):
        return p.ErrorCode.MISSING_FIELD
    return "" if data["type"] in p.SUPERVISOR_FRAME_TYPES else p.ErrorCode.UNKNOWN_TYPE


def decoded(wire: Wire) -> dict[str, Any]:
    """The frame as the server decodes it ({} if it is no JSON object with a type)."""
    try:
        return p.decode_object(wire.data)
    except p.ProtocolError:
        return {}


@dataclass
class Reply:
    """The frames the server sent before the probe's answer, and the close code if it closed
    instead of answering the probe."""

    frames: list[dict[str, Any]]
    close: int | None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame.get("type") == "error"]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame.get("type") == kind]


def check_answer(wire: Wire, verdict: Verdict, reply: Reply) -> None:
    """What holds for every frame on every socket."""
    context = f"sent {wire.data[:300]!r}, got {reply.frames[:6]}, close {reply.close}"
    assert reply.close != p.CloseCode.INTERNAL_ERROR, context
    assert reply.close in {None, *DOCUMENTED_CLOSES, NOT_UTF8_CLOSE}, context
    for error in reply.errors:
        assert error.get("code") in ERROR_CODES, context
    if verdict.too_big:
        assert (reply.close, reply.errors) == (p.CloseCode.MESSAGE_TOO_BIG, []), context
    elif verdict.not_utf8:
        assert (reply.close, reply.errors) == (NOT_UTF8_CLOSE, []), context
    elif verdict.code:
        assert [e["code"] for e in reply.errors] == [verdict.code], context
    else:
        assert len(reply.errors) <= 1, context
    assert reply.close != NOT_UTF8_CLOSE or verdict.not_utf8, context


class LogLines(logging.Handler):
    """Every server log line (the test's own websockets client left out), for a look at the
    lines of one example."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.addFilter(lambda record: not record.name.startswith("websockets.client"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def watching_logs() -> Iterator[LogLines]:
    watch = LogLines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        root.setLevel(old_level)


def suspicious(text: str) -> list[str]:
    """Lines that tell of a bug (a traceback, an error, a failed frame) or hold the address."""
    return [
        line
        for line in text.splitlines()
        if "Traceback" in line
        or SOURCE_IP in line
        or line.startswith(("ERROR ", "CRITICAL "))
        or (line.startswith(("WARNING chat_server", "INFO chat_server")) and "failed" in line)
    ]


# --- the connections --------------------------------------------------------------------


def is_probe_answer(error: dict[str, Any], probe: str) -> bool:
    """The visitor's error names the unknown type; the others echo the frame's client id."""
    return error.get("client_id") == probe or f"'{probe}'" in str(error.get("message"))


class Socket:
    """One fuzzed connection: each frame is followed by a probe, and what came before the
    probe's answer is the frame's answer."""

    def __init__(self, ws: ClientConnection, pool: Pool) -> None:
        self.ws = ws
        self.pool = pool
        self.probes = 0
        self.errors = 0  # error frames received, probes' answers included
        self.close: int | None = None

    async def exchange(self, wire: Wire) -> Reply:
        self.probes += 1
        probe = f"{PROBE}{self.probes}"
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(wire.data, text=wire.text)
            await self.ws.send(json.dumps({"type": probe, "client_id": probe}))
        return await self.read(until_probe=probe)

    async def read(self, until_probe: str = "") -> Reply:
        """Frames until the probe's answer, or (no probe) until the close."""
        frames: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                while True:
                    raw = await self.ws.recv()
                    assert isinstance(raw, str), f"a binary frame from the server: {raw!r}"
                    frame = json.loads(raw)
                    assert isinstance(frame, dict), raw
                    self.pool.learn(frame)
                    if frame.get("type") == "error":
                        self.errors += 1
                        if until_probe and is_probe_answer(frame, until_probe):
                            return Reply(frames, None)
                    frames.append(frame)
        except ConnectionClosed as closed:
            self.close = closed.rcvd.code if closed.rcvd else ABNORMAL_CLOSE
            return Reply(frames, self.close)
        except TimeoutError:
            raise AssertionError(f"no answer in {ANSWER_TIMEOUT_S} s after {frames}") from None

    async def closing(self, reply: Reply) -> tuple[int, list[dict[str, Any]]]:
        """The close code (after ``reply``, if it did not end with it) and the frames before."""
        if reply.close is not None:
            return reply.close, reply.frames
        rest = await self.read()
        return rest.close or ABNORMAL_CLOSE, reply.frames + rest.frames

    async def aclose(self) -> None:
        await self.ws.close()


async def sign_in(server: RunningServer, username: str) -> str:
    """The session cookie of ``username``, signed in through the real form from SOURCE_IP."""
    connector = aiohttp.TCPConnector(local_addr=(SOURCE_IP, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(
            f"{server.url}/console/login",
            data={"username": username, "password": TEST_PASSWORD},
            headers={"Origin": server.url},
            allow_redirects=False,
        ) as response,
    ):
        cookie = response.cookies.get("__Host-nexus_session")
    assert cookie is not None, f"login failed for {username}"
    return cookie.value


async def open_ws(server: RunningServer, path: str, cookie: str = "") -> ClientConnection:
    headers = {"Cookie": f"__Host-nexus_session={cookie}"} if cookie else {}
    return await connect(
        f"{server.ws_url}{path}",
        origin=Origin(server.url),
        additional_headers=headers,
        local_addr=(SOURCE_IP, 0),
        max_size=2**22,
        ping_interval=None,  # its ping payload would draw from `random` under Hypothesis' eyes
    )


def run_examples(
    loop: asyncio.AbstractEventLoop,
    strategy: st.SearchStrategy[Any],
    run_one: Callable[[Any], Coroutine[Any, Any, None]],
    max_examples: int,
) -> None:
    """Run Hypothesis in this (worker) thread; each example runs on ``loop``."""

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def every_frame_is_answered(example: Any) -> None:
        future = asyncio.run_coroutine_threadsafe(run_one(example), loop)
        try:
            future.result(EXAMPLE_TIMEOUT_S)
        finally:
            future.cancel()

    every_frame_is_answered()


async def fuzz(
    watch: LogLines,
    strategy: st.SearchStrategy[Any],
    run_one: Callable[[Any], Coroutine[Any, Any, None]],
    max_examples: int,
    sweep: Sequence[Any] = (),
) -> None:
    """Run the ``sweep`` examples, then Hypothesis' ones; after each, its log lines must hold
    nothing suspicious."""

    async def checked(example: Any) -> None:
        before = len(watch.lines)
        await run_one(example)
        assert not suspicious("\n".join(watch.lines[before:]))

    for example in sweep:
        await checked(example)
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(run_examples, loop, strategy, checked, max_examples)


def one_wrong_field(types: Sequence[str], reads: Reads) -> list[list[Drawn]]:
    """Every field each type reads, absent and with each kind of wrong value (a chat id also
    with each fake one), the other fields right, in lists of MAX_FRAMES_PER_EXAMPLE: the
    combinations that random draws reach only now and then."""
    sent: list[Drawn] = []
    for kind in types:
        right = {name: PLAUSIBLE_VALUE.get(name, RIGHT_VALUES[name]) for name in reads[kind]}
        for name in reads[kind]:
            wrong = (*WRONG_VALUES, *FAKE_CHAT_IDS) if name == "chat_id" else WRONG_VALUES
            absent = {key: value for key, value in right.items() if key != name}
            sent.append(Drawn("json", {**absent, "type": kind}))
            sent.extend(Drawn("json", {**right, name: value, "type": kind}) for value in wrong)
    step = MAX_FRAMES_PER_EXAMPLE
    return [sent[at : at + step] for at in range(0, len(sent), step)]


# --- after the fuzz: a normal chat -------------------------------------------------------


async def waiting_chat_ids(console: Client) -> set[str]:
    """Every waiting chat, page by page."""
    found: set[str] = set()
    offset = 0
    while True:
        await console.send(type="queue_page", offset=offset)
        page = await console.expect("queue_page", offset=offset)
        found.update(row["chat_id"] for row in page["chats"])
        if len(page["chats"]) < cp.QUEUE_PAGE_SIZE:
            return found
        offset += cp.QUEUE_PAGE_SIZE


async def end_chats(server: RunningServer, tokens: list[str]) -> None:
    """Each visitor of ``tokens`` comes back and ends their chat (the fuzz's chats would
    otherwise wait in the queue, and be offered to the counsellor of the normal chat)."""
    for token in tokens:
        visitor = Client(await open_ws(server, "/ws/visitor"))
        await visitor.send(type="resume", token=token)
        answer = await visitor.expect_any(("welcome", "error"))
        if answer["type"] == "welcome":
            await visitor.send(type="end")
        with contextlib.suppress(ConnectionClosed):
            while True:
                await visitor.recv()
        expected = p.CloseCode.NORMAL if answer["type"] == "welcome" else p.CloseCode.UNKNOWN_TOKEN
        assert visitor.ws.close_code == expected, (answer, visitor.seen)


async def a_normal_chat_works(server: RunningServer) -> None:
    """Start, take, a message each way, end: as if nothing had been sent before."""
    console = Client(await open_ws(server, "/ws/console", await sign_in(server, "bo")))
    await console.send(type="hello", presence="available")
    await console.expect("hello")
    before = await waiting_chat_ids(console)
    visitor = Client(await open_ws(server, "/ws/visitor"))
    await visitor.send(type="start", language="sv")
    await visitor.expect("welcome", resumed=False)
    (chat_id,) = await waiting_chat_ids(console) - before
    await console.send(type="take", chat_id=chat_id)
    opened = await console.expect_any(("chat_opened", "error"))
    assert opened == {**opened, "type": "chat_opened", "chat_id": chat_id}, opened
    await visitor.expect("state", state="active")
    await visitor.send(type="message", text="Hej, jag behöver prata.", client_id="v1")
    await visitor.expect("message", client_id="v1")
    got = await console.expect("message", chat_id=chat_id, sender="visitor")
    assert got["text"] == "Hej, jag behöver prata."
    await console.send(type="message", chat_id=chat_id, text="Hej! Jag heter Bo.", client_id="k1")
    await console.expect("message", chat_id=chat_id, client_id="k1")
    got = await visitor.expect("message", sender="counsellor")
    assert got["text"] == "Hej! Jag heter Bo."
    await console.send(type="end", chat_id=chat_id)
    await visitor.expect("ended", reason="counsellor_ended")
    await console.expect("chat_ended", chat_id=chat_id)
    with contextlib.suppress(ConnectionClosed):
        while True:
            await visitor.recv()  # the survey's token may come before the close
    assert visitor.ws.close_code == p.CloseCode.NORMAL
    await console.close()


def assert_log_clean(printed: str) -> None:
    assert "GET /ws/visitor 101" in printed  # the access log ran and was captured
    assert suspicious(printed) == []


# --- the visitor socket -----------------------------------------------------------------


def visitor_parse(max_text_chars: int) -> Callable[[str | bytes], Any]:
    return lambda frame: p.parse_visitor_message(frame, max_text_chars=max_text_chars)


async def test_no_visitor_frame_breaks_the_visitor_socket(
    server: RunningServer, log_capture: Any
) -> None:
    """Random visitor frames (first frame and later ones): each refused one gets its error,
    the socket closes only with a documented code, and nothing bad reaches the log."""
    settings_ = server.settings
    parse = visitor_parse(settings_.max_text_chars)
    limit = settings_.max_frame_bytes
    most_errors = settings_.max_protocol_errors
    pool = Pool()

    async def opened() -> Socket:
        return Socket(await open_ws(server, "/ws/visitor"), pool)

    async def started() -> Socket:
        sock = await opened()
        reply = await sock.exchange(Wire(json.dumps({"type": "start"}), text=True))
        assert reply.of_type("welcome") and reply.close is None, reply
        sock.errors = 1  # the probe's
        return sock

    async def hello(sock: Socket, drawn: Drawn) -> None:
        wire = pool.wire(drawn)
        verdict = judge(wire, parse, limit)
        reply = await sock.exchange(wire)
        check_answer(wire, verdict, reply)
        message, codes = verdict.message, [e["code"] for e in reply.errors]
        context = (wire.data[:300], reply)
        if verdict.too_big or verdict.not_utf8:
            return
        if verdict.code:
            assert reply.close == p.CloseCode.HANDSHAKE_EXPECTED, context
        elif isinstance(message, p.StartChat):
            (welcome,) = reply.of_type("welcome")
            assert welcome["resumed"] is False and welcome["token"], context
            assert reply.close is None, context
        elif isinstance(message, p.ResumeChat):
            if reply.of_type("welcome"):
                assert reply.of_type("welcome")[0]["resumed"] is True, context
                assert reply.close is None, context
            else:
                assert codes == [p.ErrorCode.CHAT_NOT_FOUND], context
                assert reply.close == p.CloseCode.UNKNOWN_TOKEN, context
        else:
            assert codes == [p.ErrorCode.NOT_ALLOWED_NOW], context
            assert reply.close == p.CloseCode.HANDSHAKE_EXPECTED, context
        sock.errors = 0 if reply.close else 1  # the server counts from its hello on

    async def later(sock: Socket, drawn: Drawn) -> None:
        wire = pool.wire(drawn)
        verdict = judge(wire, parse, limit)
        reply = await sock.exchange(wire)
        check_answer(wire, verdict, reply)
        message, codes = verdict.message, [e["code"] for e in reply.errors]
        context = (wire.data[:300], reply, sock.errors)
        if verdict.too_big or verdict.not_utf8:
            return
        if isinstance(message, p.EndChat):
            close, seen = await sock.closing(reply)
            assert close in (p.CloseCode.NORMAL, p.CloseCode.TOO_MANY_ERRORS), context
            assert close != p.CloseCode.NORMAL or any(f["type"] == "ended" for f in seen), context
        elif sock.errors > most_errors:
            close, _seen = await sock.closing(reply)
            assert close == p.CloseCode.TOO_MANY_ERRORS, context
            assert sock.errors == most_errors + 1, context
        else:
            assert reply.close is None, context
        if verdict.code:
            return
        if isinstance(message, p.StartChat | p.ResumeChat):
            assert codes == [p.ErrorCode.NOT_ALLOWED_NOW], context
        elif isinstance(message, p.SendText):
            assert codes in ([], [p.ErrorCode.RATE_LIMITED]), context
            for error in reply.errors:
                assert error.get("client_id", "") == message.client_id, context
        elif isinstance(message, p.Typing):
            assert codes == [], context

    async def one(example: tuple[list[Drawn], Drawn]) -> None:
        rest, first = example
        sock = await opened()
        try:
            await hello(sock, first)
            for drawn in rest:
                if sock.close is not None:
                    await sock.aclose()
                    sock = await started()
                await later(sock, drawn)
        finally:
            await sock.aclose()

    reads = fields_read(parse, p.VISITOR_FRAME_TYPES)
    first = weighted(
        (4, objects(("start",), wild=False)),
        (2, objects(("resume",), wild=False)),
        (2, objects(p.VISITOR_FRAME_TYPES, reads)),
        (1, frames(p.VISITOR_FRAME_TYPES, reads)),
    )
    strategy = examples(first, p.VISITOR_FRAME_TYPES, reads)
    start = Drawn("json", {"type": "start"})
    sweep = [(rest, start) for rest in one_wrong_field(p.VISITOR_FRAME_TYPES, reads)]
    with watching_logs() as watch:
        await fuzz(watch, strategy, one, VISITOR_EXAMPLES, sweep)
        await end_chats(server, pool.tokens)
        await a_normal_chat_works(server)
    assert_log_clean(log_capture.getvalue())


# --- the console socket -----------------------------------------------------------------


@dataclass
class Waiters:
    """Visitors waiting in the queue (and chatting once taken), for the consoles to take:
    each reads everything the server sends it and remembers how it was closed."""

    server: RunningServer
    waiting: dict[int, bool] = field(default_factory=dict)
    sockets: list[ClientConnection] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    leaving: set[int] = field(default_factory=set)

    async def top_up(self, count: int = 3) -> None:
        """Start visitors until ``count`` of them wait."""
        while sum(self.waiting.values()) < count:
            ws = await open_ws(self.server, "/ws/visitor")
            await ws.send(json.dumps({"type": "start", "language": "sv"}))
            key = len(self.sockets)
            self.sockets.append(ws)
            self.waiting[key] = True
            self.tasks.append(asyncio.create_task(self._listen(key, ws)))

    async def leave(self) -> None:
        """The visitor of the oldest answered chat ends it (its counsellor then owes an
        outcome)."""
        answered = [key for key, waiting in self.waiting.items() if not waiting]
        if answered:
            await self._end(answered[0])
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                await self.tasks[answered[0]]

    async def _end(self, key: int) -> None:
        self.leaving.add(key)
        with contextlib.suppress(ConnectionClosed):
            await self.sockets[key].send(json.dumps({"type": "end"}))

    async def _listen(self, key: int, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "state":
                    self.waiting[key] = frame.get("state") == "waiting"
                # A counsellor may have ended the chat just before its visitor's `end`.
                late_end = key in self.leaving and frame.get("code") == p.ErrorCode.CHAT_NOT_FOUND
                assert frame.get("type") != "error" or late_end, f"a visitor got {frame}"
        except ConnectionClosed:
            pass
        finally:
            self.waiting.pop(key, None)
            self.closes.append(ws.close_code or ABNORMAL_CLOSE)

    async def stop(self) -> None:
        """Every visitor ends their chat; none may have got an error or a close other than
        1000."""
        for key in range(len(self.sockets)):
            await self._end(key)
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            await asyncio.gather(*self.tasks)
        assert set(self.closes) <= {p.CloseCode.NORMAL}, self.closes


def console_parse(max_text_chars: int) -> Callable[[str | bytes], Any]:
    return lambda frame: cp.parse_counsellor_message(frame, max_text_chars=max_text_chars)


async def test_no_console_frame_breaks_the_console_socket(
    server: RunningServer, log_capture: Any
) -> None:
    """Random console frames, as a counsellor and as a supervisor, on real chats: each refused
    one gets its error, a frame about a chat that does not exist is refused, the socket stays
    open, and nothing bad reaches the log."""
    parse = console_parse(server.settings.max_text_chars)
    limit = server.settings.max_frame_bytes
    pool = Pool()
    waiters = Waiters(server)
    cookies = {user: await sign_in(server, user) for user in ("anna", "sara")}
    reads = fields_read(parse, cp.COUNSELLOR_FRAME_TYPES)
    about_a_chat = frozenset(kind for kind, fields in reads.items() if "chat_id" in fields)

    async def opened(user: str) -> Socket:
        return Socket(await open_ws(server, "/ws/console", cookies[user]), pool)

    async def hello(sock: Socket, user: str, drawn: Drawn) -> None:
        wire = pool.wire(drawn)
        verdict = judge(wire, parse, limit)
        reply = await sock.exchange(wire)
        check_answer(wire, verdict, reply)
        message, codes = verdict.message, [e["code"] for e in reply.errors]
        context = (wire.data[:300], reply)
        if verdict.too_big or verdict.not_utf8:
            return
        if verdict.code:
            assert reply.close == p.CloseCode.HANDSHAKE_EXPECTED, context
        elif isinstance(message, cp.ConsoleHello):
            (answer,) = reply.of_type("hello")
            assert answer["user"] == user, context
            assert answer["presence"] == (message.presence or answer["presence"]), context
            assert reply.close is None and codes == [], context
        else:
            assert codes == [p.ErrorCode.NOT_ALLOWED_NOW], context
            assert reply.close == p.CloseCode.HANDSHAKE_EXPECTED, context

    async def later(sock: Socket, drawn: Drawn) -> Reply:
        wire = pool.wire(drawn)
        verdict = judge(wire, parse, limit)
        data = decoded(wire)
        chat_id = getattr(verdict.message, "chat_id", "")
        refused = frozenset[str]()
        if chat_id in FAKE_CHAT_IDS:
            refused = about_a_chat - ANY_CHAT_ID
        elif chat_id in pool.ended:  # before this frame
            refused = about_a_chat - ANY_CHAT_ID - ENDED_CHAT_ID
        reply = await sock.exchange(wire)
        check_answer(wire, verdict, reply)
        codes = [e["code"] for e in reply.errors]
        context = (wire.data[:300], reply)
        if verdict.too_big or verdict.not_utf8:
            return reply
        assert reply.close is None, context  # the console has no error limit
        for error in reply.errors:  # an error names the refused frame's chat, if any
            assert "chat_id" not in error or error["chat_id"] == data["chat_id"], context
        if verdict.code:
            return reply
        if isinstance(verdict.message, cp.ConsoleHello):
            assert codes == [p.ErrorCode.NOT_ALLOWED_NOW], context
        elif data["type"] in refused:
            assert len(codes) == 1, context
        return reply

    async def hold_a_chat(sock: Socket, user: str) -> None:
        """Valid frames that make the user hold a chat (the fuzzed ones have one to use)."""
        if sock.close is not None or pool.held.get(user):
            return
        await later(sock, Drawn("json", {"type": "presence", "presence": "available"}))
        offers = pool.offered.setdefault(user, [])
        while offers:  # pending offers count against the capacity: accept one
            reply = await later(sock, Drawn("json", {"type": "accept", "chat_id": offers[-1]}))
            if reply.of_type("chat_opened"):
                return
            offers.pop()  # it went elsewhere, or timed out while no console of theirs was open
        await later(sock, Drawn("json", {"type": "take"}))

    async def one(example: tuple[list[Drawn], Drawn, str, bool]) -> None:
        rest, first, user, a_visitor_leaves = example
        pool.user = user
        if a_visitor_leaves:
            await waiters.leave()
        await waiters.top_up()
        sock = await opened(user)
        try:
            await hello(sock, user, first)
            await hold_a_chat(sock, user)
            for drawn in rest:
                if sock.close is not None:
                    await sock.aclose()
                    sock = await opened(user)
                    await hello(sock, user, Drawn("json", {"type": "hello"}))
                await later(sock, drawn)
        finally:
            await sock.aclose()

    first = weighted(
        (6, objects(("hello",), wild=False)),
        (1, objects(cp.COUNSELLOR_FRAME_TYPES, reads)),
        (1, frames(())),
    )
    users = st.sampled_from(("anna", "anna", "sara"))
    strategy = examples(first, cp.COUNSELLOR_FRAME_TYPES, reads, users, st.booleans())
    available = Drawn("json", {"type": "hello", "presence": "available"})
    sweep = [
        (rest, available, ("anna", "sara")[at % 2], False)
        for at, rest in enumerate(one_wrong_field(cp.COUNSELLOR_FRAME_TYPES, reads))
    ]
    with watching_logs() as watch:
        try:
            await fuzz(watch, strategy, one, CONSOLE_EXAMPLES, sweep)
        finally:
            await waiters.stop()
        await a_normal_chat_works(server)
    assert_log_clean(log_capture.getvalue())


# --- the supervisor socket --------------------------------------------------------------


async def test_every_supervisor_frame_gets_an_error(
    server: RunningServer, log_capture: Any
) -> None:
    """Random frames to the supervisor's live view, which takes none: each gets exactly one
    error (or, oversized, close 1009), and nothing bad reaches the log."""
    pool = Pool()
    cookie = await sign_in(server, "sara")

    async def opened() -> Socket:
        sock = Socket(await open_ws(server, "/ws/supervisor", cookie), pool)
        first = json.loads(await asyncio.wait_for(sock.ws.recv(), ANSWER_TIMEOUT_S))
        assert first["type"] == "hello" and first["user"] == "sara"
        return sock

    def parse(received: str | bytes) -> None:
        code = supervisor_code(received)
        if code:
            raise p.ProtocolError(code, "")

    async def one(sent: list[Drawn]) -> None:
        sock = await opened()
        try:
            for drawn in sent:
                if sock.close is not None:
                    await sock.aclose()
                    sock = await opened()
                wire = pool.wire(drawn)
                verdict = judge(wire, parse, SUPERVISOR_MAX_FRAME_BYTES)
                reply = await sock.exchange(wire)
                check_answer(wire, verdict, reply)
                if not (verdict.too_big or verdict.not_utf8):
                    assert reply.close is None and len(reply.errors) == 1, (wire.data[:300], reply)
        finally:
            await sock.aclose()

    strategy = frame_lists(frames(p.SUPERVISOR_FRAME_TYPES))
    with watching_logs() as watch:
        await fuzz(watch, strategy, one, SUPERVISOR_EXAMPLES)
        await a_normal_chat_works(server)
    assert_log_clean(log_capture.getvalue())


# --- what the fuzz found ----------------------------------------------------------------


async def test_a_resume_past_the_chats_last_event_still_hears_everything_after_it(
    server: RunningServer,
) -> None:
    """A resume whose last_seq is beyond the chat's last event (seq 1 here) still gets the
    counsellor's next message and the end, instead of a feed that drops them as seen."""
    visitor = Client(await open_ws(server, "/ws/visitor"))
    await visitor.send(type="start")
    token = (await visitor.expect("welcome"))["token"]
    await visitor.send(type="message", text="hej", client_id="v1")
    await visitor.expect("message", client_id="v1")
    await visitor.close()
    visitor = Client(await open_ws(server, "/ws/visitor"))
    await visitor.send(type="resume", token=token, last_seq=7)
    await visitor.expect("welcome", resumed=True)
    console = Client(await open_ws(server, "/ws/console", await sign_in(server, "anna")))
    await console.send(type="hello", presence="available")
    await console.expect("hello")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.expect("state", state="active")
    await console.send(type="message", chat_id=chat_id, text="Hej! Jag heter Anna.")
    assert (await visitor.expect("message", sender="counsellor"))["text"] == "Hej! Jag heter Anna."
    await visitor.send(type="end")
    await visitor.expect("ended", reason="visitor_ended")
    await console.close()
