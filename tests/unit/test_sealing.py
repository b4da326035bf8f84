"""The message keyring and per-chat ciphers: keys by fingerprint, purpose-bound tokens."""

from __future__ import annotations

import base64

import pytest

from chat_server.crypto import DecryptError, KeySettingError, generate_key, purpose_aad
from chat_server.store.sealing import MESSAGE, NOTE, MessageKeyring, chat_cipher, key_id


def test_a_key_is_known_by_its_fingerprint_and_old_keys_stay_usable() -> None:
    """The current key and every old one are found by id; another key is not."""
    current, old = generate_key(), generate_key()
    ring = MessageKeyring.from_settings(current, f" {old} ,")
    old_bytes = base64.urlsafe_b64decode(old)
    assert ring.key(ring.current_id) == ring.current
    assert ring.key(key_id(old_bytes)) == old_bytes
    assert ring.key(key_id(b"\0" * 32)) is None
    assert len(ring.current_id) == 8 and ring.current_id != key_id(old_bytes)
    assert current not in repr(ring)


@pytest.mark.parametrize("bad", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_key_setting_is_refused_without_echoing_it(bad: str) -> None:
    """A key that is not base64 of 32 bytes is a KeySettingError naming the message key."""
    with pytest.raises(KeySettingError) as refused:
        MessageKeyring.from_settings(bad)
    assert "message key" in str(refused.value)
    if bad:
        assert bad not in str(refused.value)


def test_each_chat_has_its_own_key_and_tokens_are_bound_to_chat_and_purpose() -> None:
    """The same text seals differently per chat; a token opens only as what it was."""
    ring = MessageKeyring.random()
    first, second = chat_cipher(ring.current, b"a" * 16), chat_cipher(ring.current, b"b" * 16)
    token = first.encrypt("hej", purpose_aad(MESSAGE, "c1"))
    assert "hej" not in token
    assert first.decrypt(token, purpose_aad(MESSAGE, "c1")) == "hej"
    for cipher, aad in (
        (second, purpose_aad(MESSAGE, "c1")),  # another chat's salt
        (first, purpose_aad(MESSAGE, "c2")),  # copied into another chat
        (first, purpose_aad(NOTE, "c1")),  # copied into a note
    ):
        with pytest.raises(DecryptError):
            cipher.decrypt(token, aad)
    same_salt_again = chat_cipher(ring.current, b"a" * 16)
    assert same_salt_again.decrypt(token, purpose_aad(MESSAGE, "c1")) == "hej"
