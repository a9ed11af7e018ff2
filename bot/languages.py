"""The four languages ipdesk speaks, and which one a person gets. Cheap to import."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("kk", "ru", "ko", "en")
DEFAULT_LANGUAGE = "en"


def pick_language(telegram_code: str | None) -> str:
    """Telegram's IETF tag ("ko", "ru-RU", "kk") mapped to one of ours; anything else is English."""
    if not telegram_code:
        return DEFAULT_LANGUAGE
    base = telegram_code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def is_supported(code: str) -> bool:
    return code in LANGUAGES
