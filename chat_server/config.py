"""Settings: one frozen object built from the environment; the only reader of ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .callback_settings import CallbackConfig, CallbackConfigError
from .crypto import KeySettingError
from .domain.flood import FloodPolicy
from .envparse import EnvReader
from .legal_settings import LegalSettings, LegalSettingsError
from .redis_settings import RedisConfig, RedisSettingsError
from .store.sealing import MessageKeyring
from .supervisor_config import SupervisorConfig, SupervisorConfigError
from .web.console_settings import ConsoleSettings, ConsoleSettingsError

REPO_DIR = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    allowed_origins: tuple[str, ...] = ()
    redis_url: str = ""
    redis_prefix: str = "nx:"
    redis: RedisConfig = field(default_factory=RedisConfig)
    data_dir: Path = Path("var")
    staff_file: Path = Path("var/staff.json")
    audit_dir: Path = Path("var/audit")
    audit_retention_days: int = 365  # docs/audit.md argues the default
    widget_dir: Path = REPO_DIR / "widget"
    demo: bool = False
    log_level: str = "INFO"
    # Visitor chats
    chat_ttl_s: int = 1800
    visitor_gone_ttl_s: int = 120
    idle_warning_s: int = 300  # warn this long before a quiet chat lapses (0: never)
    kiosk_idle_s: int = 180  # /chatt?kiosk=1 starts clean after this long untouched
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 16384
    max_text_chars: int = 2000
    visitor_msgs_per_s: float = 1.0
    visitor_msg_burst: int = 8
    max_protocol_errors: int = 20
    flood: FloodPolicy = field(default_factory=FloodPolicy)  # proof of work in a flood
    default_capacity: int = 2
    # Staff sessions
    session_idle_s: int = 1800
    session_absolute_s: int = 43200
    login_concurrency: int = 2
    # Routing, opening hours and honest waiting (see docs/routing.md)
    relax_after_s: int = 60
    offer_timeout_s: int = 30
    consult_timeout_s: int = 60  # a warm transfer's consult waits this long for an answer
    backup_after_s: int = 120
    routing_tick_s: float = 1.0
    opening_hours: str = ""  # empty: open all hours
    closed_dates: str = ""
    intake_close_before_min: int = 15
    observe_public_holidays: bool = True
    default_handle_time_s: int = 1200
    overflow_wait_s: int = 600
    overflow_queue_length: int = 20
    # Chat text sealed at rest (None: no NEXUS_MESSAGE_KEY; only one process may then serve)
    message_keys: MessageKeyring | None = None
    # Callbacks (None: off, for want of NEXUS_CALLBACK_KEY) and the supervisor view
    callbacks: CallbackConfig | None = None
    supervisor: SupervisorConfig = field(default_factory=SupervisorConfig)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    legal: LegalSettings = field(default_factory=LegalSettings)  # the privacy and a11y pages
    # Housekeeping
    sweep_interval_s: float = 5.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """This service's own origin (scheme://host[:port]), for same-origin checks."""
        return self.public_url.rstrip("/")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _callbacks(env: Mapping[str, str], demo: bool) -> CallbackConfig | None:
    """Callbacks are on when a key is configured (the demo makes one) unless switched off."""
    if not EnvReader(env, SettingsError).flag("NEXUS_CALLBACKS_ENABLED", True):
        return None
    if not demo and not env.get("NEXUS_CALLBACK_KEY", "").strip():
        return None
    return CallbackConfig.from_env(env, demo=demo)


def _message_keys(env: Mapping[str, str]) -> MessageKeyring | None:
    current = env.get("NEXUS_MESSAGE_KEY", "").strip()
    old = env.get("NEXUS_MESSAGE_OLD_KEYS", "").strip()
    if not current:
        if old:
            raise KeySettingError("NEXUS_MESSAGE_OLD_KEYS needs a NEXUS_MESSAGE_KEY beside it")
        return None
    try:
        return MessageKeyring.from_settings(current, old)
    except KeySettingError as error:
        raise KeySettingError(f"NEXUS_MESSAGE_KEY / NEXUS_MESSAGE_OLD_KEYS: {error}") from None


def _flood(read: EnvReader) -> FloodPolicy:
    try:
        return FloodPolicy(
            starts_per_min=read.whole("NEXUS_FLOOD_STARTS_PER_MIN", 60),
            min_bits=read.whole("NEXUS_FLOOD_MIN_BITS", 10),
            max_bits=read.whole("NEXUS_FLOOD_MAX_BITS", 14),
            challenge_ttl_s=read.whole("NEXUS_FLOOD_CHALLENGE_TTL_S", 60),
        )
    except ValueError as error:
        raise SettingsError(f"NEXUS_FLOOD_*: {error}") from None


def operator_name(env: Mapping[str, str] | None = None) -> str:
    """Who runs a CLI command, for the audit log: the user who called ``sudo -u`` (docs say
    to run the CLI as the service user), else the login name; '' if neither is known."""
    env = os.environ if env is None else env
    return env.get("SUDO_USER", "") or env.get("LOGNAME", "") or env.get("USER", "")


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    read = EnvReader(env, SettingsError)
    port = read.whole("NEXUS_PORT", 8080)
    host = env.get("NEXUS_HOST", "127.0.0.1")
    public_url = env.get("NEXUS_PUBLIC_URL", "") or f"http://localhost:{port}"
    origins = tuple(
        o.strip().rstrip("/") for o in env.get("NEXUS_ALLOWED_ORIGINS", "").split(",") if o.strip()
    )
    data_dir = Path(env.get("NEXUS_DATA_DIR", "var"))
    demo = bool(overrides.get("demo", read.flag("NEXUS_DEMO", False)))
    try:
        supervisor = SupervisorConfig.from_env(env)
        callbacks = _callbacks(env, demo)
        console = ConsoleSettings.from_env(env)
        redis = RedisConfig.from_env(env)
        message_keys = _message_keys(env)
        legal = LegalSettings.from_env(env)
    except (
        KeySettingError,
        SupervisorConfigError,
        CallbackConfigError,
        ConsoleSettingsError,
        RedisSettingsError,
        LegalSettingsError,
    ) as error:
        raise SettingsError(str(error)) from None
    settings = Settings(
        host=host,
        port=port,
        public_url=public_url.rstrip("/"),
        allowed_origins=origins or (public_url.rstrip("/"),),
        redis_url=env.get("REDIS_URL", ""),
        redis_prefix=env.get("NEXUS_REDIS_PREFIX", "nx:"),
        redis=redis,
        data_dir=data_dir,
        staff_file=Path(env.get("NEXUS_STAFF_FILE", "") or data_dir / "staff.json"),
        audit_dir=Path(env.get("NEXUS_AUDIT_DIR", "") or data_dir / "audit"),
        audit_retention_days=read.whole("NEXUS_AUDIT_RETENTION_DAYS", 365, minimum=1, maximum=3650),
        widget_dir=Path(env.get("NEXUS_WIDGET_DIR", "") or REPO_DIR / "widget"),
        demo=read.flag("NEXUS_DEMO", False),
        log_level=env.get("NEXUS_LOG_LEVEL", "INFO").upper(),
        chat_ttl_s=read.whole("NEXUS_CHAT_TTL_S", 1800),
        visitor_gone_ttl_s=read.whole("NEXUS_VISITOR_GONE_TTL_S", 120),
        idle_warning_s=read.whole("NEXUS_IDLE_WARNING_S", 300),
        kiosk_idle_s=read.whole("NEXUS_KIOSK_IDLE_S", 180, minimum=1, maximum=86400),
        hello_timeout_s=read.number("NEXUS_HELLO_TIMEOUT_S", 10.0),
        max_frame_bytes=read.whole("NEXUS_MAX_FRAME_BYTES", 16384),
        max_text_chars=read.whole("NEXUS_MAX_TEXT_CHARS", 2000),
        visitor_msgs_per_s=read.number("NEXUS_VISITOR_MSGS_PER_S", 1.0),
        visitor_msg_burst=read.whole("NEXUS_VISITOR_MSG_BURST", 8),
        flood=_flood(read),
        default_capacity=read.whole("NEXUS_DEFAULT_CAPACITY", 2),
        session_idle_s=read.whole("NEXUS_SESSION_IDLE_S", 1800),
        session_absolute_s=read.whole("NEXUS_SESSION_ABSOLUTE_S", 43200),
        sweep_interval_s=read.number("NEXUS_SWEEP_INTERVAL_S", 5.0),
        relax_after_s=read.whole("NEXUS_RELAX_AFTER_S", 60),
        offer_timeout_s=read.whole("NEXUS_OFFER_TIMEOUT_S", 30),
        consult_timeout_s=read.whole("NEXUS_CONSULT_TIMEOUT_S", 60, minimum=5, maximum=600),
        backup_after_s=read.whole("NEXUS_BACKUP_AFTER_S", 120),
        routing_tick_s=read.number("NEXUS_ROUTING_TICK_S", 1.0),
        opening_hours=env.get("NEXUS_OPENING_HOURS", ""),
        closed_dates=env.get("NEXUS_CLOSED_DATES", ""),
        intake_close_before_min=read.whole("NEXUS_INTAKE_CLOSE_BEFORE_MIN", 15),
        observe_public_holidays=read.flag("NEXUS_OBSERVE_PUBLIC_HOLIDAYS", True),
        default_handle_time_s=read.whole("NEXUS_DEFAULT_HANDLE_TIME_S", 1200),
        overflow_wait_s=read.whole("NEXUS_OVERFLOW_WAIT_S", 600),
        overflow_queue_length=read.whole("NEXUS_OVERFLOW_QUEUE_LENGTH", 20),
        message_keys=message_keys,
        callbacks=callbacks,
        supervisor=supervisor,
        console=console,
        legal=legal,
    )
    if settings.idle_warning_s >= settings.chat_ttl_s:
        raise SettingsError("NEXUS_IDLE_WARNING_S must be shorter than NEXUS_CHAT_TTL_S")
    if settings.max_text_chars * 4 + 256 > settings.max_frame_bytes:
        raise SettingsError(
            "NEXUS_MAX_FRAME_BYTES must leave room for a full message: at least "
            f"{settings.max_text_chars * 4 + 256} bytes for {settings.max_text_chars} characters"
        )
    return settings.with_overrides(**overrides) if overrides else settings
