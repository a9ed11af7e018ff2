"""The FAQ base: content loading and validation, Telegram-HTML checking, review export.

Knows nothing of aiogram.
"""

from bot.faq.content import (
    CATEGORIES,
    LANGUAGES,
    FaqBase,
    FaqCategory,
    FaqContentError,
    FaqEntry,
    LocalizedText,
    load_faq,
)

__all__ = [
    "CATEGORIES",
    "LANGUAGES",
    "FaqBase",
    "FaqCategory",
    "FaqContentError",
    "FaqEntry",
    "LocalizedText",
    "load_faq",
]
