"""Inline keyboards, built per request in the user's language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.features import Features
from bot.languages import LANGUAGES
from handlers.callbacks import LanguageCb, MenuAction, MenuCb

# Each language is offered in its own name, so anyone can find theirs.
LANGUAGE_NAMES = {"kk": "🇰🇿 Қазақша", "ru": "🇷🇺 Русский", "ko": "🇰🇷 한국어", "en": "🇬🇧 English"}


def main_menu(features: Features) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📚 Questions and answers"), callback_data=MenuCb(action=MenuAction.FAQ))
    if features.complaints:
        kb.button(text=_("📝 File a complaint"), callback_data=MenuCb(action=MenuAction.COMPLAINT))
    kb.button(text=_("🌐 Language"), callback_data=MenuCb(action=MenuAction.LANGUAGE))
    kb.button(text=_("ℹ️ Help"), callback_data=MenuCb(action=MenuAction.HELP))
    kb.button(text=_("🔒 Privacy"), callback_data=MenuCb(action=MenuAction.PRIVACY))
    kb.adjust(*([1, 1] if features.complaints else [1]), 1, 2)
    return kb.as_markup()


def languages(current: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in LANGUAGES:
        mark = "✓ " if code == current else ""
        kb.button(text=f"{mark}{LANGUAGE_NAMES[code]}", callback_data=LanguageCb(code=code))
    kb.button(text=_("🏠 Main menu"), callback_data=MenuCb(action=MenuAction.HOME))
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def back_home() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🏠 Main menu"), callback_data=MenuCb(action=MenuAction.HOME))
    return kb.as_markup()
