"""Typed settings from the environment (and an optional `.env`), as the conventions fix them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.languages import LANGUAGES

REPO_ROOT = Path(__file__).resolve().parent.parent

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_ASYNC_DRIVERS = {("sqlite", "aiosqlite"), ("postgresql", "asyncpg")}
_DATABASE_URLS = "use sqlite+aiosqlite:///<file> or postgresql+asyncpg://<user>@<host>/<db>"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_HOURS_RE = re.compile(
    r"^(?P<d1>[A-Z][a-z]{2})(?:-(?P<d2>[A-Z][a-z]{2}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})-(?P<h2>\d{1,2}):(?P<m2>\d{2})$"
)


class Mode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class WorkingHours:
    """`Mon-Fri 09:00-18:00`: the days (0 = Monday) and the daily window."""

    __slots__ = ("days", "end", "start")

    def __init__(self, days: frozenset[int], start: time, end: time) -> None:
        self.days, self.start, self.end = days, start, end

    @classmethod
    def parse(cls, raw: str) -> WorkingHours:
        m = _HOURS_RE.match(raw.strip())
        if not m or m["d1"] not in _DAYS or (m["d2"] and m["d2"] not in _DAYS):
            raise ValueError("expected a form like 'Mon-Fri 09:00-18:00'")
        first = _DAYS.index(m["d1"])
        last = _DAYS.index(m["d2"]) if m["d2"] else first
        if last < first:
            raise ValueError("the day range runs backwards")
        try:
            start = time(int(m["h1"]), int(m["m1"]))
            end = time(int(m["h2"]), int(m["m2"]))
        except ValueError as exc:
            raise ValueError(f"bad time of day: {exc}") from None
        if end <= start:
            raise ValueError("the day ends before it starts")
        return cls(frozenset(range(first, last + 1)), start, end)

    def __str__(self) -> str:
        days = sorted(self.days)
        span = _DAYS[days[0]] if len(days) == 1 else f"{_DAYS[days[0]]}-{_DAYS[days[-1]]}"
        return f"{span} {self.start:%H:%M}-{self.end:%H:%M}"


def _int_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


def _shaped(pattern: re.Pattern[str], message: str) -> Callable[[SecretStr | None], object]:
    """A validator: an unset secret, or one that matches `pattern` whole (never echoed)."""

    def check(value: SecretStr | None) -> SecretStr | None:
        if value is not None and not pattern.fullmatch(value.get_secret_value()):
            raise ValueError(message)
        return value

    return check


IdList = Annotated[frozenset[int], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///ipdesk.db")
    redis_url: SecretStr | None = None
    mode: Mode = Mode.POLLING
    webhook_url: str | None = Field(None, validate_default=True)
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(8081, ge=1, le=65535)
    webhook_path: str = "/webhook"
    webhook_secret: SecretStr | None = Field(None, validate_default=True)
    health_port: int | None = Field(None, ge=0, le=65535)
    sandbox_port: int = Field(8080, ge=0, le=65535)
    staff_chat_id: int | None = None
    staff_ids: IdList = frozenset()
    admin_ids: IdList = frozenset()
    staff_language: str = "ru"
    broadcast_rate: float = Field(25.0, gt=0, le=30)
    timezone: str = "Asia/Almaty"
    working_hours: str = "Mon-Fri 09:00-18:00"
    # A ticket without a first answer for this many working hours is flagged in the staff chat.
    waiting_alert_hours: float = Field(4.0, gt=0, le=24 * 7)
    locales_dir: Path = REPO_ROOT / "locales"
    # Closed tickets keep the person's contact details this long; unfinished drafts this long.
    retention_days: int = Field(3 * 365, ge=1)
    draft_retention_days: int = Field(30, ge=1)

    _split_ids = field_validator("staff_ids", "admin_ids", mode="before")(_int_list)

    @field_validator("staff_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        WorkingHours.parse(value)
        return value

    @field_validator("telegram_api_base", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("webhook_url", "webhook_secret")
    @classmethod
    def _needed_for_webhooks(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.data.get("mode") is Mode.WEBHOOK:
            raise ValueError("required in webhook mode")
        return value

    _telegram_secret = field_validator("webhook_secret")(
        _shaped(_SECRET_RE, "1-256 characters: letters, digits, _ and -")
    )
    # The shape aiogram checks (`123456:AA...`), here so that it fails as configuration.
    _token_shape = field_validator("bot_token")(
        _shaped(_TOKEN_RE, "not a bot token (digits, a colon, then the secret: 123456:AA...)")
    )

    @field_validator("database_url")
    @classmethod
    def _async_database(cls, value: SecretStr) -> SecretStr:
        # Never echoed: it may hold a password.
        try:
            url = make_url(value.get_secret_value())
        except ArgumentError:
            raise ValueError(f"not a database URL; {_DATABASE_URLS}") from None
        if (url.get_backend_name(), url.get_driver_name()) not in _ASYNC_DRIVERS:
            raise ValueError(_DATABASE_URLS)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_REDIS_SCHEMES):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hours(self) -> WorkingHours:
        return WorkingHours.parse(self.working_hours)


class ConfigError(Exception):
    """One line naming the variable that is wrong."""


def load_settings(*, env_file: str | None = ".env", **overrides: object) -> Settings:
    """Settings from the environment (and `env_file`); keyword overrides win (tests use them)."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "configuration"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid configuration: {name}: {msg}") from None
