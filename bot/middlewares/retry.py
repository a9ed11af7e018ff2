"""Polling mode: an update that meets a database or Redis outage is handled again here.

In webhook mode the answer 503 makes Telegram deliver the update again. Long polling has no
such answer: an update is confirmed once its handling ends, whatever became of it
(`bot.polling`; only a process that dies first gets it again), so a handler that met an
outage would lose it. This outer middleware, placed before the database session opens,
runs the update again after a pause (0.2 s, doubling up to 30 s) until the outage ends, giving
up after ten minutes (then it is logged as lost). One person's later updates wait behind it
(event isolation), so their order is kept. The processed-updates mark keeps a second run from
repeating an effect the first one committed.

That one runs inside the person's Redis lock, so a second one goes outside every other
middleware (`bot.app.register_outermost`) for the outages it cannot see: Redis away when the
lock is taken or released. An update the inner one gave up on is not run again by the outer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.outage import is_outage

log = logging.getLogger("ipdesk.updates")

FIRST_DELAY = 0.2
MAX_DELAY = 30.0
GIVE_UP_AFTER = 600.0
_GIVEN_UP = "_ipdesk_retries_given_up"  # set on the error of an update given up on


class RetryOnOutage(BaseMiddleware):
    def __init__(
        self,
        give_up_after: float = GIVE_UP_AFTER,
        *,
        on_retry: Callable[[], None] | None = None,
    ) -> None:
        self._give_up_after = give_up_after
        self._on_retry = on_retry  # told of every run repeated because of an outage (metrics)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        delay, waited = FIRST_DELAY, 0.0
        while True:
            try:
                return await handler(event, data)
            except Exception as error:
                if not is_outage(error):
                    raise
                update_id = event.update_id if isinstance(event, Update) else None
                if getattr(error, _GIVEN_UP, False):
                    raise  # an inner retry's verdict
                if waited >= self._give_up_after:
                    log.error(
                        "update lost: the outage outlasted its retries",
                        extra={"update_id": update_id, "error": repr(error)},
                    )
                    setattr(error, _GIVEN_UP, True)
                    raise
                log.warning(
                    "database or Redis unavailable; the update runs again in %.1f s",
                    delay,
                    extra={"update_id": update_id, "error": repr(error)},
                )
            if self._on_retry is not None:
                self._on_retry()
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, MAX_DELAY)
