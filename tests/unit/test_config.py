"""Unit tests of the settings: built from an explicit environment mapping, never os.environ."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_server.config import REPO_DIR, Settings, SettingsError, load_settings


def test_defaults() -> None:
    """An empty environment gives the documented defaults."""
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://localhost:8080"
    assert settings.allowed_origins == ("http://localhost:8080",)
    assert settings.redis_url == ""
    assert settings.redis_prefix == "nx:"
    assert settings.data_dir == Path("var")
    assert settings.staff_file == Path("var/staff.json")
    assert settings.widget_dir == REPO_DIR / "widget"
    assert settings.demo is False
    assert settings.log_level == "INFO"
    assert (settings.chat_ttl_s, settings.visitor_gone_ttl_s) == (1800, 120)
    assert settings.hello_timeout_s == 10.0
    assert (settings.max_frame_bytes, settings.max_text_chars) == (16384, 2000)
    assert (settings.visitor_msgs_per_s, settings.visitor_msg_burst) == (1.0, 8)
    assert settings.default_capacity == 2
    assert (settings.session_idle_s, settings.session_absolute_s) == (1800, 43200)
    assert settings.sweep_interval_s == 5.0


def test_empty_values_mean_defaults() -> None:
    """A variable set to the empty string counts as unset."""
    env = {
        name: ""
        for name in (
            "NEXUS_PORT",
            "NEXUS_DEMO",
            "NEXUS_HELLO_TIMEOUT_S",
            "NEXUS_STAFF_FILE",
            "NEXUS_PUBLIC_URL",
            "NEXUS_WIDGET_DIR",
        )
    }
    assert load_settings(env) == load_settings({})


def test_every_variable_is_read() -> None:
    """Each NEXUS_* variable (and REDIS_URL) sets its field, parsed to the field's type."""
    env = {
        "NEXUS_HOST": "0.0.0.0",
        "NEXUS_PORT": "9090",
        "NEXUS_PUBLIC_URL": "https://chatt.uppsala.se/",
        "NEXUS_ALLOWED_ORIGINS": " https://www.uppsala.se/ , https://nexus.uppsala.se,, ",
        "REDIS_URL": "unix:///run/redis/redis.sock",
        "NEXUS_REDIS_PREFIX": "test:",
        "NEXUS_DATA_DIR": "/srv/nexus",
        "NEXUS_STAFF_FILE": "/etc/nexus/staff.json",
        "NEXUS_AUDIT_DIR": "/var/log/nexus-audit",
        "NEXUS_AUDIT_RETENTION_DAYS": "730",
        "NEXUS_WIDGET_DIR": "/srv/widget",
        "NEXUS_DEMO": "yes",
        "NEXUS_LOG_LEVEL": "debug",
        "NEXUS_CHAT_TTL_S": "600",
        "NEXUS_VISITOR_GONE_TTL_S": "30",
        "NEXUS_HELLO_TIMEOUT_S": "2.5",
        "NEXUS_MAX_FRAME_BYTES": "32768",
        "NEXUS_MAX_TEXT_CHARS": "4000",
        "NEXUS_VISITOR_MSGS_PER_S": "0.5",
        "NEXUS_VISITOR_MSG_BURST": "4",
        "NEXUS_DEFAULT_CAPACITY": "3",
        "NEXUS_SESSION_IDLE_S": "900",
        "NEXUS_SESSION_ABSOLUTE_S": "28800",
        "NEXUS_SWEEP_INTERVAL_S": "1",
    }
    loaded = load_settings(env)
    assert loaded.callbacks is not None  # the demo makes its own callback key
    assert loaded.with_overrides(callbacks=None) == Settings(
        host="0.0.0.0",
        port=9090,
        public_url="https://chatt.uppsala.se",
        allowed_origins=("https://www.uppsala.se", "https://nexus.uppsala.se"),
        redis_url="unix:///run/redis/redis.sock",
        redis_prefix="test:",
        data_dir=Path("/srv/nexus"),
        staff_file=Path("/etc/nexus/staff.json"),
        audit_dir=Path("/var/log/nexus-audit"),
        audit_retention_days=730,
        widget_dir=Path("/srv/widget"),
        demo=True,
        log_level="DEBUG",
        chat_ttl_s=600,
        visitor_gone_ttl_s=30,
        hello_timeout_s=2.5,
        max_frame_bytes=32768,
        max_text_chars=4000,
        visitor_msgs_per_s=0.5,
        visitor_msg_burst=4,
        default_capacity=3,
        session_idle_s=900,
        session_absolute_s=28800,
        sweep_interval_s=1.0,
    )


def test_staff_file_defaults_into_the_data_dir() -> None:
    """Without NEXUS_STAFF_FILE the staff file lives in NEXUS_DATA_DIR."""
    assert load_settings({"NEXUS_DATA_DIR": "/tmp/x"}).staff_file == Path("/tmp/x/staff.json")


def test_audit_log_defaults_into_the_data_dir_and_keeps_a_year() -> None:
    """Without NEXUS_AUDIT_DIR the audit log lives in <data dir>/audit; retention is 1-3650."""
    settings = load_settings({"NEXUS_DATA_DIR": "/tmp/x"})
    assert (settings.audit_dir, settings.audit_retention_days) == (Path("/tmp/x/audit"), 365)
    for bad in ("0", "3651", "a year"):
        with pytest.raises(SettingsError, match="NEXUS_AUDIT_RETENTION_DAYS"):
            load_settings({"NEXUS_AUDIT_RETENTION_DAYS": bad})


def test_public_url_follows_the_port_and_is_the_default_origin() -> None:
    """Without a public URL it is localhost on the chosen port, and the only allowed origin."""
    settings = load_settings({"NEXUS_PORT": "9123"})
    assert settings.public_url == "http://localhost:9123"
    assert settings.allowed_origins == ("http://localhost:9123",)
    assert settings.origin == "http://localhost:9123"


def test_allowed_origins_default_to_the_public_url() -> None:
    """The public URL, without its trailing slash, is the default allowed origin."""
    settings = load_settings({"NEXUS_PUBLIC_URL": "https://chatt.uppsala.se/"})
    assert settings.allowed_origins == ("https://chatt.uppsala.se",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_bool_spellings(raw: str, expected: bool) -> None:
    """Booleans accept 1/0, true/false, yes/no and on/off in any case."""
    assert load_settings({"NEXUS_DEMO": raw}).demo is expected


INT_VARIABLES = [
    "NEXUS_PORT",
    "NEXUS_CHAT_TTL_S",
    "NEXUS_VISITOR_GONE_TTL_S",
    "NEXUS_MAX_FRAME_BYTES",
    "NEXUS_MAX_TEXT_CHARS",
    "NEXUS_VISITOR_MSG_BURST",
    "NEXUS_DEFAULT_CAPACITY",
    "NEXUS_SESSION_IDLE_S",
    "NEXUS_SESSION_ABSOLUTE_S",
]
FLOAT_VARIABLES = ["NEXUS_HELLO_TIMEOUT_S", "NEXUS_VISITOR_MSGS_PER_S", "NEXUS_SWEEP_INTERVAL_S"]


@pytest.mark.parametrize("name", INT_VARIABLES)
@pytest.mark.parametrize("raw", ["abc", "1.5", "8080x", "-1"])
def test_bad_whole_numbers_name_the_variable(name: str, raw: str) -> None:
    """A whole-number variable that is not a non-negative integer names itself in the error."""
    with pytest.raises(SettingsError, match=name):
        load_settings({name: raw})


@pytest.mark.parametrize("name", FLOAT_VARIABLES)
@pytest.mark.parametrize("raw", ["abc", "1,5", "fast"])
def test_bad_numbers_name_the_variable(name: str, raw: str) -> None:
    """A number variable that does not parse names itself in the error."""
    with pytest.raises(SettingsError, match=name):
        load_settings({name: raw})


@pytest.mark.parametrize("name", FLOAT_VARIABLES)
@pytest.mark.parametrize("raw", ["-1", "nan"])
def test_numbers_must_be_finite_and_not_negative(name: str, raw: str) -> None:
    """A rate, timeout or interval that is negative, NaN or infinite is refused by name."""
    with pytest.raises(SettingsError, match=name):
        load_settings({name: raw})


@pytest.mark.parametrize("raw", ["maybe", "2", "ja"])
def test_bad_bools_name_the_variable(raw: str) -> None:
    """A boolean that is not a known spelling names the variable in the error."""
    with pytest.raises(SettingsError, match="NEXUS_DEMO"):
        load_settings({"NEXUS_DEMO": raw})


def test_frame_limit_must_leave_room_for_the_longest_message() -> None:
    """The frame limit must hold max_text_chars at 4 UTF-8 bytes each plus 256 of envelope."""
    assert load_settings({"NEXUS_MAX_TEXT_CHARS": "4032"}).max_frame_bytes == 16384
    with pytest.raises(SettingsError, match="NEXUS_MAX_FRAME_BYTES"):
        load_settings({"NEXUS_MAX_TEXT_CHARS": "4033"})
    with pytest.raises(SettingsError, match="NEXUS_MAX_FRAME_BYTES"):
        load_settings({"NEXUS_MAX_FRAME_BYTES": "8255"})
    assert load_settings({"NEXUS_MAX_FRAME_BYTES": "8256"}).max_frame_bytes == 8256


def test_overrides_replace_fields() -> None:
    """Keyword overrides win over the environment."""
    settings = load_settings({"NEXUS_PORT": "9000"}, port=9001, demo=True)
    assert (settings.port, settings.demo) == (9001, True)


def test_an_explicit_env_ignores_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With an explicit mapping, os.environ is not consulted."""
    monkeypatch.setenv("NEXUS_PORT", "not a port")
    assert load_settings({}).port == 8080
    with pytest.raises(SettingsError, match="NEXUS_PORT"):
        load_settings()
