"""Long polling, the embedded default. Signals stop intake; updates in flight are awaited."""

from __future__ import annotations

import gc
import logging

from bot.app import create_bot, create_dispatcher, create_resources
from bot.config import Settings

log = logging.getLogger("ipdesk")

POLLING_TIMEOUT = 25


async def run_polling(settings: Settings) -> None:
    resources = create_resources(settings)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, resources)
    # Long-lived objects created at start-up never need a full GC pass again.
    gc.collect()
    gc.freeze()
    try:
        me = await bot.get_me()
        log.info("bot started", extra={"username": me.username, "mode": "polling"})
        await dp.start_polling(
            bot,
            polling_timeout=POLLING_TIMEOUT,
            allowed_updates=dp.resolve_used_update_types(),
            handle_signals=True,
            close_bot_session=True,
        )
    finally:
        await resources.close()
        await bot.session.close()
        log.info("bot stopped")
