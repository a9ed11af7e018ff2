import subprocess
import sys

import pytest

from bot.config import ConfigError, WorkingHours, load_settings


def test_defaults_follow_the_conventions() -> None:
    s = load_settings(env_file=None)
    assert s.database_url.get_secret_value() == "sqlite+aiosqlite:///ipdesk.db"
    assert s.mode == "polling" and s.sandbox_port == 8080 and s.staff_language == "ru"
    assert s.broadcast_rate == 25 and s.timezone == "Asia/Almaty"
    assert str(s.hours) == "Mon-Fri 09:00-18:00"


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2")
    monkeypatch.setenv("STAFF_IDS", "42")
    s = load_settings(env_file=None)
    assert s.admin_ids == {1, 2} and s.staff_ids == {42}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_IDS", "1,x"),
        ("MODE", "carrier-pigeon"),
        ("TIMEZONE", "Mars/Olympus"),
        ("WORKING_HOURS", "Mon-Fri 18:00-09:00"),
        ("STAFF_LANGUAGE", "de"),
        ("WEBHOOK_PORT", "0"),
        ("TELEGRAM_API_BASE", "ftp://example"),
        ("BOT_TOKEN", "notatoken"),
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "sqlite:////tmp/ipdesk.db"),  # not an async driver
        ("DATABASE_URL", "postgresql://ipdesk:pw@db/ipdesk"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings(env_file=None)
    message = str(err.value)
    assert message.startswith(f"invalid configuration: {name}:")
    assert "\n" not in message
    if name in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL"):
        assert value not in message  # it may hold a secret: never echoed


def test_the_cli_prints_one_line_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={"PATH": "/usr/bin:/bin", "TIMEZONE": "Nowhere/Land"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "invalid configuration: TIMEZONE: unknown time zone 'Nowhere/Land'"
    ]


def test_secrets_are_not_shown_in_repr() -> None:
    s = load_settings(env_file=None, bot_token="123:secret-token", webhook_secret="s3cr3t")
    assert "secret-token" not in repr(s) and "s3cr3t" not in repr(s)


def test_working_hours_parse() -> None:
    hours = WorkingHours.parse("Sat 10:00-14:30")
    assert hours.days == {5} and str(hours) == "Sat 10:00-14:30"
