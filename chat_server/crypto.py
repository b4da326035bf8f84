"""Encryption of the few sensitive fields we must keep for a while (a callback phone number),
and keyed hashes for looking things up without keeping them.

A token is urlsafe base64 (no padding) of: version byte, 96-bit random nonce, AES-256-GCM
ciphertext with its 128-bit tag. The associated data names the purpose and the record
(``purpose_aad("callback:phone", request_id)``), so a ciphertext copied into another field or
another record fails to decrypt instead of revealing the wrong person's number.

Random nonces are safe for far more encryptions per key than this service will ever make
(the usual bound is 2**32 per key); the key should still be rotated, which data that lives for
days at most makes cheap: records under an old key simply expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
TOKEN_VERSION: Final = 1
MIN_HASH_KEY_BYTES: Final = 16


class DecryptError(Exception):
    """A token that cannot be opened: tampered, truncated, another key or another purpose.

    The message never contains the token or any part of the plaintext.
    """


class KeySettingError(ValueError):
    """A configured key that is not base64 of exactly 32 bytes; the message never echoes it."""


class FieldCipher:
    """AES-256-GCM over text fields, bound to their purpose by associated data."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        """Raises ValueError unless ``key`` is exactly 32 bytes."""
        if len(key) != KEY_BYTES:
            raise ValueError(f"a field key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "FieldCipher(<key hidden>)"

    @classmethod
    def from_setting(cls, value: str) -> FieldCipher:
        """Build from a configured key (see ``key_from_setting``)."""
        return cls(cls.key_from_setting(value))

    @staticmethod
    def key_from_setting(value: str) -> bytes:
        """A configured key: base64 (standard or urlsafe, padding optional) of 32 random
        bytes, as made by ``generate_key``. Raises KeySettingError otherwise."""
        text = value.strip()
        try:
            key = _b64decode(text.replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            raise KeySettingError(
                "the field key is not valid base64; make one with generate_key()"
            ) from None
        if len(key) != KEY_BYTES:
            raise KeySettingError(
                f"the field key must decode to {KEY_BYTES} bytes, not {len(key)}; "
                "make one with generate_key()"
            )
        return key

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        """Encrypt under a fresh random nonce; the same input never gives the same token."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), aad)
        token = _VERSION_BYTE + nonce + sealed
        return _b64encode(token)

    def decrypt(self, token: str, aad: bytes) -> str:
        """Open a token made by ``encrypt`` with the same key and ``aad``.

        Raises DecryptError on anything else, without saying which check failed.
        """
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError):
            raise DecryptError("the token is not valid base64") from None
        if len(raw) < 1 + NONCE_BYTES + TAG_BYTES or raw[0] != TOKEN_VERSION:
            raise DecryptError("the token is malformed or of an unknown version")
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, aad).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise DecryptError("the token does not open with this key and purpose") from None


_VERSION_BYTE: Final = bytes([TOKEN_VERSION])
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")


def _b64encode(raw: bytes) -> str:
    """Urlsafe base64 without padding, as ``base64.urlsafe_b64encode(raw).rstrip(b"=")``
    without its Python-level wrappers (this runs for every chat message)."""
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    """Strict urlsafe base64 with optional padding: a stray character is an error, not skipped.
    (``base64.b64decode(..., validate=True)`` checks with a regular expression; the C decoder's
    strict mode makes the same checks for a fraction of the cost, once per chat message.)
    Raises binascii.Error or ValueError."""
    data = (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URLSAFE)
    return binascii.a2b_base64(data, strict_mode=True)


def purpose_aad(purpose: str, record_id: str) -> bytes:
    """Associated data naming what a ciphertext is and whose it is, e.g.
    ``purpose_aad("callback:phone", request_id)``. Raises ValueError on a NUL in either part
    (NUL is the separator, which keeps ("a", "b:c") and ("a:b", "c") apart)."""
    if "\0" in purpose or "\0" in record_id:
        raise ValueError("purpose and record id may not contain NUL")
    return purpose.encode("utf-8") + b"\0" + record_id.encode("utf-8")


def generate_key() -> str:
    """A new random 32-byte key as urlsafe base64, for ``FieldCipher.from_setting``."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``key``, as 64 hex characters.

    Used to look up a visitor's status code (the store keeps the hash, never the code) and to
    count floods per address without keeping the address. Privacy trade-off: a keyed hash of
    an IP address is still personal data while the key exists, because anyone holding the key
    can test guesses (the IPv4 space is small). So: never store or log the raw address, keep
    such hashes only as short-lived rate-limit counters (minutes), and rotate the key often
    (e.g. daily, kept in memory only), after which old hashes link to nothing. Raises
    ValueError on a key shorter than 16 bytes.
    """
    if len(key) < MIN_HASH_KEY_BYTES:
        raise ValueError(f"a hash key must be at least {MIN_HASH_KEY_BYTES} bytes")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
