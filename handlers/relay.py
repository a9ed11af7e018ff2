"""A person with an active ticket: what they send is carried to staff in the ticket's topic."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Delivery
from bot.services.desk import TicketDesk
from db.models import Ticket, User


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
    router.message.filter(F.chat.type == ChatType.PRIVATE, HasActiveTicket())
    router.message.register(to_staff, ~F.text.startswith("/"))
    return router


async def to_staff(
    message: Message, ticket: Ticket, session: AsyncSession, delivery: Delivery
) -> None:
    if delivery.desk is None:
        return
    await delivery.desk.relay_to_staff(session, ticket, message.chat.id, message.message_id)
