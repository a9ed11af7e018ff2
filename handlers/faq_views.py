"""How FAQ screens look: texts and keyboards in the user's language."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.faq.content import FaqBase, FaqEntry
from bot.services.faq import Page
from handlers.callbacks import FaqEntryCb, FaqNavCb, FaqStaffCb, FaqVoteCb, MenuAction, MenuCb
from handlers.keyboards import inline_rows, memo_markup

MAX_SOURCES_SHOWN = 3


def categories_text() -> str:
    return _("<b>Questions and answers</b>\n\nChoose a topic:")


def categories_keyboard(base: FaqBase, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for category in base.categories:
        kb.button(text=category.title(lang), callback_data=FaqNavCb(category=category.id))
    kb.button(text=_("🏠 Main menu"), callback_data=MenuCb(action=MenuAction.HOME))
    kb.adjust(*([2] * (len(base.categories) // 2)), 1)
    return kb.as_markup()


def page_text(page: Page, lang: str) -> str:
    title = escape(page.category.title(lang))
    if page.count > 1:
        return _("<b>{title}</b> ({page} of {pages})\n\nChoose a question:").format(
            title=title, page=page.number + 1, pages=page.count
        )
    return _("<b>{title}</b>\n\nChoose a question:").format(title=title)


def page_keyboard(page: Page, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for entry in page.entries:
        kb.button(text=entry.text(lang).title, callback_data=FaqEntryCb(id=entry.id))
    sizes = [1] * len(page.entries)
    nav = 0
    if page.number > 0:
        kb.button(text="◀️", callback_data=FaqNavCb(category=page.category.id, page=page.number - 1))
        nav += 1
    if page.number < page.count - 1:
        kb.button(text="▶️", callback_data=FaqNavCb(category=page.category.id, page=page.number + 1))
        nav += 1
    if nav:
        sizes.append(nav)
    kb.button(text=_("⬅️ Topics"), callback_data=FaqNavCb())
    kb.button(text=_("🏠 Main menu"), callback_data=MenuCb(action=MenuAction.HOME))
    sizes.append(2)
    kb.adjust(*sizes)
    return kb.as_markup()


def entry_text(entry: FaqEntry, lang: str) -> str:
    text = entry.text(lang)
    links = ", ".join(
        f'<a href="{escape(url, quote=True)}">{escape(urlsplit(url).netloc)}</a>'
        for url in entry.sources[:MAX_SOURCES_SHOWN]
    )
    footer = _("Sources: {links}\nReviewed: {date}").format(
        links=links, date=entry.reviewed.isoformat()
    )
    return f"<b>{escape(text.title)}</b>\n\n{text.answer}\n\n<i>{footer}</i>"


def entry_keyboard(
    entry: FaqEntry,
    related: tuple[FaqEntry, ...],
    page: int,
    lang: str,
    *,
    ask_staff: bool = True,
) -> InlineKeyboardMarkup:
    """Built once per entry, language and variant (`memo_markup`)."""
    return memo_markup(
        ("entry", entry.id, tuple(e.id for e in related), page, lang, ask_staff),
        (entry, *related),
        lambda: _entry_keyboard(entry, related, page, lang, ask_staff=ask_staff),
    )


def _entry_keyboard(
    entry: FaqEntry,
    related: tuple[FaqEntry, ...],
    page: int,
    lang: str,
    *,
    ask_staff: bool,
) -> InlineKeyboardMarkup:
    return inline_rows(
        [
            (_("👍 Helpful"), FaqVoteCb(id=entry.id, helpful=True)),
            (_("👎 Not helpful"), FaqVoteCb(id=entry.id, helpful=False)),
        ],
        *([(f"↪️ {other.text(lang).title}", FaqEntryCb(id=other.id))] for other in related),
        [(_("💬 Ask our staff"), FaqStaffCb(id=entry.id))] if ask_staff else [],
        [
            (_("⬅️ Back"), FaqNavCb(category=entry.category, page=page)),
            (_("🏠 Main menu"), MenuCb(action=MenuAction.HOME)),
        ],
    )
