"""Running the bot: long polling (the embedded default) or webhook replicas (production).

Both serve `/healthz`, `/readyz` and `/metrics` on `HEALTH_PORT` when it is set. Signals stop
intake; updates in flight are awaited (at most the shutdown grace), then everything closes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from contextlib import suppress

from aiogram import Bot, Dispatcher

from bot.app import Resources, create_bot, create_dispatcher, create_resources
from bot.config import Mode, Settings
from bot.health import start_health_server
from bot.webhook import WebhookServer

log = logging.getLogger("ipdesk")

POLLING_TIMEOUT = 25
# The cyclic collector's thresholds. Forty updates in flight keep thousands of young objects
# alive at once, so the default first threshold (700 more allocations than frees) ran a
# collection every few updates: ~1 s of a 4 900-update run (about 7 % of its CPU), with
# 30 ms full passes; at 20 000, five collections and 28 ms (measured here). Most objects die
# by reference counting; the collector is only for cycles, which this still bounds.
GC_THRESHOLDS = (20_000, 10, 10)


async def run(settings: Settings) -> None:
    resources = create_resources(settings)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, resources)
    health = None
    # Long-lived objects created at start-up never need a full GC pass again.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        if resources.redis is not None:
            # Nothing else needs Redis before the first update: unreachable, say so at start
            # (one line, `bot.failures`), as for the database.
            await resources.redis.ping()
        if settings.health_port is not None:
            health = await start_health_server(
                resources, settings.webhook_host, settings.health_port
            )
        if settings.mode is Mode.WEBHOOK:
            await _serve_webhook(settings, resources, bot, dp)
        else:
            await _poll(bot, dp)
    finally:
        if health is not None:
            await health.cleanup()
        await resources.close()
        await bot.session.close()
        log.info("bot stopped")


async def _poll(bot: Bot, dp: Dispatcher) -> None:
    me = await bot.get_me()
    # A webhook left from webhook mode would make getUpdates fail; its pending updates stay.
    await bot.delete_webhook(drop_pending_updates=False)
    log.info("bot started", extra={"username": me.username, "mode": "polling"})
    await dp.start_polling(
        bot,
        polling_timeout=POLLING_TIMEOUT,
        allowed_updates=dp.resolve_used_update_types(),
        handle_signals=True,
        close_bot_session=True,
    )


async def _serve_webhook(
    settings: Settings, resources: Resources, bot: Bot, dp: Dispatcher
) -> None:
    me = await bot.get_me()
    server = WebhookServer(settings, bot, dp, locks=resources.locks, metrics=resources.metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        port = await server.start(settings.webhook_host, settings.webhook_port)
        log.info("bot started", extra={"username": me.username, "mode": "webhook", "port": port})
        await stop.wait()
        log.info("stopping: no new updates; waiting for those in flight")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)
        await server.stop()
