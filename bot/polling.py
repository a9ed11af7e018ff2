"""Long polling that confirms an update only once it has been handled.

Telegram keeps an update until a later getUpdates asks for an `offset` past it. aiogram's
polling starts each update as a task and asks for the next ones at once, past the ones just
started: a process killed while it handles them (SIGKILL, out of memory, the machine gone)
loses them, where a webhook replica's would come again (it answers only once they are
handled). Here the offset never passes an update still in flight: after a crash Telegram
delivers it again, and the processed-updates mark (`bot.middlewares.once`) keeps an effect
already committed from happening twice.

The price: while updates are in flight, getUpdates returns them again at once instead of
waiting for new ones. Those are skipped (already started), and the next call waits until the
oldest of them ends or `PAUSE` passes, so a new update waits at most that long. Should a full
page of updates come back with nothing new in it (a hundred newer updates behind one that is
still running), the offset moves past them all: the bot must not stop reading for one slow
update.

On stop, the updates in flight get the shutdown grace to end; then one last call confirms
what was handled, so the next start does not answer it again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

log = logging.getLogger("ipdesk.polling")

PAUSE = 0.2  # seconds; the longest a new update waits while others are in flight
PAGE = 100  # updates a getUpdates call returns at most (Telegram's most)


class ConfirmingDispatcher(Dispatcher):
    """aiogram's dispatcher whose long polling confirms only handled updates (docstring).
    `stop_grace`: seconds the updates in flight get to end when polling stops."""

    def __init__(self, *, stop_grace: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stop_grace = stop_grace

    async def _polling(  # type: ignore[override]
        self,
        bot: Bot,
        polling_timeout: int = 30,
        handle_as_tasks: bool = True,  # aiogram's; here updates always run side by side
        backoff_config: BackoffConfig = DEFAULT_BACKOFF_CONFIG,
        allowed_updates: list[str] | None = None,
        tasks_concurrency_limit: int | None = None,  # aiogram's; not used here
        **kwargs: Any,
    ) -> None:
        poller = _Poller(self, bot, polling_timeout, backoff_config, allowed_updates, kwargs)
        try:
            await poller.run()
        finally:
            await poller.stop(self.stop_grace)


class _Poller:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        timeout: int,
        backoff_config: BackoffConfig,
        allowed_updates: list[str] | None,
        data: dict[str, Any],
    ) -> None:
        self._dp, self._bot, self._timeout = dp, bot, timeout
        self._backoff = Backoff(config=backoff_config)
        self._allowed = allowed_updates
        self._data = data
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._highest: int | None = None  # the newest update started
        self._floor: int | None = None  # confirmed regardless of what is in flight

    def _holding(self) -> bool:
        """Whether an update in flight is not confirmed yet (the offset waits for it)."""
        return any(self._floor is None or uid >= self._floor for uid in self._in_flight)

    def _offset(self) -> int | None:
        if self._highest is None:
            return None
        offset = min(self._in_flight, default=self._highest + 1)
        return max(offset, self._floor) if self._floor is not None else offset

    async def _get(self, wait: int) -> list[Update]:
        method = GetUpdates(
            offset=self._offset(), limit=PAGE, timeout=wait, allowed_updates=self._allowed
        )
        # A long poll lasts `wait` on the server: the request may take that much longer.
        request_timeout = int(self._bot.session.timeout + wait) if wait else None
        return await self._bot(method, request_timeout=request_timeout)

    async def run(self) -> None:
        while True:
            try:
                # Held updates come back at once: no long poll while there are any.
                updates = await self._get(0 if self._holding() else self._timeout)
            except Exception as error:
                log.warning(
                    "getUpdates failed; trying again in %.1f s",
                    self._backoff.next_delay,
                    extra={"error": repr(error)},
                )
                await self._backoff.asleep()
                continue
            self._backoff.reset()
            fresh = [u for u in updates if self._highest is None or u.update_id > self._highest]
            for update in fresh:
                self._start(update)
            if fresh or not self._holding():
                continue
            if len(updates) >= PAGE:  # a page of updates started already: read past them
                log.warning(
                    "updates in flight confirmed early: a full page behind them",
                    extra={"in_flight": len(self._in_flight)},
                )
                self._floor = (self._highest or 0) + 1
                continue
            # Asking again pays for the held updates it returns once more: not before the
            # oldest ends (the offset moves on) or new ones may be waiting.
            await asyncio.wait([self._in_flight[min(self._in_flight)]], timeout=PAUSE)

    def _start(self, update: Update) -> None:
        self._highest = update.update_id
        task = asyncio.create_task(self._handle(update))
        self._in_flight[update.update_id] = task
        task.add_done_callback(lambda _: self._in_flight.pop(update.update_id, None))

    async def _handle(self, update: Update) -> None:
        try:
            result = await self._dp.feed_update(self._bot, update, **self._data)
            if isinstance(result, TelegramMethod):  # a handler's answer, as in a webhook reply
                await self._dp.silent_call_request(self._bot, result)
        except Exception:  # the errors router keeps handler errors; this is what escaped it
            log.exception("update failed", extra={"update_id": update.update_id})

    async def stop(self, grace: float) -> None:
        """The updates in flight get `grace` to end; then what was handled is confirmed."""
        if self._in_flight:
            _done, running = await asyncio.wait(self._in_flight.values(), timeout=grace)
            if running:
                log.warning(
                    "polling stopped with updates still in flight; Telegram keeps them",
                    extra={"in_flight": len(running)},
                )
        if self._highest is None:
            return
        try:
            await self._get(0)
        except Exception as error:
            log.warning("could not confirm the last updates", extra={"error": repr(error)})
