"""The first screens of a private chat: /start, /help, /privacy, /deleteme and the main menu."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deeplink import parse_start_payload
from bot.features import Features
from bot.services.faq import FaqCatalogue
from bot.services.users import UserService
from db.models import User
from handlers import faq_views, keyboards, texts
from handlers.callbacks import DeleteMeCb, MenuAction, MenuCb
from handlers.screens import show


def create_router() -> Router:
    router = Router(name="private")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)

    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(show_privacy, Command("privacy"))
    router.message.register(ask_delete, Command("deleteme"))
    router.callback_query.register(
        menu, MenuCb.filter(F.action.in_({MenuAction.HOME, MenuAction.HELP, MenuAction.PRIVACY}))
    )
    router.callback_query.register(delete_me, DeleteMeCb.filter())
    return router


async def start(
    message: Message,
    command: CommandObject,
    user: User,
    session: AsyncSession,
    faq: FaqCatalogue,
    features: Features,
) -> None:
    link = parse_start_payload(command.args)
    if link is not None:
        await UserService(session).remember_start_payload(user, link.raw)
    entry = faq.find(link.value) if link is not None and link.kind == "faq" else None
    if entry is not None:
        # t.me/<bot>?start=faq-<id>: straight to the answer.
        await message.answer(
            faq_views.entry_text(entry, user.language),
            reply_markup=faq_views.entry_keyboard(
                entry, faq.related(entry), faq.page_of(entry), user.language
            ),
        )
        return
    await message.answer(texts.welcome(user.first_name), reply_markup=keyboards.main_menu(features))


async def show_help(message: Message) -> None:
    await message.answer(texts.help_text(), reply_markup=keyboards.back_home())


async def show_privacy(message: Message) -> None:
    await message.answer(texts.privacy_text(), reply_markup=keyboards.back_home())


async def menu(query: CallbackQuery, callback_data: MenuCb, user: User, features: Features) -> None:
    screens = {
        MenuAction.HOME: (
            lambda: texts.welcome(user.first_name),
            lambda: keyboards.main_menu(features),
        ),
        MenuAction.HELP: (texts.help_text, keyboards.back_home),
        MenuAction.PRIVACY: (texts.privacy_text, keyboards.back_home),
    }
    render_text, render_keyboard = screens[callback_data.action]
    await show(query, render_text(), render_keyboard())


async def ask_delete(message: Message) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, delete my data"), callback_data=DeleteMeCb(confirm=True))
    kb.button(text=_("Cancel"), callback_data=DeleteMeCb(confirm=False))
    await message.answer(
        _(
            "Delete everything I keep about you (your name, language and settings)? "
            "This cannot be undone."
        ),
        reply_markup=kb.as_markup(),
    )


async def delete_me(
    query: CallbackQuery, callback_data: DeleteMeCb, user: User, session: AsyncSession
) -> None:
    if callback_data.confirm:
        await UserService(session).forget(user)
        text = _("Done: your data has been deleted. If you write again, I will start afresh.")
    else:
        text = _("Nothing was deleted.")
    await show(query, text, None)
