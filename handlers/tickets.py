"""/mytickets: a person's tickets; opening one makes it the one their messages go to, shows
what happened on it, and lets them add information or close it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.desk import TicketDesk
from bot.services.lifecycle import Lifecycle, Status
from db.models import Ticket, User
from handlers import ticket_views as views
from handlers.callbacks import TicketCb
from handlers.filters import CommandsOnly
from handlers.screens import refuse_stale, show


def create_router() -> Router:
    router = Router(name="tickets")
    router.message.filter(F.chat.type == ChatType.PRIVATE, CommandsOnly())
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(my_tickets, Command("mytickets"))
    router.callback_query.register(back_to_list, TicketCb.filter(F.action == "list"))
    router.callback_query.register(open_ticket, TicketCb.filter(F.action == "open"))
    router.callback_query.register(add_information, TicketCb.filter(F.action == "add"))
    router.callback_query.register(close, TicketCb.filter(F.action == "close"))
    return router


async def my_tickets(
    message: Message, user: User, session: AsyncSession, settings: Settings
) -> None:
    tickets = await TicketDesk.tickets_of(session, user)
    text, markup = views.listing(tickets, user.active_ticket_id, settings.tz)
    await message.answer(text, reply_markup=markup)


async def back_to_list(
    query: CallbackQuery, user: User, session: AsyncSession, settings: Settings
) -> None:
    tickets = await TicketDesk.tickets_of(session, user)
    await show(query, *views.listing(tickets, user.active_ticket_id, settings.tz))


async def open_ticket(
    query: CallbackQuery,
    callback_data: TicketCb,
    user: User,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Shows the ticket; one that is not closed becomes the active one."""
    ticket = await _own(session, user, callback_data.id)
    if ticket is None:
        return await refuse_stale(query)
    if ticket.status != Status.CLOSED:
        await TicketDesk.enter(session, user, ticket)
    history = await Lifecycle.history(session, ticket)
    return await show(query, *views.page(ticket, history, settings.tz))


async def add_information(
    query: CallbackQuery, callback_data: TicketCb, user: User, session: AsyncSession
) -> None:
    ticket = await _own(session, user, callback_data.id)
    if ticket is None or not await TicketDesk.enter(session, user, ticket):
        return await refuse_stale(query)
    return await show(query, views.add_information(ticket), None)


async def close(
    query: CallbackQuery,
    callback_data: TicketCb,
    user: User,
    session: AsyncSession,
    lifecycle: Lifecycle,
) -> None:
    ticket = await _own(session, user, callback_data.id)
    if ticket is None:
        return await refuse_stale(query)
    result = await lifecycle.close(session, ticket, user.id, by_user=True)
    if not result.done:
        return await refuse_stale(query)
    # Asked to rate when staff answered and nobody asked yet (it was not resolved first).
    ask = ticket.first_response_at is not None and ticket.resolved_at is None
    return await show(query, *views.closed_by_you(ticket, rate=ask and ticket.csat_score is None))


async def _own(session: AsyncSession, user: User, ticket_id: int) -> Ticket | None:
    ticket = await session.get(Ticket, ticket_id)
    return ticket if ticket is not None and ticket.user_id == user.id else None
