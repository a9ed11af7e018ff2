"""/mytickets: a person's tickets, and which one their messages go to."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.desk import TicketDesk
from db.models import Ticket, User
from handlers.callbacks import TicketCb
from handlers.screens import refuse_stale, show


def create_router() -> Router:
    router = Router(name="tickets")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(my_tickets, Command("mytickets"))
    router.callback_query.register(enter, TicketCb.filter(F.action == "open"))
    return router


def status_label(ticket: Ticket) -> str:
    if ticket.closed_at is not None:
        return _("closed")
    return _("open")


def listing(tickets: list[Ticket], active: int | None) -> tuple[str, InlineKeyboardMarkup]:
    if not tickets:
        return _("You have no tickets yet. To file a complaint, send /complaint."), (
            InlineKeyboardMarkup(inline_keyboard=[])
        )
    lines = [_("<b>Your tickets</b>")]
    kb = InlineKeyboardBuilder()
    for ticket in tickets:
        mark = " ◀️" if ticket.id == active else ""
        lines.append(
            f"{ticket.number} · {status_label(ticket)} · {ticket.updated_at:%Y-%m-%d}{mark}"
        )
        if ticket.closed_at is None and ticket.id != active:
            kb.button(
                text=_("Write about {number}").format(number=ticket.number),
                callback_data=TicketCb(action="open", id=ticket.id),
            )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


async def my_tickets(message: Message, user: User, session: AsyncSession) -> None:
    text, markup = listing(await TicketDesk.tickets_of(session, user), user.active_ticket_id)
    await message.answer(text, reply_markup=markup)


async def enter(
    query: CallbackQuery, callback_data: TicketCb, user: User, session: AsyncSession
) -> None:
    ticket = await session.get(Ticket, callback_data.id)
    if ticket is None or not await TicketDesk.enter(session, user, ticket):
        return await refuse_stale(query)
    text = _("Your messages now go to {number}. Write to our staff here.").format(
        number=ticket.number
    )
    return await show(query, text, None)
