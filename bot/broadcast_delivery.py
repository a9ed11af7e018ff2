"""The aiogram side of broadcasts: the `Announcer` port over a Bot, and the worker's lifetime.

Built by `create_dispatcher` (as `broadcasts` in the workflow data), started with the bot and
stopped on shutdown; handlers call `wake()` after confirming or resuming a job.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messenger import TelegramMessenger, outcome_of
from bot.services.broadcast import BroadcastWorker, Content, Renderers

log = logging.getLogger("ipdesk.broadcast")

# A send that hangs longer is abandoned (and retried): the lease must outlast it.
SEND_TIMEOUT = 20
LEASE_SECONDS = 60.0


class TelegramAnnouncer(TelegramMessenger):
    """`Announcer`: a text, photo or document with the recipient's keyboard."""

    async def announce(
        self, chat_id: int, content: Content, reply_markup: dict[str, Any] | None
    ) -> int:
        bot = self._bot
        markup = InlineKeyboardMarkup.model_validate(reply_markup) if reply_markup else None
        try:
            if content.kind == "photo":
                message = await bot.send_photo(
                    chat_id,
                    photo=content.file_id or "",
                    caption=content.text or None,
                    reply_markup=markup,
                    request_timeout=SEND_TIMEOUT,
                )
            elif content.kind == "document":
                message = await bot.send_document(
                    chat_id,
                    document=content.file_id or "",
                    caption=content.text or None,
                    reply_markup=markup,
                    request_timeout=SEND_TIMEOUT,
                )
            else:
                message = await bot.send_message(
                    chat_id, content.text, reply_markup=markup, request_timeout=SEND_TIMEOUT
                )
        except (TelegramAPIError, ClientDecodeError) as error:
            raise outcome_of(error) from error
        return message.message_id


class BroadcastRunner:
    """Owns the process's broadcast worker."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        render: Renderers,
        *,
        rate: float,
        **worker_options: Any,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._render = render
        self.rate = rate
        self._options = worker_options
        self.worker: BroadcastWorker | None = None

    def start(self, bot: Bot) -> None:
        options = {"lease_seconds": LEASE_SECONDS, **self._options}
        self.worker = BroadcastWorker(
            self._sessionmaker, TelegramAnnouncer(bot), self._render, rate=self.rate, **options
        )
        self.worker.start()

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
