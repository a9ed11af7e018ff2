"""The staff chat: staff write in a ticket's topic to answer its user; others are refused."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery import Delivery
from handlers import intake_views, staff_views
from handlers.filters import IsStaff

NOTE_PREFIXES = ("//", "/note")


def create_router(settings: Settings) -> Router:
    router = Router(name="staff")
    if settings.staff_chat_id is None:
        return router
    router.message.filter(F.chat.id == settings.staff_chat_id)
    router.message.register(close, IsStaff(), Command("close"), F.message_thread_id)
    router.message.register(note, IsStaff(), F.text.startswith(NOTE_PREFIXES))
    # A command (one this router does not know, or a typo of one) is never sent to the user.
    router.message.register(to_user, IsStaff(), F.message_thread_id, ~F.text.startswith("/"))
    router.message.register(refuse, ~IsStaff(), ~F.from_user.is_bot)
    router.edited_message.filter(F.chat.id == settings.staff_chat_id)
    router.edited_message.register(mirror_edit, IsStaff(), F.text)
    return router


async def mirror_edit(message: Message, session: AsyncSession, delivery: Delivery) -> None:
    if delivery.desk is not None:
        await delivery.desk.mirror_edit(
            session, message.chat.id, message.message_id, message.html_text
        )


async def close(message: Message, session: AsyncSession, delivery: Delivery, i18n: I18n) -> None:
    desk = delivery.desk
    if desk is None or message.message_thread_id is None:
        return
    ticket = await desk.ticket_of_topic(session, message.chat.id, message.message_thread_id)
    if ticket is None:
        return
    with i18n.use_locale(ticket.language):  # the user's language, not the staff chat's
        notice = intake_views.closed(ticket)
    if await desk.close(session, ticket, notice):
        await message.reply(staff_views.closed(ticket))


async def note(message: Message) -> None:
    """Internal: stays in the topic, never sent to the user."""


async def to_user(message: Message, session: AsyncSession, delivery: Delivery) -> None:
    desk = delivery.desk
    if desk is None or message.message_thread_id is None:
        return
    ticket = await desk.ticket_of_topic(session, message.chat.id, message.message_thread_id)
    if ticket is None:
        return  # the general topic, or a topic that is not a ticket's
    await desk.relay_to_user(session, ticket, message.chat.id, message.message_id)


async def refuse(message: Message) -> None:
    await message.reply(staff_views.staff_only())
