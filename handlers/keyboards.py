"""Inline keyboards, built per request in the user's language; those that depend only on the
(immutable) FAQ content and the language are built once (`memo_markup`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.features import Features
from bot.languages import LANGUAGES
from handlers.callbacks import LanguageCb, MenuAction, MenuCb

MEMO_LIMIT = 4096  # keyboards kept; some 40 entries x 4 languages x a few variants in practice
# key -> (the objects the key names by identity, the markup)
_memo: dict[Hashable, tuple[tuple[object, ...], InlineKeyboardMarkup]] = {}

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


def memo_markup(
    key: tuple[Hashable, ...],
    owners: tuple[object, ...],
    build: Callable[[], InlineKeyboardMarkup],
) -> InlineKeyboardMarkup:
    """`build()` once per key and translation catalogue, then the same markup again.

    aiogram's builder deep-copies every button it adds and exports (most of the CPU an FAQ
    answer cost); an FAQ keyboard depends only on content loaded once and on the language, so
    it is built once. `owners` are the content objects the key stands for (an entry, the FAQ
    base): they are compared by identity, so content loaded again (tests) is never served a
    keyboard built for other content. The markup is shared: never modify a returned one.
    """
    i18n = get_i18n()
    full_key = (*key, id(i18n), i18n.current_locale, *map(id, owners))
    found = _memo.get(full_key)
    if found is not None and all(a is b for a, b in zip(found[0], (i18n, *owners), strict=True)):
        return found[1]
    markup = build()
    if len(_memo) >= MEMO_LIMIT:
        _memo.clear()
    _memo[full_key] = ((i18n, *owners), markup)
    return markup


def inline_rows(*rows: Sequence[tuple[str, CallbackData]]) -> InlineKeyboardMarkup:
    """A keyboard from rows of (label, callback data); empty rows are left out. What the
    builder makes, without its deep copy of every button at each add and export."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data.pack()) for text, data in row]
            for row in rows
            if row
        ]
    )
