"""/language and the language buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features import Features
from bot.languages import LANGUAGES
from bot.services.users import UserService
from db.models import User
from handlers import keyboards, texts
from handlers.callbacks import LanguageCb, MenuAction, MenuCb
from handlers.filters import CommandsOnly
from handlers.screens import show


def create_router() -> Router:
    router = Router(name="language")
    router.message.filter(F.chat.type == ChatType.PRIVATE, CommandsOnly())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(ask_language, Command("language"))
    router.callback_query.register(menu_language, MenuCb.filter(F.action == MenuAction.LANGUAGE))
    router.callback_query.register(set_language, LanguageCb.filter(F.code.in_(LANGUAGES)))
    return router


async def ask_language(message: Message, user: User) -> None:
    await message.answer(
        _("Choose your language:"), reply_markup=keyboards.languages(user.language)
    )


async def menu_language(query: CallbackQuery, user: User) -> None:
    await show(query, _("Choose your language:"), keyboards.languages(user.language))


async def set_language(
    query: CallbackQuery,
    callback_data: LanguageCb,
    user: User,
    session: AsyncSession,
    i18n: I18n,
    features: Features,
) -> None:
    await UserService(session).set_language(user, callback_data.code)
    # From here on this update speaks the new language.
    with i18n.use_locale(callback_data.code):
        await query.answer(_("I will speak English with you now."))
        await show(
            query, texts.welcome(user.first_name), keyboards.main_menu(features), answered=True
        )
