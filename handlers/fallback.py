"""Last in line: unknown commands, unsupported kinds of message, stale or forged buttons."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.delivery import Delivery
from bot.features import Features
from handlers import keyboards
from handlers.screens import refuse_stale

log = logging.getLogger("ipdesk.fallback")

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


async def unsupported(message: Message, features: Features, delivery: Delivery, bot: Bot) -> None:
    text = _("I can't work with this kind of message. Please send text or use the menu.")
    markup = keyboards.main_menu(features)
    if message.media_group_id is None:
        await message.answer(text, reply_markup=markup)
        return
    chat_id = message.chat.id

    async def answer_once() -> None:
        try:
            await bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramAPIError:
            log.warning("could not answer an album", exc_info=True)

    # An album comes as one update per item: one answer, once it has gone quiet.
    await delivery.albums.seen(("unsupported", chat_id, message.media_group_id), answer_once)
