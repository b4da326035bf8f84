"""Field encryption (AES-256-GCM bound to a purpose) and keyed hashes."""

from __future__ import annotations

import base64
import os

import pytest

from chat_server.crypto import (
    NONCE_BYTES,
    DecryptError,
    FieldCipher,
    KeySettingError,
    generate_key,
    keyed_hash,
    purpose_aad,
)

PHONE = "+46701234567"
AAD = purpose_aad("callback:phone", "req-1")


def raw_token(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(os.urandom(32))


@pytest.mark.parametrize("plaintext", [PHONE, "", "Blåklocka 🌸", "x" * 1000])
def test_encrypt_then_decrypt_gives_back_the_plaintext(cipher: FieldCipher, plaintext: str) -> None:
    """A token opens to exactly what was sealed, Unicode and empty text included."""
    assert cipher.decrypt(cipher.encrypt(plaintext, AAD), AAD) == plaintext


def test_token_is_urlsafe_and_starts_with_the_version_byte(cipher: FieldCipher) -> None:
    """Version 1, a 12-byte nonce, the ciphertext and a 16-byte tag, in urlsafe base64."""
    token = cipher.encrypt(PHONE, AAD)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = raw_token(token)
    assert raw[0] == 1
    assert len(raw) == 1 + 12 + len(PHONE) + 16


def test_flipping_any_bit_of_the_token_is_detected(cipher: FieldCipher) -> None:
    """Every byte, version, nonce, ciphertext or tag, is covered."""
    raw = raw_token(cipher.encrypt(PHONE, AAD))
    for index in range(len(raw)):
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptError):
            cipher.decrypt(encode(bytes(tampered)), AAD)


@pytest.mark.parametrize("token", ["", "AQ", "not base64!", "åäö", encode(b"\x01" + bytes(27))])
def test_malformed_tokens_raise_decrypt_error(cipher: FieldCipher, token: str) -> None:
    """Empty, truncated, non-base64 or too-short tokens raise DecryptError, nothing else."""
    with pytest.raises(DecryptError):
        cipher.decrypt(token, AAD)


@pytest.mark.parametrize("stray", [" ", "\n", ".", "=", "==="])
def test_a_stray_character_in_a_token_is_an_error_not_skipped(
    cipher: FieldCipher, stray: str
) -> None:
    """Strict decoding: whitespace, a foreign character or padding inside the token (or
    too much of it at the end) makes it unreadable; padding at the end is optional."""
    token = cipher.encrypt(PHONE, AAD)
    padded = token + "=" * (-len(token) % 4)
    assert cipher.decrypt(padded, AAD) == PHONE
    for bad in (token[:8] + stray + token[8:], padded + stray):
        with pytest.raises(DecryptError):
            cipher.decrypt(bad, AAD)


def test_a_token_does_not_open_for_another_record_or_purpose(cipher: FieldCipher) -> None:
    """A phone ciphertext copied to another request, or into the alias field, fails."""
    token = cipher.encrypt(PHONE, AAD)
    with pytest.raises(DecryptError):
        cipher.decrypt(token, purpose_aad("callback:phone", "req-2"))
    with pytest.raises(DecryptError):
        cipher.decrypt(token, purpose_aad("callback:alias", "req-1"))


def test_a_token_does_not_open_under_another_key() -> None:
    """The wrong key fails with DecryptError."""
    token = FieldCipher(os.urandom(32)).encrypt(PHONE, AAD)
    with pytest.raises(DecryptError):
        FieldCipher(os.urandom(32)).decrypt(token, AAD)


def test_decrypt_error_does_not_echo_the_token(cipher: FieldCipher) -> None:
    """The error text carries nothing from the token (it might end up in a log)."""
    token = cipher.encrypt(PHONE, AAD)
    with pytest.raises(DecryptError) as caught:
        cipher.decrypt(token, b"other")
    assert token not in str(caught.value) and PHONE not in str(caught.value)


def test_nonces_are_unique_across_1000_encryptions(cipher: FieldCipher) -> None:
    """Each encryption draws a fresh nonce, so equal inputs give unequal tokens."""
    tokens = [cipher.encrypt(PHONE, AAD) for _ in range(1000)]
    nonces = {raw_token(token)[1 : 1 + NONCE_BYTES] for token in tokens}
    assert len(nonces) == 1000
    assert len(set(tokens)) == 1000


def test_ciphertext_does_not_contain_the_plaintext(cipher: FieldCipher) -> None:
    """Neither the token nor its decoded bytes show the number or its digits."""
    token = cipher.encrypt(PHONE, AAD)
    assert PHONE[1:] not in token
    assert PHONE.encode() not in raw_token(token)
    assert encode(PHONE.encode())[:12] not in token


def test_generated_key_round_trips_through_from_setting() -> None:
    """generate_key() output is accepted, and two keys differ."""
    first, second = generate_key(), generate_key()
    assert first != second
    cipher = FieldCipher.from_setting(f"  {first}\n")
    assert cipher.decrypt(cipher.encrypt(PHONE, AAD), AAD) == PHONE
    same_key = FieldCipher.from_setting(first)
    assert same_key.decrypt(cipher.encrypt(PHONE, AAD), AAD) == PHONE


def test_from_setting_accepts_standard_base64_with_or_without_padding() -> None:
    """Keys made with `openssl rand -base64 32` work too."""
    key = bytes(range(250, 256)) + os.urandom(26)
    standard = base64.b64encode(key).decode()
    token = FieldCipher(key).encrypt(PHONE, AAD)
    assert FieldCipher.from_setting(standard).decrypt(token, AAD) == PHONE
    assert FieldCipher.from_setting(standard.rstrip("=")).decrypt(token, AAD) == PHONE


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "not a key!",
        base64.b64encode(os.urandom(16)).decode(),
        base64.b64encode(os.urandom(33)).decode(),
        "c2VjcmV0LXBhc3N3b3JkLWhlcmU",
    ],
)
def test_unusable_key_settings_raise_a_clear_error_without_the_value(setting: str) -> None:
    """Non-base64 or wrong-length keys raise KeySettingError that does not echo the value."""
    with pytest.raises(KeySettingError, match="generate_key") as caught:
        FieldCipher.from_setting(setting)
    assert not setting or setting not in str(caught.value)


def test_constructor_refuses_keys_that_are_not_32_bytes() -> None:
    """AES-128 or AES-192 keys are refused: the field key is AES-256."""
    with pytest.raises(ValueError):
        FieldCipher(os.urandom(16))


def test_repr_hides_the_key() -> None:
    """A cipher printed by accident shows no key material."""
    key = generate_key()
    assert key not in repr(FieldCipher.from_setting(key))
    assert "hidden" in repr(FieldCipher.from_setting(key))


def test_purpose_aad_keeps_purpose_and_record_apart() -> None:
    """("a", "b:c") and ("a:b", "c") give different associated data; NUL is refused."""
    assert purpose_aad("a", "b:c") != purpose_aad("a:b", "c")
    with pytest.raises(ValueError):
        purpose_aad("callback:phone", "req\0-1")


def test_keyed_hash_is_stable_per_key_and_differs_across_keys() -> None:
    """Same key and value: same 64-hex hash; another key or value: another hash."""
    key, other = os.urandom(32), os.urandom(32)
    digest = keyed_hash(key, "7KQ2-M9XD")
    assert digest == keyed_hash(key, "7KQ2-M9XD")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != keyed_hash(other, "7KQ2-M9XD")
    assert digest != keyed_hash(key, "7KQ2-M9XE")
    assert "7KQ2" not in digest.upper()


def test_keyed_hash_matches_hmac_sha256() -> None:
    """It is plain HMAC-SHA256, checked against RFC 4231 test case 1."""
    expected = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert keyed_hash(b"\x0b" * 20, "Hi There") == expected


def test_keyed_hash_refuses_short_keys() -> None:
    """A key under 16 bytes is too easy to guess."""
    with pytest.raises(ValueError):
        keyed_hash(b"short", "x")
