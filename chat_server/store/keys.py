"""Every Redis key and channel name the service uses, in one place.

Visitor keys (``chat:*``, ``tok:*``) always carry a TTL. Shared index keys (the queue, a
counsellor's chat set) carry a TTL too, renewed on every write, so nothing outlives its use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "nx:"

    def chat(self, chat_id: str) -> str:
        return f"{self.prefix}chat:{chat_id}"

    def chat_stream(self, chat_id: str) -> str:
        return f"{self.prefix}chat:{chat_id}:log"

    def token(self, token_hash: str) -> str:
        return f"{self.prefix}tok:{token_hash}"

    @property
    def queue(self) -> str:
        return f"{self.prefix}queue"

    @property
    def queue_lapsed(self) -> str:
        """Ids of waiting chats whose hash expired (the visitor left), until a queue watch
        counts them. Written by the queue scripts, which spell it as prefix + 'queue:lapsed'."""
        return f"{self.prefix}queue:lapsed"

    def staff_chats(self, username: str) -> str:
        return f"{self.prefix}staff:{username}:chats"

    def staff_offers(self, username: str) -> str:
        return f"{self.prefix}staff:{username}:offers"

    def chat_exclusions(self, chat_id: str) -> str:
        """Counsellors who declined or let an offer of this chat run out (or handed it on)."""
        return f"{self.prefix}chat:{chat_id}:excl"

    def chat_consult(self, chat_id: str) -> str:
        """The pending warm-transfer consult of a chat (a hash; deleted with the chat)."""
        return f"{self.prefix}chat:{chat_id}:consult"

    @property
    def consults(self) -> str:
        """Chat ids with a pending consult, scored by when it lapses (end_chat.lua and
        transfer_chat.lua spell it as prefix + 'consults')."""
        return f"{self.prefix}consults"

    @property
    def routing_lock(self) -> str:
        return f"{self.prefix}routing:lock"

    @property
    def backup_alerted(self) -> str:
        return f"{self.prefix}routing:backup-alerted"

    @property
    def recent_handle_times(self) -> str:
        """Handle times (seconds) of the last chats: numbers only, for the wait estimate."""
        return f"{self.prefix}stats:recent-handle-s"

    def staff_presence(self, username: str) -> str:
        return f"{self.prefix}staff:{username}:presence"

    @property
    def staff_on_duty(self) -> str:
        return f"{self.prefix}staff:on-duty"

    def session(self, session_hash: str) -> str:
        return f"{self.prefix}sess:{session_hash}"

    def staff_sessions(self, username: str) -> str:
        return f"{self.prefix}staff:{username}:sessions"

    # Channels carry nudges; the streams and hashes are the truth.
    def chat_channel(self, chat_id: str) -> str:
        return f"{self.prefix}ch:chat:{chat_id}"

    @property
    def queue_channel(self) -> str:
        return f"{self.prefix}ch:queue"

    def staff_channel(self, username: str) -> str:
        return f"{self.prefix}ch:staff:{username}"

    @property
    def consult_channel(self) -> str:
        """Warm-transfer frames for named consoles on every instance (end_chat.lua spells it
        as prefix + 'ch:consult')."""
        return f"{self.prefix}ch:consult"
