"""A person with an active ticket: what they send is carried to staff in the ticket's topic."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Delivery
from bot.services.desk import Content, TicketDesk
from bot.services.lifecycle import Lifecycle
from db.models import Ticket, User
from handlers import intake_views as views
from handlers.callbacks import TicketCb
from handlers.screens import refuse_stale


class HasActiveTicket(Filter):
    """Passes the person's open ticket to the handler as `ticket`."""

    async def __call__(
        self, message: Message, session: AsyncSession, user: User | None = None
    ) -> bool | dict[str, Any]:
        if user is None or user.active_ticket_id is None:
            return False
        ticket = await TicketDesk.active_ticket(session, user)
        return {"ticket": ticket} if ticket is not None else False


def create_router() -> Router:
    router = Router(name="relay")
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.callback_query.register(leave, TicketCb.filter(F.action == "leave"))
    router.message.filter(F.chat.type == ChatType.PRIVATE, HasActiveTicket())
    router.message.register(to_staff, ~F.text.startswith("/"))
    router.edited_message.filter(F.chat.type == ChatType.PRIVATE)
    router.edited_message.register(mirror_edit)
    return router


def content_of(message: Message) -> Content:
    """What a message is, and its text or caption (a sticker: its emoji), for the desk."""
    kind = getattr(message.content_type, "value", str(message.content_type))
    preview = message.text or message.caption
    if preview is None and message.sticker is not None:
        preview = message.sticker.emoji
    return Content(kind=kind, preview=preview, album=message.media_group_id)


async def mirror_edit(message: Message, session: AsyncSession, delivery: Delivery) -> None:
    """A text or a caption was edited (a caption removed: an empty one)."""
    if delivery.desk is not None:
        html = message.html_text if (message.text or message.caption) else ""
        await delivery.desk.mirror_edit(
            session, message.chat.id, message.message_id, html, content_of(message).preview
        )


async def leave(
    query: CallbackQuery, callback_data: TicketCb, user: User, session: AsyncSession
) -> None:
    ticket = await session.get(Ticket, callback_data.id)
    if ticket is None or ticket.user_id != user.id:
        return await refuse_stale(query)
    await TicketDesk.leave(session, user)
    await query.answer()
    if query.message is not None:
        await query.bot.send_message(query.message.chat.id, views.left(ticket))  # type: ignore[union-attr]
    return None


async def to_staff(
    message: Message,
    ticket: Ticket,
    user: User,
    session: AsyncSession,
    delivery: Delivery,
    lifecycle: Lifecycle,
) -> None:
    if delivery.desk is None:
        return
    content = content_of(message)
    source = (message.chat.id, message.message_id)
    # A resolved ticket reopens, or (after the window) a new ticket follows it.
    target = await lifecycle.on_user_message(session, user, ticket, source)
    if await delivery.desk.relay_to_staff(session, target, *source, content):
        await gather_album(delivery, message.chat.id, content)
    if target.staff_chat_id is None:
        await delivery.handoff()  # a follow-up gets its place now; the sweep retries


async def gather_album(delivery: Delivery, chat_id: int, content: Content) -> None:
    """An album's part was stored: the album is copied as one once it has gone quiet."""
    desk = delivery.desk
    if content.album is not None and desk is not None:
        album = content.album
        await delivery.albums.seen(
            ("relay", chat_id, album), lambda: desk.flush_album(chat_id, album)
        )
