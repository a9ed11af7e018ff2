"""Last in line: unknown commands, unsupported kinds of message, stale or forged buttons."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.features import Features
from handlers import keyboards
from handlers.screens import refuse_stale

MAX_ECHOED_COMMAND = 32


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(unsupported)
    router.callback_query.register(refuse_stale)
    return router


async def unknown_command(message: Message) -> None:
    command = (message.text or "").split(maxsplit=1)[0][:MAX_ECHOED_COMMAND]
    await message.answer(
        _("I don't know the command {command}. Send /help to see what I can do.").format(
            command=f"<code>{escape(command)}</code>"
        )
    )


async def unsupported(message: Message, features: Features) -> None:
    await message.answer(
        _("I can't work with this kind of message. Please send text or use the menu."),
        reply_markup=keyboards.main_menu(features),
    )
