"""What runs beside the handlers: the outbox worker, the desk's hand-off sweep, the album
collector (one acknowledgement per album) and jobs routers add at start-up (draft reminders).

Built by `create_dispatcher`, started with the bot on start-up, stopped on shutdown after the
updates in flight have finished (so their sends are queued, then delivered or left for later).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.locks import LocalLocks, Locks
from bot.messenger import TelegramMessenger
from bot.services.albums import AlbumCollector
from bot.services.desk import Renderers, TicketDesk, run_every
from bot.services.outbox import OutboxWorker

log = logging.getLogger("ipdesk.delivery")

HANDOFF_SWEEP_SECONDS = 30.0


class Delivery:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        staff_chat_id: int | None,
        render: Renderers,
        locks: Locks | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._staff_chat_id = staff_chat_id
        self._render = render
        self._locks = locks or LocalLocks()  # shared by the replicas when Redis is configured
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.worker: OutboxWorker | None = None
        self.desk: TicketDesk | None = None
        self.albums = AlbumCollector(locks=self._locks)

    async def start(self, bot: Bot) -> None:
        messenger = TelegramMessenger(bot)
        self.desk = TicketDesk(
            self._sessionmaker,
            messenger,
            staff_chat_id=self._staff_chat_id,
            render=self._render,
            wake_outbox=self.wake,
            locks=self._locks,
        )
        self.worker = OutboxWorker(self._sessionmaker, messenger, hooks=self.desk)
        self._stop.clear()
        self._tasks += [
            asyncio.create_task(self.worker.run(), name="outbox"),
            asyncio.create_task(
                run_every(HANDOFF_SWEEP_SECONDS, self.desk.handoff_pending, self._stop),
                name="handoff",
            ),
        ]

    def run_every(self, name: str, interval: float, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` now and every `interval` seconds until `stop()` (after `start()`)."""
        self._tasks.append(asyncio.create_task(run_every(interval, job, self._stop), name=name))

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def handoff(self) -> None:
        """A ticket was filed: give it its topic now rather than at the next sweep."""
        if self.desk is not None:
            await self.desk.handoff_pending()

    async def stop(self) -> None:
        self._stop.set()
        await self.albums.close()  # albums still going quiet are acknowledged now
        if self.worker is not None:
            await self.worker.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
