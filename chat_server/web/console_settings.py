"""Settings of the console features and the login throttle, and the standard texts file.

``ConsoleSettings.from_env`` reads only the mapping it is given (the app's configuration
passes the environment); nothing here reads ``os.environ``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from ..envparse import EnvReader
from ..store.login_throttle import ThrottleSettings
from ..store.wellbeing import Stretch

DEFAULT_STANDARD_TEXTS: Final = Path(str(resources.files("chat_server") / "data")) / (
    "standard_texts.json"
)
PHONE_PLACEHOLDER: Final = "{nexus_phone}"
# Uppsala kommun's contact centre puts callers through to Nexus; a deployment sets its own.
DEFAULT_NEXUS_PHONE: Final = "018-727 00 00"
MAX_STANDARD_TEXTS: Final = 200
MAX_STANDARD_TEXT_CHARS: Final = 2000
TEXT_LANGUAGES: Final = ("sv", "en")


class ConsoleSettingsError(ValueError):
    """A console setting or the standard texts file cannot be used; names the culprit."""


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    login_hash_key: bytes = b""
    break_after_chats: int = 4
    break_after_s: int = 3 * 3600
    break_idle_reset_s: int = 1800
    standard_texts_path: Path = DEFAULT_STANDARD_TEXTS
    nexus_phone: str = DEFAULT_NEXUS_PHONE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ConsoleSettings:
        """Raises ConsoleSettingsError naming the variable on a value it cannot use, or the
        standard texts file and entry when that file is unusable (checked here, at start)."""
        read = EnvReader(env, ConsoleSettingsError)
        defaults = ThrottleSettings()
        throttle = ThrottleSettings(
            free_failures=read.whole("NEXUS_LOGIN_FREE_FAILURES", defaults.free_failures),
            base_delay_s=read.number("NEXUS_LOGIN_BASE_DELAY_S", defaults.base_delay_s),
            max_delay_s=read.number("NEXUS_LOGIN_MAX_DELAY_S", defaults.max_delay_s),
            window_s=read.whole("NEXUS_LOGIN_WINDOW_S", defaults.window_s),
            global_burst=read.whole("NEXUS_LOGIN_GLOBAL_BURST", defaults.global_burst),
            global_per_s=read.number("NEXUS_LOGIN_GLOBAL_PER_S", defaults.global_per_s),
            flood_delay_s=read.number("NEXUS_LOGIN_FLOOD_DELAY_S", defaults.flood_delay_s),
        )
        chosen = cls(
            throttle=throttle,
            login_hash_key=_key(env, "NEXUS_LOGIN_HASH_KEY"),
            break_after_chats=read.whole("NEXUS_BREAK_AFTER_CHATS", 4),
            # Minutes may be fractional (1.5 → 90 s); the setting itself is kept in seconds.
            break_after_s=int(read.number("NEXUS_BREAK_AFTER_MIN", 180) * 60),
            standard_texts_path=Path(env.get("NEXUS_STANDARD_TEXTS") or DEFAULT_STANDARD_TEXTS),
            nexus_phone=env.get("NEXUS_PHONE", "").strip() or DEFAULT_NEXUS_PHONE,
        )
        load_standard_texts(chosen.standard_texts_path, chosen.nexus_phone)
        return chosen


def _key(env: Mapping[str, str], name: str) -> bytes:
    raw = env.get(name, "").strip()
    if not raw:
        return b""
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ConsoleSettingsError(f"{name} must be base64 (urlsafe) of ≥ 16 bytes") from None
    if len(key) < 16:
        raise ConsoleSettingsError(f"{name} must be base64 (urlsafe) of ≥ 16 bytes")
    return key


def break_due(stretch: Stretch, now_ms: int, settings: ConsoleSettings) -> str | None:
    """Why a break is due ("chats" or "time"), or None. Pure."""
    if settings.break_after_chats and stretch.chats_done >= settings.break_after_chats:
        return "chats"
    if settings.break_after_s and now_ms - stretch.since_ms >= settings.break_after_s * 1000:
        return "time"
    return None


def load_standard_texts(path: Path, nexus_phone: str) -> list[dict[str, Any]]:
    """The standard texts, with ``{nexus_phone}`` filled in, as the console API serves them:
    ``[{"id", "title": {"sv","en"}, "text": {"sv","en"}}]``.

    Raises ConsoleSettingsError (naming the file and the entry) on anything malformed."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ConsoleSettingsError(f"standard texts {path}: {error}") from None
    entries = raw.get("texts") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_STANDARD_TEXTS:
        raise ConsoleSettingsError(f"standard texts {path}: expected {{'texts': [...]}}")
    texts, seen = [], set()
    for number, entry in enumerate(entries, 1):
        where = f"standard texts {path}, entry {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ConsoleSettingsError(f"{where}: needs an 'id'")
        if entry["id"] in seen:
            raise ConsoleSettingsError(f"{where}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
        title, text = entry.get("title"), entry.get("text")
        if not isinstance(title, dict) or not isinstance(text, dict):
            raise ConsoleSettingsError(f"{where}: 'title' and 'text' map sv/en to strings")
        rendered = {}
        for lang in TEXT_LANGUAGES:
            body = text.get(lang)
            if not isinstance(body, str) or not isinstance(title.get(lang), str):
                raise ConsoleSettingsError(f"{where}: missing {lang!r} title or text")
            body = body.replace(PHONE_PLACEHOLDER, nexus_phone)
            if not body.strip() or len(body) > MAX_STANDARD_TEXT_CHARS:
                raise ConsoleSettingsError(f"{where}: text 1-{MAX_STANDARD_TEXT_CHARS} chars")
            rendered[lang] = body
        texts.append(
            {"id": entry["id"], "title": {k: title[k] for k in TEXT_LANGUAGES}, "text": rendered}
        )
    return texts
