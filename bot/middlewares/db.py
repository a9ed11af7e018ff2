"""One database session per update. It never commits: services do, before telling the user.

`ShortTransactions` (a Bot API request middleware, installed by `create_bot`) keeps the
update's transaction from staying open while the bot talks to Telegram: on SQLite an open
transaction holds the one writer lock (db/engine.py), so a handler that read something and then
answered would make every other update wait for Telegram. A read-only transaction is ended
before the call (a commit that writes nothing; loaded objects stay usable); one that wrote and
did not commit is left alone and logged, as the bug it is (services commit before telling).
Marks queued with `db.engine.add_with_commit` are not written by that empty commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import end_read_transaction

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

__all__ = ["DbSessionMiddleware", "ShortTransactions", "end_read_transaction"]

# The session of the update being handled, and the task handling it.
_current: ContextVar[tuple[AsyncSession, asyncio.Task[Any] | None] | None] = ContextVar(
    "ipdesk_update_session", default=None
)


class DbSessionMiddleware(BaseMiddleware):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        # Leaving the block closes the session, which rolls back anything not committed.
        async with self._sessionmaker() as session:
            data["session"] = session
            token = _current.set((session, asyncio.current_task()))
            try:
                return await handler(event, data)
            finally:
                _current.reset(token)


class ShortTransactions(BaseRequestMiddleware):
    """Before each Bot API call made while handling an update, end its read-only transaction."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        current = _current.get()
        # Only the task that handles the update: a task it started must not touch its session.
        if current is not None and current[1] is asyncio.current_task():
            await end_read_transaction(current[0], type(method).__name__)
        return await make_request(bot, method)
