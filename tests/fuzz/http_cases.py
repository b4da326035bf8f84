"""What the HTTP fuzz sends: the routes read from an app's router, Hypothesis strategies for
broken requests to them, and two ways to send one (aiohttp's client, or raw bytes for header
values no client library will encode)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web
from hypothesis import strategies as st
from yarl import URL

SOURCE_IP = "127.0.0.2"  # a loopback source address that appears nowhere else
MAX_BODY_BYTES = 64 * 1024  # the app's client_max_size
REQUEST_TIMEOUT_S = 20.0
SESSION_COOKIE = "__Host-nexus_session"
PLACEHOLDER_RE = re.compile(r"\{(\w+)(?::[^}]*)?\}")
FOREIGN_ORIGIN = "https://evil.example"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Names the handlers read, so that generated bodies get past "field missing".
FIELD_NAMES = (
    *("phone", "windows", "date", "start", "end", "alias", "language", "topic", "message"),
    *("voicemail_ok", "say_nexus_ok", "code", "action", "window-1-date", "window-1-start"),
    *("window-1-end", "window-99-date", "username", "password", "csrf", "token", "helped"),
    *("contact_again", "outcome", "paused", "text", "open", "lang", "_charset_", "opening"),
)
QUERY_NAMES = ("lang", "start", "end", "code", "failed", "format", "days", "v")
SURROGATES = ("\ud800", "x\udfff", "\udc80\ud800", "\ud83d")
CONTENT_TYPES = (
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=bogus",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=unicode_escape",
    "application/x-www-form-urlencoded; charset=rot13",
    "application/x-www-form-urlencoded; charset=bogus",
    "multipart/form-data; boundary=x",
    "multipart/form-data; boundary=x; charset=bogus",
    "multipart/form-data",
    'multipart/form-data; boundary="' + "b" * 90 + '"',
    "multipart/mixed; boundary=x",
    "text/plain",
    "application/octet-stream",
    ";;;=",
)
_PART = b'--x\r\nContent-Disposition: form-data; name="code"\r\n'
MULTIPART_JUNK = (
    b"garbage",
    b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
    b'--x\r\nContent-Disposition: form-data; name="phone"\r\n\r\n\xff\xfe\r\n--x--\r\n',
    _PART + b"Content-Type: text/plain; charset=bogus\r\n\r\nv\r\n--x--\r\n",
    _PART + b"Content-Type: text/plain; charset=unicode_escape\r\n\r\n\\ud800\r\n--x--\r\n",
    _PART + b"Content-Transfer-Encoding: bogus\r\n\r\nv\r\n--x--\r\n",
    _PART + b"Content-Transfer-Encoding: base64\r\n\r\n!!!=\r\n--x--\r\n",
    _PART + b"Content-Encoding: deflate\r\n\r\nnot deflate\r\n--x--\r\n",
    _PART + b"Content-Encoding: bogus\r\n\r\nv\r\n--x--\r\n",
    _PART + b"Content-Length: zz\r\n\r\nv\r\n--x--\r\n",
    _PART + b"\r\ntruncated",
    b'--x\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\nbogus\r\n'
    + _PART
    + b"\r\nv\r\n--x--\r\n",
    b'--x\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\n\xff\xfe\r\n--x--\r\n',
    b"--x\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n\r\nv\r\n--y--\r\n--x--\r\n",
    b'--x\r\nContent-Disposition: form-data; name="phone"; filename="a.txt"\r\n\r\nv\r\n--x--\r\n',
    b'--x\r\nContent-Disposition: form-data; name="\xff"\r\n\r\nv\r\n--x--\r\n',
    b'--y\r\nContent-Disposition: form-data; name="code"\r\n\r\nv\r\n--y--\r\n',
    b"--x--\r\n",
    b"--x\r\n" + b"X-Junk: 1\r\n" * 200 + b"\r\nv\r\n--x--\r\n",
)
FORM_JUNK = (
    b"phone=\xff\xfe",
    b"code=\xff&action=cancel",
    b"%ff=%fe&code=%c3%28",
    b"a=%zz&=&&==",
)
_EVERY_FIELD = ("code", "token", "phone", "alias", "outcome", "paused", "text", "open")
JSON_JUNK = (
    b"\xff\xfe{\x00",
    # A lone surrogate in every field a handler reads, and in a key.
    json.dumps({**dict.fromkeys(_EVERY_FIELD, "\ud800"), "windows": [{"date": "\udfff"}]}).encode(),
    b'{"\\ud800": 1}',
    b'{"code": 1e999999, "helped": -1e999999, "token": "x"}',
    b'{"code": ' + b"9" * 5000 + b"}",
    json.dumps({**dict.fromkeys(_EVERY_FIELD), "windows": None, "helped": None}).encode(),
    b'{"windows": [null, 1, "x", [], {"date": 5}], "helped": 1e400, "paused": 2, "open": []}',
    b"NaN",
    b"[]",
    b"{",
    b"\xef\xbb\xbf{}",
    b"[" * 5000,
    b'{"a":' * 3000,
    b"[" * 900 + b"]" * 900,
)
TOO_LARGE = b"x" * (MAX_BODY_BYTES + 1)
# Every kind of broken body, under the content type that makes a handler read it: each is
# sent to every route that takes a body, before the random examples.
BAD_PAYLOADS: tuple[tuple[str | None, bytes], ...] = (
    *(("application/x-www-form-urlencoded", body) for body in FORM_JUNK),
    (
        "application/x-www-form-urlencoded; charset=unicode_escape",
        b"username=\\ud800&code=\\udfff&phone=\\ud800&csrf=\\ud800&action=cancel",
    ),
    ("application/x-www-form-urlencoded; charset=bogus", b"code=x"),
    ("application/x-www-form-urlencoded; charset=rot13", b"code=x"),
    ("application/x-www-form-urlencoded; charset=utf-16", b"\xff"),
    *(("multipart/form-data; boundary=x", body) for body in MULTIPART_JUNK),
    ("multipart/form-data", b"garbage"),
    ('multipart/form-data; boundary="' + "b" * 90 + '"', b"garbage"),
    *(("application/json", body) for body in JSON_JUNK),
    ("application/json; charset=bogus", b"{}"),
    (None, TOO_LARGE),
)
PATH_SAMPLES = (  # already percent-encoded where needed
    *("nexus-chat.js", "i18n/sv.json", "i18n/ar.json", "../../etc/passwd", "..%2F..%2Fpasswd"),
    *("%2e%2e/%2e%2e/pyproject.toml", "%00", "a%00b", "%ff%fe", "x" * 300, "a/" * 60 + "b"),
    *("0123456789abcdef01234567", ".", "..", "%20", "~"),
)
PLAUSIBLE_SEGMENT = "0123456789abcdef01234567"  # the shape of a callback request id
QUERY_SAMPLES = (
    *("lang=en", "lang=sv", "lang=en&lang=sv", "failed=1", "start=2030-01-01&end=2030-02-01"),
    *("start=0001-01-01&end=9999-12-31", "start=9999-99-99&end=x", "start=%ff&end=%fe"),
    *("%ff=%fe", "a=%zz", "start=" + "9" * 5000, "lang=%00", "start=%ed%a0%80"),
)
COOKIES = (
    f"{SESSION_COOKIE}=junk",
    f"{SESSION_COOKIE}=",
    f"{SESSION_COOKIE}=" + "a" * 3000,
    f'{SESSION_COOKIE}="\\"',
    "a=b; c; ;;",
    "=",
)
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
RAW_HEADER_SAMPLES: tuple[dict[str, bytes], ...] = (
    {"Cookie": f"{SESSION_COOKIE}=\xff\xfe".encode("latin-1")},
    {"Cookie": b"\xed\xa0\x80=\xc3\x28"},
    {"X-CSRF-Token": b"\xff"},
    {"Origin": b"http://127.0.0.1\xff", "Sec-Fetch-Site": b"same-origin\xff"},
    {"Content-Type": b"multipart/form-data; boundary=\xff"},
    {"Content-Type": b"application/x-www-form-urlencoded; charset=\xff"},
    {"Accept-Language": b"\xff\xfe", "X-Forwarded-For": b"\xff"},
)
# Header bytes the HTTP parser lets through to a handler: printable ASCII and any high byte
# (which aiohttp decodes to lone surrogates). Control bytes end at the parser as a 400.
HEADER_BYTES = st.lists(st.integers(0x20, 0x7E) | st.integers(0x80, 0xFF), max_size=40).map(bytes)


@dataclass(frozen=True)
class Staff:
    """A signed-in session. Cases carry MARKED_STAFF's values, which ``with_session``
    replaces by the session alive when the case is sent, so that handlers behind the sign-in
    and the CSRF check are reached too."""

    cookie: str
    csrf: str


MARKED_STAFF = Staff("<session>", "<csrf>")


@dataclass
class Case:
    """One request as sent; a raw case's header values are bytes written as they are."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    raw_headers: dict[str, bytes] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        """Whether it carries MARKED_STAFF's session or token, to be filled in when sent."""
        values = [*self.headers.values(), *(v.decode("latin-1") for v in self.raw_headers.values())]
        return any(MARKED_STAFF.cookie in v or MARKED_STAFF.csrf in v for v in values)


@dataclass(frozen=True)
class Route:
    """One resource of the router: its path template, the methods it answers, and sample
    segments for its placeholders (the files a static directory really holds)."""

    template: str
    methods: tuple[str, ...]
    files: tuple[str, ...] = ()

    @property
    def takes_a_body(self) -> bool:
        return any(method in BODY_METHODS for method in self.methods)

    @property
    def segments(self) -> tuple[str, ...]:
        """Path samples for the placeholders (names too long for the file system included)."""
        return PATH_SAMPLES + self.files


def app_routes(app: web.Application) -> list[Route]:
    """Every resource in the app's router; a static directory is ``{filename}`` below its
    prefix."""
    routes = []
    for resource in app.router.resources():
        methods = tuple(sorted({route.method for route in resource}))
        info = resource.get_info()
        if "directory" in info:
            directory: Path = info["directory"]
            files = tuple(sorted(p.name for p in directory.iterdir() if p.is_file()))
            routes.append(Route(f"{info['prefix']}/{{filename}}", methods, files))
        else:
            routes.append(Route(resource.canonical, methods))
    return routes


@functools.cache
def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**63),
        st.floats(),
        st.text(max_size=20),
        st.sampled_from(SURROGATES),
    )
    keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8), st.sampled_from(SURROGATES))
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=16,
    )


@functools.cache
def payloads() -> st.SearchStrategy[tuple[str | None, bytes]]:
    """(Content-Type, body): mostly a body of the kind the type names, broken in some way,
    and sometimes any body under any type."""
    values = json_values()
    shaped = st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=6)
    json_body = st.one_of(values, shaped).map(lambda value: json.dumps(value).encode())
    deep = st.builds(
        lambda opener, depth, closed: opener * depth + (b"]" * depth if closed else b""),
        st.sampled_from((b"[", b'{"a":', b'{"windows":')),
        st.integers(min_value=100, max_value=6000),
        st.booleans(),
    )
    form_value = st.one_of(
        st.text(max_size=30),
        st.sampled_from(("on", "", "2030-03-13", "13:00", "070-123 45 67", "cancel", "status")),
    )
    form = st.dictionaries(st.sampled_from(FIELD_NAMES), form_value, max_size=8).map(
        lambda fields: urlencode(fields).encode()
    )
    junk = st.one_of(
        st.just(b""),
        st.binary(max_size=300),
        st.binary(max_size=100).map(lambda raw: b"\xff" + raw),
        st.sampled_from(FORM_JUNK + JSON_JUNK + (TOO_LARGE,)),
    )
    of_kind = {
        "json": st.one_of(json_body, deep, junk),
        "x-www-form-urlencoded": st.one_of(form, junk),
        "multipart": st.one_of(st.sampled_from(MULTIPART_JUNK), junk),
    }
    kinds = [
        st.tuples(st.sampled_from([t for t in CONTENT_TYPES if t and kind in t]), body)
        for kind, body in of_kind.items()
    ]
    anything = st.one_of(json_body, deep, form, junk, st.sampled_from(MULTIPART_JUNK))
    return st.one_of(*kinds, st.tuples(st.sampled_from(CONTENT_TYPES), anything))


@functools.cache
def headers(own_origin: str) -> st.SearchStrategy[dict[str, str]]:
    staff = MARKED_STAFF
    cookies = st.one_of(
        st.sampled_from(COOKIES),
        st.text(PRINTABLE, max_size=40),
        st.just(f"{SESSION_COOKIE}={staff.cookie}"),
    )
    tokens = st.text(PRINTABLE, max_size=40) | st.just(staff.csrf)
    optional = {
        "Origin": st.sampled_from((own_origin, own_origin + "/", FOREIGN_ORIGIN, "null")),
        "Sec-Fetch-Site": st.sampled_from(("same-origin", "cross-site", "none")),
        "Cookie": cookies,
        "X-CSRF-Token": tokens,
        "X-Forwarded-For": st.just(SOURCE_IP),
        "Accept-Language": st.text(PRINTABLE, max_size=20),
    }
    return st.fixed_dictionaries({}, optional=optional)


@functools.cache
def raw_headers(own_origin: str) -> st.SearchStrategy[dict[str, bytes]]:
    """Header values with bytes that are not UTF-8, beside a real session now and then."""
    staff, session = MARKED_STAFF, f"{SESSION_COOKIE}=".encode()
    cookies = st.one_of(
        HEADER_BYTES,
        HEADER_BYTES.map(lambda raw: session + raw),
        st.just(session + staff.cookie.encode()),
    )
    tokens = HEADER_BYTES | HEADER_BYTES.map(lambda raw: staff.csrf.encode() + raw)
    origins = st.sampled_from((own_origin.encode(), b"null")) | HEADER_BYTES
    optional = {
        "Origin": origins,
        "Sec-Fetch-Site": st.just(b"same-origin") | HEADER_BYTES,
        "Cookie": cookies,
        "X-CSRF-Token": tokens,
        "Accept-Language": HEADER_BYTES,
        "Content-Type": HEADER_BYTES.map(lambda raw: b"multipart/form-data; boundary=" + raw)
        | HEADER_BYTES.map(lambda raw: b"application/x-www-form-urlencoded; charset=" + raw),
    }
    return st.fixed_dictionaries({}, optional=optional)


def catalogue(route: Route, own_origin: str) -> list[Case]:
    """The fixed cases each route gets before the random ones: every path sample in its
    placeholders, and every bad payload where it takes a body; all from our own origin with
    a real session and CSRF token, so that no check stops them before the handler reads."""
    staff = MARKED_STAFF
    sent = {
        "Origin": own_origin,
        "Sec-Fetch-Site": "same-origin",
        "Cookie": f"{SESSION_COOKIE}={staff.cookie}",
        "X-CSRF-Token": staff.csrf,
    }
    methods = [m for m in route.methods if m != "*"] or ["GET"]
    body_method = next((m for m in methods if m in BODY_METHODS), methods[0])
    cases = []
    if PLACEHOLDER_RE.search(route.template):
        for sample in route.segments:
            path = PLACEHOLDER_RE.sub(lambda _match, sample=sample: sample, route.template)
            cases.append(Case(methods[0], path, headers=dict(sent)))
    if route.takes_a_body:
        path = PLACEHOLDER_RE.sub(PLAUSIBLE_SEGMENT, route.template)
        for content_type, body in BAD_PAYLOADS:
            typed = {"Content-Type": content_type} if content_type else {}
            cases.append(Case(body_method, path, body=body, headers=sent | typed))
    return cases


def raw_catalogue(route: Route, own_origin: str) -> list[Case]:
    """Each raw header sample once per route, beside a real session where it has none."""
    staff, cases = MARKED_STAFF, []
    method = next((m for m in route.methods if m in BODY_METHODS), route.methods[0])
    path = PLACEHOLDER_RE.sub(PLAUSIBLE_SEGMENT, route.template)
    for raw in RAW_HEADER_SAMPLES:
        case = Case(method if method != "*" else "GET", path, headers={"Origin": own_origin})
        case.headers["Cookie"] = f"{SESSION_COOKIE}={staff.cookie}"
        case.headers["X-CSRF-Token"] = staff.csrf
        case.raw_headers = dict(raw)
        if "X-CSRF-Token" in raw:
            case.raw_headers["X-CSRF-Token"] = staff.csrf.encode() + raw["X-CSRF-Token"]
        if "Content-Type" in raw:
            case.body = MULTIPART_JUNK[2]
        cases.append(case)
    return cases


def requests(route: Route, own_origin: str, *, raw: bool = False) -> st.SearchStrategy[Case]:
    """Requests to ``route``: mostly its own methods, any path segment for a placeholder, a
    broken query, body and headers (``raw``: header values as bytes)."""
    generated_segment = st.text(min_size=1, max_size=40).map(lambda text: quote(text, safe=""))
    segment = st.one_of(st.sampled_from(route.segments), generated_segment)
    own_methods = tuple(method for method in route.methods if method != "*") or METHODS
    query = st.one_of(
        st.just(""),
        st.sampled_from(QUERY_SAMPLES),
        st.dictionaries(st.sampled_from(QUERY_NAMES), st.text(max_size=20), max_size=3).map(
            urlencode
        ),
    )

    bodies, sent_headers, raw_sent = payloads(), headers(own_origin), raw_headers(own_origin)

    @st.composite
    def one(draw: st.DrawFn) -> Case:
        any_method = draw(st.integers(0, 5)) == 0  # mostly the route's own methods
        method = draw(st.sampled_from(METHODS if any_method else own_methods))
        path = PLACEHOLDER_RE.sub(lambda _match: draw(segment), route.template)
        content_type, body = draw(bodies)
        case = Case(method, path, draw(query), body, dict(draw(sent_headers)))
        if content_type is not None:
            case.headers["Content-Type"] = content_type
        if raw:
            case.raw_headers = dict(draw(raw_sent))
        return case

    return one()


def with_session(case: Case, staff: Staff) -> Case:
    """``case`` with MARKED_STAFF's values replaced by ``staff``'s."""

    def text(value: str) -> str:
        return value.replace(MARKED_STAFF.cookie, staff.cookie).replace(
            MARKED_STAFF.csrf, staff.csrf
        )

    def raw(value: bytes) -> bytes:
        return text(value.decode("latin-1")).encode("latin-1")

    return replace(
        case,
        headers={name: text(value) for name, value in case.headers.items()},
        raw_headers={name: raw(value) for name, value in case.raw_headers.items()},
    )


async def send(http: aiohttp.ClientSession, base: str, case: Case) -> tuple[int, str]:
    """Send ``case`` with aiohttp's client (no header of its own choosing where it can be
    helped); returns the status and the body."""
    url = URL(base + case.path + (f"?{case.query}" if case.query else ""), encoded=True)
    skip = () if "Content-Type" in case.headers else ("Content-Type",)
    async with http.request(
        case.method,
        url,
        data=case.body,
        headers=case.headers,
        skip_auto_headers=skip,
        allow_redirects=False,
    ) as response:
        return response.status, (await response.read()).decode("utf-8", "replace")


async def send_raw(port: int, case: Case) -> tuple[int, str]:
    """Send ``case`` as raw HTTP/1.1 bytes from SOURCE_IP (text as Latin-1, so that any byte
    can be written), ``raw_headers`` overriding; read the answer until the server closes the
    connection."""
    target = case.path + (f"?{case.query}" if case.query else "")
    lines = {name.encode(): value.encode("latin-1") for name, value in case.headers.items()}
    lines.update({name.encode(): value for name, value in case.raw_headers.items()})
    lines[b"Content-Length"] = str(len(case.body)).encode()
    head = b"".join(name + b": " + value + b"\r\n" for name, value in lines.items())
    request = (
        (
            f"{case.method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        ).encode("latin-1")
        + head
        + b"\r\n"
        + case.body
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(SOURCE_IP, 0))
    answer = b""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            with contextlib.suppress(ConnectionError):  # it may answer before the body is in
                writer.write(request)
                await writer.drain()
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(65536):
                    answer += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status_line = answer.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    return status, answer.decode("utf-8", "replace")
