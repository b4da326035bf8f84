"""Log records that cannot carry a visitor's address or words, whoever writes them.

Our own code logs no visitor data, but libraries do: aiohttp's server logger writes
``Error handling request from <peer address>`` for every broken request, asyncio's exception
handler formats transports and sockets (``raddr=...``), and an exception's message can hold a
piece of the request (``UnicodeDecodeError`` quotes bytes, ``KeyError`` its key).

So the fix sits where every record is born: :func:`install` wraps the process's log record
factory once. For each record, from any logger:

- the arguments of a library's record (any logger outside ``chat_server``) are replaced by a
  placeholder unless they are numbers: the library's fixed message text stays readable;
- address-like strings (IPv4, IPv6) left in the message text are replaced too;
- an exception is kept as its type and the traceback's frames (file, line, function), never
  its message: ``exc_info`` becomes a ready ``exc_text``, which every formatter prints;
- a request the client broke (aiohttp's HTTP errors with a 4xx code: an unparsable request
  line or header, a body whose encoding lies) is no server fault: its record becomes one INFO
  line naming the error's type and code, without a traceback.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

OWN_LOGGER: Final = "chat_server"
REDACTED: Final = "‹redacted›"
_IPV4: Final = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
_HEX: Final = r"[0-9A-Fa-f]{1,4}"
# Eight groups, or fewer around one "::" (so clock times such as 09:30:00 are left alone).
_IPV6: Final = (
    rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}(?::{_HEX})*)?::(?:{_HEX}(?::{_HEX})*)?)"
    r"(?!\w)"
)
_ADDRESSES: Final = (re.compile(_IPV4), re.compile(_IPV6))  # IPv4 first: ::ffff:1.2.3.4

RecordFactory = Callable[..., logging.LogRecord]
_installed: list[RecordFactory] = []


def scrub_addresses(text: str) -> str:
    """``text`` with every IPv4 or IPv6 address-like run replaced by a placeholder."""
    for pattern in _ADDRESSES:
        text = pattern.sub(REDACTED, text)
    return text


def _safe_arg(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return REDACTED


def _safe_args(args: Any) -> Any:
    if isinstance(args, Mapping):
        return {key: _safe_arg(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_safe_arg(value) for value in args)
    return args


def safe_traceback(
    exc_type: type[BaseException] | None, tb: TracebackType | None
) -> str:
    """The traceback's frames and the exception's type name, without its message."""
    frames = "".join(traceback.format_list(traceback.extract_tb(tb))) if tb else ""
    name = exc_type.__qualname__ if exc_type else "Exception"
    return f"Traceback (most recent call last, message withheld):\n{frames}{name}"


def _client_fault(exc: BaseException | None) -> int:
    """The 4xx code of an HTTP error the client caused, else 0 (a body that does not decode
    as its headers say is a 400 too: aiohttp meets it again when it drains the body)."""
    if isinstance(exc, RequestPayloadError):
        return 400
    code = exc.code if isinstance(exc, HttpProcessingError) else 0
    return code if isinstance(code, int) and 400 <= code < 500 else 0


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """Make ``record`` safe in place (see the module docstring); returns it."""
    if not (record.name == OWN_LOGGER or record.name.startswith(OWN_LOGGER + ".")):
        record.args = _safe_args(record.args)
        fault = _client_fault(record.exc_info[1] if record.exc_info else None)
        if fault and record.exc_info:
            name = type(record.exc_info[1]).__qualname__
            record.msg = f"{record.msg} ({name}, {fault}: the client's request was broken)"
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = None
    if isinstance(record.msg, str):
        record.msg = scrub_addresses(record.msg)
    if record.exc_info:
        exc_type, _value, tb = record.exc_info
        record.exc_text = safe_traceback(exc_type, tb)
        record.exc_info = None
    if record.stack_info:
        record.stack_info = scrub_addresses(record.stack_info)
    return record


def install() -> None:
    """Route every log record of this process through :func:`redact` (idempotent)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact(previous(*args, **kwargs))

    _installed.append(previous)
    logging.setLogRecordFactory(factory)
