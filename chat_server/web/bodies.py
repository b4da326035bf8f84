"""Request bodies read once, at the edge: a body that cannot be read is the sender's mistake
(a 4xx the handler chooses), never an exception that ends as a 500.

Text reaching a handler from here is always valid Unicode: a lone surrogate (``"\\ud800"`` in
JSON, or a form decoded with a charset such as ``unicode_escape``) cannot be encoded for Redis
or a hash, so a body holding one is unreadable too.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

# What aiohttp's body parsers raise for a body they cannot read: bytes that are not in the
# declared charset (UnicodeDecodeError, a ValueError), an unknown charset (LookupError), broken
# multipart framing or a part without a name (ValueError), base64 junk in a part
# (binascii.Error, a ValueError), an unknown part encoding or a bad ``_charset_`` part
# (RuntimeError), a part that claims compression (zlib.error), too many part headers or a
# request body whose Content-Encoding lies (HttpProcessingError, RequestPayloadError).
_PARSER_ERRORS: Final = (
    ValueError,
    LookupError,
    RuntimeError,
    zlib.error,
    HttpProcessingError,
    web.RequestPayloadError,
)


class UnreadableBody(Exception):
    """The body is not the form or JSON object the handler reads. ``status`` is the answer
    it calls for: 413 when it is larger than the app's ``client_max_size``, else 400 (broken
    encoding or framing, an unknown charset, JSON that is not an object or nests too deep,
    text that is not Unicode)."""

    def __init__(self, status: int = 400) -> None:
        super().__init__(status)
        self.status = status

    @property
    def code(self) -> str:
        """The error code a JSON API answers with."""
        return "too_large" if self.status == 413 else "invalid_json"


def is_text(value: str) -> bool:
    """True when ``value`` is valid Unicode (it has no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def read_form(request: web.Request) -> dict[str, str]:
    """The posted form's text fields, the first value of each name (file and binary parts
    are dropped). Raises UnreadableBody."""
    try:
        posted = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise UnreadableBody(413) from None
    except _PARSER_ERRORS:
        raise UnreadableBody() from None
    fields: dict[str, str] = {}
    for name, value in posted.items():
        if isinstance(value, web.FileField):
            value.file.close()
        elif isinstance(value, str):
            if not (is_text(name) and is_text(value)):
                raise UnreadableBody()
            fields.setdefault(name, value)
    return fields


def _refuse_constant(_name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _all_text(data: object) -> bool:
    """True when every string in ``data`` (keys too) is valid Unicode; no recursion, so any
    depth the JSON parser accepted is fine."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not is_text(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def parse_json(raw: bytes) -> Any:
    """``raw`` decoded as ``json.loads`` decodes bytes (UTF-8, or the UTF-16/32 it detects; a
    charset parameter is not consulted), any JSON value. Raises UnreadableBody for anything
    else, including a number too long to convert, NaN, nesting deeper than the parser's limit
    and a string (or key) holding a lone surrogate."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise UnreadableBody() from None
    if not _all_text(data):
        raise UnreadableBody()
    return data


async def read_body(request: web.Request) -> bytes:
    """The body's bytes (decompressed as its Content-Encoding says). Raises UnreadableBody."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise UnreadableBody(413) from None
    except _PARSER_ERRORS:
        raise UnreadableBody() from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (see ``parse_json``). Raises UnreadableBody, also for a JSON
    value that is not an object."""
    data = parse_json(await read_body(request))
    if not isinstance(data, dict):
        raise UnreadableBody()
    return data
