"""Staff sessions in Redis: random ids, stored only as hashes, idle and absolute timeouts.

A session records the account's session epoch at login (see ``accounts.StaffDirectory``);
the web layer refuses a session whose epoch is behind the account's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from .codec import str_dict
from .keys import Keys

SESSION_ID_BYTES: Final = 32  # 256 bits
CSRF_TOKEN_BYTES: Final = 24


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StaffSession:
    session_id: str
    username: str
    created_ms: int
    csrf_token: str
    epoch: int = 0


class SessionStore:
    def __init__(self, redis: Redis, keys: Keys, *, idle_s: int, absolute_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._idle_s = idle_s
        self._absolute_s = absolute_s

    async def create(self, username: str, now_ms: int, epoch: int = 0) -> StaffSession:
        """A new session with a fresh random id (ids are never reused across logins), made
        under the account's session ``epoch``."""
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        csrf = secrets.token_urlsafe(CSRF_TOKEN_BYTES)
        digest = hash_session_id(session_id)
        key, index = self._keys.session(digest), self._keys.staff_sessions(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key, mapping={"user": username, "created_ms": now_ms, "csrf": csrf, "epoch": epoch}
            )
            pipe.expire(key, self._idle_s)
            pipe.sadd(index, digest)
            pipe.expire(index, self._absolute_s)
            await pipe.execute()
        return StaffSession(session_id, username, now_ms, csrf, epoch)

    async def get(self, session_id: str, now_ms: int) -> StaffSession | None:
        """The live session for ``session_id``, its idle timer renewed; None if expired."""
        if not session_id or len(session_id) > 128:
            return None
        key = self._keys.session(hash_session_id(session_id))
        data = str_dict(await self._redis.hgetall(key))
        if not data or "user" not in data:
            return None
        created_ms = int(data.get("created_ms", 0))
        if now_ms - created_ms >= self._absolute_s * 1000:
            await self.delete(session_id, data["user"])
            return None
        remaining_s = self._absolute_s - (now_ms - created_ms) // 1000
        await self._redis.expire(key, max(1, min(self._idle_s, remaining_s)))
        return StaffSession(
            session_id,
            data["user"],
            created_ms,
            data.get("csrf", ""),
            int(data.get("epoch", 0)),
        )

    async def delete(self, session_id: str, username: str) -> None:
        digest = hash_session_id(session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.session(digest))
            pipe.srem(self._keys.staff_sessions(username), digest)
            await pipe.execute()

    async def revoke_sockets(self, session: StaffSession) -> None:
        """Tell every instance to close the console sockets opened with ``session``."""
        await self._redis.publish(
            self._keys.staff_channel(session.username),
            f"logout:{hash_session_id(session.session_id)}",
        )

    async def delete_all_for(self, username: str) -> int:
        """Delete every session of ``username`` (logout everywhere, disabled account)."""
        index = self._keys.staff_sessions(username)
        digests = await self._redis.smembers(index)
        async with self._redis.pipeline(transaction=True) as pipe:
            for digest in digests:
                pipe.delete(self._keys.session(str(digest)))
            pipe.delete(index)
            pipe.publish(self._keys.staff_channel(username), "logout")
            await pipe.execute()
        return len(digests)
