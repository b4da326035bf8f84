"""The log record factory keeps addresses and exception messages out of every record."""

from __future__ import annotations

import logging
import sys

from chat_server.logsafety import REDACTED, redact, scrub_addresses

MARKER = "KANARIEFAGEL-3141"
SOURCE = "127.0.0.2"


def record(name: str, msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = sys.exc_info() if exc else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)


def test_a_library_record_loses_its_string_arguments_but_keeps_its_text() -> None:
    """aiohttp's 'Error handling request from %s' prints without the peer address."""
    line = redact(record("aiohttp.server", "Error handling request from %s", "127.0.0.2"))
    assert line.getMessage() == f"Error handling request from {REDACTED}"


def test_numbers_stay_and_mapping_arguments_are_redacted_too() -> None:
    """Numbers carry no identity; a mapping's values are replaced like a tuple's."""
    assert redact(record("asyncio", "took %.1f s for %s", 2.5, "x")).getMessage() == (
        f"took 2.5 s for {REDACTED}"
    )
    mapped = logging.LogRecord("aiohttp.access", 20, __file__, 1, "%(a)s %(n)d", (), None)
    mapped.args = {"a": "203.0.113.9", "n": 7}
    assert redact(mapped).getMessage() == f"{REDACTED} 7"


def test_our_own_arguments_are_kept_but_addresses_in_message_text_are_not() -> None:
    """chat_server's loggers pass no visitor data, so their arguments stay readable."""
    own = redact(record("chat_server.web.x", "listening on port %s", "8080"))
    assert own.getMessage() == "listening on port 8080"
    preformatted = redact(record("asyncio", "Fatal error: raddr=('10.1.2.3', 5) fe80::1"))
    assert "10.1.2.3" not in preformatted.getMessage()
    assert "fe80::1" not in preformatted.getMessage()


def test_an_exception_keeps_its_type_and_frames_but_not_its_message() -> None:
    """KeyError(visitor text) prints as its type and where it happened."""
    try:
        raise KeyError(f"{MARKER} {SOURCE}")  # the traceback shows this line, not the values
    except KeyError:
        line = redact(record("chat_server.web", "failed", exc=True))
    formatted = logging.Formatter("%(message)s").format(line)
    assert line.exc_info is None
    assert "KeyError" in formatted and "test_logsafety.py" in formatted
    assert MARKER not in formatted and SOURCE not in formatted


def test_clock_times_and_versions_are_not_taken_for_addresses() -> None:
    """09:30:00 and v1.2.3 stay; IPv4, IPv6 and v4-mapped addresses go."""
    assert scrub_addresses("open 09:30:00-16:00, v1.2.3") == "open 09:30:00-16:00, v1.2.3"
    for address in ("192.0.2.1", "2001:db8::7", "::1", "2001:db8:0:0:0:0:0:1", "::ffff:1.2.3.4"):
        assert address not in scrub_addresses(f"from {address}:80")


def test_a_request_the_client_broke_is_one_info_line_without_a_traceback() -> None:
    """aiohttp's 'Error handling request' for a 4xx parse error: INFO, the type and the code."""
    from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError

    try:
        raise BadHttpMessage(f"{MARKER} in the request line")
    except BadHttpMessage:
        line = redact(record("aiohttp.server", "Error handling request from %s", SOURCE, exc=True))
    formatted = logging.Formatter("%(levelname)s %(message)s").format(line)
    assert formatted == (
        f"INFO Error handling request from {REDACTED} "
        "(BadHttpMessage, 400: the client's request was broken)"
    )
    try:
        raise HttpProcessingError(code=500, message="ours")
    except HttpProcessingError:
        server_fault = redact(record("aiohttp.server", "Error handling request", exc=True))
    assert server_fault.levelno == logging.ERROR and "Traceback" in (server_fault.exc_text or "")
