"""The user's rating of a resolved ticket (1-5), then an optional comment in one message."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.lifecycle import Lifecycle
from db.models import Ticket, User
from handlers import ticket_views as views
from handlers.callbacks import RateCb
from handlers.screens import refuse_stale, show


class Rating(StatesGroup):
    """Only where the person is: the ticket awaiting a comment is found in the database."""

    comment = State()


def create_router() -> Router:
    router = Router(name="rating")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.callback_query.register(rate, RateCb.filter(F.score > 0))
    router.callback_query.register(skip_comment, RateCb.filter(F.score == 0))
    router.message.register(comment, StateFilter(Rating.comment), F.text, ~F.text.startswith("/"))
    return router


async def rate(
    query: CallbackQuery,
    callback_data: RateCb,
    user: User,
    session: AsyncSession,
    lifecycle: Lifecycle,
    state: FSMContext,
) -> None:
    ticket = await session.get(Ticket, callback_data.id)
    if ticket is None or not await lifecycle.rate(session, ticket, user, callback_data.score):
        return await refuse_stale(query)
    await state.set_state(Rating.comment)
    return await show(query, *views.rated(callback_data.score))


async def skip_comment(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(query, views.rating_done(), None)


async def comment(
    message: Message, user: User, session: AsyncSession, lifecycle: Lifecycle, state: FSMContext
) -> None:
    await state.clear()
    if await lifecycle.comment(session, user, message.text or "") is None:
        raise SkipHandler  # no rating waits for a comment: the message is an ordinary one
    await message.answer(views.comment_saved())
