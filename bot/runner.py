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
from aiohttp import web

from bot.app import (
    SHUTDOWN_GRACE_SECONDS,
    Resources,
    create_bot,
    create_dispatcher,
    create_resources,
)
from bot.config import Mode, Settings
from bot.health import start_health_server
from bot.webhook import create_webhook_app, register_webhook, workflow_data

log = logging.getLogger("ipdesk")

POLLING_TIMEOUT = 25


async def run(settings: Settings) -> None:
    resources = create_resources(settings)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, resources)
    health = None
    # Long-lived objects created at start-up never need a full GC pass again.
    gc.collect()
    gc.freeze()
    try:
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
    assert settings.webhook_secret is not None
    me = await bot.get_me()
    app = create_webhook_app(
        dp,
        bot,
        path=settings.webhook_path,
        secret=settings.webhook_secret.get_secret_value(),
        metrics=resources.metrics,
    )
    data = workflow_data(dp, bot)

    async def shutdown(_app: web.Application) -> None:
        await dp.emit_shutdown(**data)  # waits for updates in flight, stops the outbox

    app.on_shutdown.append(shutdown)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await dp.emit_startup(**data)  # the outbox and jobs run before the first update comes
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        await register_webhook(bot, dp, settings, resources.locks)
        log.info(
            "bot started",
            extra={"username": me.username, "mode": "webhook", "port": settings.webhook_port},
        )
        await stop.wait()
        log.info("stopping: no new updates; waiting for those in flight")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)
        await runner.cleanup()
