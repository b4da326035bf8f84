"""What sealing chat text costs the server: the primitives timed in this process.

Every relayed message is sealed once when it is posted and opened once per instance that
follows the chat (the visitor's and the counsellor's feeds on one instance share the opened
event); each instance derives a chat's key once (HKDF) when it first meets the chat. The
latency phase measures the server's CPU per relayed message; the share printed is the sealing
cost against that. For the whole-server A/B, run the bench once with ``--server-src`` pointing
at a checkout from before sealing (docs/performance.md).
"""

from __future__ import annotations

import os
import timeit
from typing import Any

from ..crypto import KEY_BYTES, purpose_aad
from ..store.sealing import MESSAGE, SALT_BYTES, chat_cipher

TEXT = "Jag vet inte vad jag ska göra, han läser mina meddelanden och jag vågar inte ringa. " * 2
REPEATS = 5


def measure_sealing(rounds: int) -> dict[str, Any]:
    """Best of REPEATS × ``rounds`` for sealing and opening a message-sized text, and for
    deriving a chat's key; in microseconds per operation."""
    service_key, salt = os.urandom(KEY_BYTES), os.urandom(SALT_BYTES)
    text = TEXT[:112]
    cipher = chat_cipher(service_key, salt)
    aad = purpose_aad(MESSAGE, "bench-chat")
    token = cipher.encrypt(text, aad)

    def best_us(statement: Any, number: int) -> float:
        times = timeit.repeat(statement, number=number, repeat=REPEATS)
        return round(min(times) / number * 1e6, 2)

    return {
        "text_chars": len(text),
        "seal_us": best_us(lambda: cipher.encrypt(text, aad), rounds),
        "open_us": best_us(lambda: cipher.decrypt(token, aad), rounds),
        "derive_chat_key_us": best_us(lambda: chat_cipher(service_key, salt), max(1, rounds // 10)),
    }
