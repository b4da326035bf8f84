"""Chat text sealed at rest: Redis, its replicas, a snapshot, MONITOR and the slow log see
only ciphertext of what a visitor and a counsellor write.

Each chat gets a random salt when it is created, kept in the chat's hash beside the id of
the service key it was made under (``salt``, ``kid``). The chat's own key is HKDF-SHA256 of
the service key (``NEXUS_MESSAGE_KEY``, the same on every instance) and that salt. Message
text, private notes and the back-channel are AES-256-GCM tokens under it
(:class:`..crypto.FieldCipher`), bound to their purpose and chat by associated data, so a
token copied into another chat or field does not open. Ending a chat deletes its hash, and
with the salt every way to read what is left (nothing is: every key of it goes at once).

Rotation: a new ``NEXUS_MESSAGE_KEY`` seals the chats created after it; the previous keys,
listed in ``NEXUS_MESSAGE_OLD_KEYS``, keep the chats made under them readable until they end.
A key id is a short fingerprint of the key, so no separate numbering can go wrong.

The cipher of each chat is cached per instance (one Redis read the first time an instance
meets a chat), so a relayed message costs one AES-GCM seal and one open per instance.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..crypto import KEY_BYTES, DecryptError, FieldCipher, KeySettingError, purpose_aad
from ..domain.protocol import ErrorCode, ProtocolError
from .codec import as_str
from .keys import Keys

log = logging.getLogger(__name__)

SALT_BYTES: Final = 16
KEY_ID_CHARS: Final = 8
HKDF_INFO: Final = b"nexus-chat chat key v1"
MAX_CACHED_CHATS: Final = 20_000
MESSAGE: Final = "chat:msg"
NOTE: Final = "chat:note"
STAFF: Final = "chat:staff"


class UnreadableChat(RedisError):
    """This instance cannot read the chat: it was sealed under a key this instance does not
    have (a rotation half done), or a token does not open. Nothing is lost: the ciphertext
    stays for an instance with the key. A RedisError, so every path that survives Redis
    going away (answer ``unavailable``, nothing done) survives this too."""


def key_id(key: bytes) -> str:
    """The short, public fingerprint of a service key (its id in each chat's hash)."""
    return hashlib.sha256(b"nexus-chat message key id\0" + key).hexdigest()[:KEY_ID_CHARS]


@dataclass(frozen=True, slots=True)
class MessageKeyring:
    """The current service key and the old ones that still open their chats."""

    current: bytes
    old: tuple[bytes, ...] = ()

    def __repr__(self) -> str:
        return f"MessageKeyring(<{1 + len(self.old)} keys hidden>)"

    @classmethod
    def from_settings(cls, current: str, old: str = "") -> MessageKeyring:
        """From base64 keys (``old`` comma-separated); raises KeySettingError."""
        return cls(_key(current), tuple(_key(part) for part in old.split(",") if part.strip()))

    @classmethod
    def random(cls) -> MessageKeyring:
        """A key for one process (a single instance with its private Redis)."""
        return cls(os.urandom(KEY_BYTES))

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def key(self, kid: str) -> bytes | None:
        for candidate in (self.current, *self.old):
            if key_id(candidate) == kid:
                return candidate
        return None


def _key(text: str) -> bytes:
    try:
        return FieldCipher.key_from_setting(text)
    except KeySettingError as error:
        raise KeySettingError(str(error).replace("field key", "message key")) from None


def chat_cipher(service_key: bytes, salt: bytes) -> FieldCipher:
    """The chat's own cipher: HKDF-SHA256(service key, salt)."""
    derived = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=salt, info=HKDF_INFO)
    return FieldCipher(derived.derive(service_key))


class ChatSeals:
    """Seals and opens the text of chats; one per instance, caching each chat's cipher."""

    def __init__(self, redis: Redis, keys: Keys, ring: MessageKeyring) -> None:
        self._redis = redis
        self._keys = keys
        self._ring = ring
        self._ciphers: OrderedDict[str, FieldCipher] = OrderedDict()

    def new_chat(self, chat_id: str) -> dict[str, str]:
        """The hash fields of a new chat (its salt and key id); its cipher is cached."""
        salt = os.urandom(SALT_BYTES)
        self._remember(chat_id, chat_cipher(self._ring.current, salt))
        return {"salt": base64.b64encode(salt).decode("ascii"), "kid": self._ring.current_id}

    def cached(self, chat_id: str) -> FieldCipher | None:
        """The chat's cipher if this instance has met the chat, else None (no I/O)."""
        return self._ciphers.get(chat_id)

    async def cipher(self, chat_id: str) -> FieldCipher:
        """The chat's cipher, read once from its hash. Raises ProtocolError chat_not_found
        when the chat is gone, UnreadableChat when its key is not in this keyring."""
        return self._ciphers.get(chat_id) or await self._read_cipher(chat_id)

    async def _read_cipher(self, chat_id: str) -> FieldCipher:
        salt, kid = await self._redis.hmget(self._keys.chat(chat_id), ["salt", "kid"])
        if not salt:
            raise ProtocolError(ErrorCode.CHAT_NOT_FOUND, "the chat has ended or does not exist")
        key = self._ring.key(as_str(kid))
        if key is None:
            log.warning("a chat is sealed under key %s, which this instance lacks", as_str(kid))
            raise UnreadableChat("this instance does not have the key of the chat")
        cipher = chat_cipher(key, base64.b64decode(as_str(salt)))
        self._remember(chat_id, cipher)
        return cipher

    def forget(self, chat_id: str) -> None:
        self._ciphers.pop(chat_id, None)

    def _remember(self, chat_id: str, cipher: FieldCipher) -> None:
        self._ciphers[chat_id] = cipher
        if len(self._ciphers) > MAX_CACHED_CHATS:
            self._ciphers.popitem(last=False)

    async def seal(self, chat_id: str, purpose: str, text: str) -> str:
        """``text`` as a token of ``purpose`` in this chat (see ``cipher`` for errors)."""
        cipher = self._ciphers.get(chat_id) or await self._read_cipher(chat_id)
        return cipher.encrypt(text, purpose_aad(purpose, chat_id))

    @staticmethod
    def open_with(cipher: FieldCipher, chat_id: str, purpose: str, token: str) -> str:
        """Open a token of ``purpose`` in this chat; raises UnreadableChat."""
        try:
            return cipher.decrypt(token, purpose_aad(purpose, chat_id))
        except DecryptError:
            log.warning("a sealed text of a chat did not open")
            raise UnreadableChat("a sealed text of the chat does not open") from None

    async def open(self, chat_id: str, purpose: str, token: str) -> str:
        return self.open_with(await self.cipher(chat_id), chat_id, purpose, token)
