"""News consent: asked once after a first useful answer, /settings, and Unsubscribe under every
announcement."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.news import NewsConsent
from db.models import User
from handlers.callbacks import MenuAction, MenuCb
from handlers.filters import CommandsOnly
from handlers.keyboards import LANGUAGE_NAMES
from handlers.screens import replace_markup, show


class NewsCb(CallbackData, prefix="nw"):
    on: bool
    where: str  # ask (the one-time question) | settings | post (under an announcement)


def create_router() -> Router:
    router = Router(name="news")
    router.message.filter(F.chat.type == ChatType.PRIVATE, CommandsOnly())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(settings, Command("settings"))
    router.callback_query.register(answer_question, NewsCb.filter(F.where == "ask"))
    router.callback_query.register(toggle_in_settings, NewsCb.filter(F.where == "settings"))
    router.callback_query.register(under_announcement, NewsCb.filter(F.where == "post"))
    return router


# -- views ----------------------------------------------------------------------------------------


def unsubscribe_keyboard() -> InlineKeyboardMarkup:
    """Under every announcement, in the recipient's language."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔕 Unsubscribe"), callback_data=NewsCb(on=False, where="post"))
    return kb.as_markup()


def resubscribe_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔔 Subscribe again"), callback_data=NewsCb(on=True, where="post"))
    return kb.as_markup()


def question() -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, send me announcements"), callback_data=NewsCb(on=True, where="ask"))
    kb.button(text=_("No, thank you"), callback_data=NewsCb(on=False, where="ask"))
    kb.adjust(1)
    text = _(
        "Would you like to receive our announcements: new rules, changes to office hours and "
        "similar news? Only a few a month. You can change this at any time in /settings."
    )
    return text, kb.as_markup()


def settings_screen(user: User) -> tuple[str, InlineKeyboardMarkup]:
    news = bool(user.news_opt_in)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🌐 Change the language"), callback_data=MenuCb(action=MenuAction.LANGUAGE))
    if news:
        kb.button(text=_("🔕 Stop announcements"), callback_data=NewsCb(on=False, where="settings"))
    else:
        kb.button(
            text=_("🔔 Receive announcements"), callback_data=NewsCb(on=True, where="settings")
        )
    kb.button(text=_("🏠 Main menu"), callback_data=MenuCb(action=MenuAction.HOME))
    kb.adjust(1)
    text = _("<b>Settings</b>\n\nLanguage: {language}\nAnnouncements: {news}").format(
        language=LANGUAGE_NAMES.get(user.language, user.language),
        news=_("on") if news else _("off"),
    )
    return text, kb.as_markup()


# -- the one-time question ------------------------------------------------------------------------


async def offer(bot: Bot, chat_id: int, user: User, session: AsyncSession) -> None:
    """After a useful answer: ask about announcements, once per person."""
    if await NewsConsent(session).claim_question(user):
        text, markup = question()
        await bot.send_message(chat_id, text, reply_markup=markup)


async def answer_question(
    query: CallbackQuery, callback_data: NewsCb, user: User, session: AsyncSession
) -> None:
    await NewsConsent(session).set(user, callback_data.on)
    if callback_data.on:
        text = _(
            "Done: you will receive our announcements. To stop them, press Unsubscribe under "
            "any of them or use /settings."
        )
    else:
        text = _("All right: no announcements. You can turn them on at any time in /settings.")
    await show(query, text, None)


# -- settings and the button under announcements --------------------------------------------------


async def settings(message: Message, user: User) -> None:
    text, markup = settings_screen(user)
    await message.answer(text, reply_markup=markup)


async def toggle_in_settings(
    query: CallbackQuery, callback_data: NewsCb, user: User, session: AsyncSession
) -> None:
    await NewsConsent(session).set(user, callback_data.on)
    text, markup = settings_screen(user)
    await show(query, text, markup)


async def under_announcement(
    query: CallbackQuery, callback_data: NewsCb, user: User, session: AsyncSession
) -> None:
    await NewsConsent(session).set(user, callback_data.on)
    if callback_data.on:
        await query.answer(_("You will receive announcements again."))
        markup = unsubscribe_keyboard()
    else:
        await query.answer(_("You will no longer receive announcements."), show_alert=True)
        markup = resubscribe_keyboard()
    if isinstance(query.message, Message):
        await replace_markup(query.message, markup)
