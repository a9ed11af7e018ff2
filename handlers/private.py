"""The first screens of a private chat: /start, /help, /privacy and the main menu."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deeplink import parse_start_payload
from bot.features import Features
from bot.services.faq import FaqCatalogue
from bot.services.users import UserService
from db.models import User
from handlers import faq_views, intake, keyboards, texts
from handlers.callbacks import MenuAction, MenuCb
from handlers.filters import CommandsOnly
from handlers.screens import show


def create_router() -> Router:
    router = Router(name="private")
    router.message.filter(F.chat.type == ChatType.PRIVATE, CommandsOnly())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)

    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(show_privacy, Command("privacy"))
    router.callback_query.register(
        menu, MenuCb.filter(F.action.in_({MenuAction.HOME, MenuAction.HELP, MenuAction.PRIVACY}))
    )
    return router


async def start(
    message: Message,
    command: CommandObject,
    user: User,
    session: AsyncSession,
    faq: FaqCatalogue,
    features: Features,
    state: FSMContext,
    raw_state: str | None = None,
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
    else:
        await message.answer(
            texts.welcome(user.first_name), reply_markup=keyboards.main_menu(features)
        )
    if intake.in_dialog(raw_state):
        # The complaint still waits for an answer: a question typed next would be taken as it.
        await intake.remind(message, user, session, state, faq)


async def show_help(message: Message, features: Features) -> None:
    await message.answer(texts.help_text(features), reply_markup=keyboards.back_home())


async def show_privacy(message: Message) -> None:
    await message.answer(texts.privacy_text(), reply_markup=keyboards.back_home())


async def menu(query: CallbackQuery, callback_data: MenuCb, user: User, features: Features) -> None:
    screens = {
        MenuAction.HOME: (
            lambda: texts.welcome(user.first_name),
            lambda: keyboards.main_menu(features),
        ),
        MenuAction.HELP: (lambda: texts.help_text(features), keyboards.back_home),
        MenuAction.PRIVACY: (texts.privacy_text, keyboards.back_home),
    }
    render_text, render_keyboard = screens[callback_data.action]
    await show(query, render_text(), render_keyboard())
