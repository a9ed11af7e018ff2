"""Webhook mode: Telegram POSTs each update; the answer comes after its effects are committed.

aiogram's request handler with `handle_in_background=False`, so a 200 means "stored" (with the
default, aiogram answers first and a crash loses the update). Its webhook feed also hands a
slow update to the background after 55 s and answers anyway; this handler awaits the update
itself instead: a redelivery after a timeout is skipped by the processed-updates mark.

- A missing or wrong secret: 401, logged, nothing processed.
- A handler that raised: a dead letter (the errors router), 200 (conventions).
- The database or Redis unreachable: 503, so Telegram delivers the update again later.

Several replicas sit behind one URL; each calls `setWebhook` with the same parameters at
start (idempotent; `drop_pending_updates` off), one at a time under a shared lock.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.config import Settings
from bot.locks import Locks
from bot.metrics import Metrics
from bot.outage import is_outage

log = logging.getLogger("ipdesk.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SHUTDOWN_GRACE_SECONDS = 20.0  # as long as the dispatcher waits for updates in flight
SET_WEBHOOK_ATTEMPTS = 4
MAX_RETRY_AFTER = 10.0  # seconds; longer floods at start-up fail the start (the container restarts)


class WebhookHandler(SimpleRequestHandler):
    """One bot's webhook endpoint: check the secret, handle the update, then answer."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str, metrics: Metrics
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)
        self._metrics = metrics

    async def handle(self, request: web.Request) -> web.Response:
        response = await self._answer(request)
        self._metrics.webhook[response.status] += 1
        return response

    async def _answer(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            log.warning(
                "webhook: refused a request with a wrong or missing secret",
                extra={"peer": request.remote},
            )
            return web.Response(status=401, text="Unauthorized")
        try:
            raw = await request.json(loads=self.bot.session.json_loads)
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValueError:  # not JSON, or not an update (pydantic's error is a ValueError)
            log.warning("webhook: refused a body that is not an update")
            return web.Response(status=400, text="Bad Request")
        try:
            result = await self.dispatcher.feed_update(self.bot, update, **self.data)
        except Exception as error:
            if is_outage(error):
                log.warning(
                    "webhook: database or Redis unavailable; Telegram will deliver it again",
                    extra={"update_id": update.update_id, "error": repr(error)},
                )
                return web.Response(status=503, text="Service Unavailable")
            # The errors router could not keep it either: answering 5xx would have Telegram
            # redeliver a poison update forever, so it is logged in full and acknowledged.
            log.exception(
                "webhook: update failed and could not be kept as a dead letter",
                extra={"update_id": update.update_id},
            )
            result = None
        if not isinstance(result, TelegramMethod):
            return web.Response()  # 200, empty: aiogram's empty multipart costs more to build
        return web.Response(body=self._build_response_writer(bot=self.bot, result=result))


def webhook_url(settings: Settings) -> str:
    """What Telegram is told: the public base URL and the path the bot listens on."""
    assert settings.webhook_url is not None
    return settings.webhook_url + settings.webhook_path


async def register_webhook(bot: Bot, dp: Dispatcher, settings: Settings, locks: Locks) -> None:
    """`setWebhook` with this deployment's parameters. Every replica calls it at start with the
    same values, so it is idempotent; the lock keeps replicas from calling it at once."""
    assert settings.webhook_secret is not None
    async with locks.hold("webhook:set"):
        for attempt in range(1, SET_WEBHOOK_ATTEMPTS + 1):
            try:
                await bot.set_webhook(
                    url=webhook_url(settings),
                    secret_token=settings.webhook_secret.get_secret_value(),
                    allowed_updates=dp.resolve_used_update_types(),
                    drop_pending_updates=False,
                )
                break
            except TelegramRetryAfter as flood:
                if attempt == SET_WEBHOOK_ATTEMPTS or flood.retry_after > MAX_RETRY_AFTER:
                    raise
                await asyncio.sleep(flood.retry_after)
    log.info("webhook registered", extra={"path": settings.webhook_path})


class WebhookServer:
    """The endpoint, with the bot's start-up before it listens and its shutdown after."""

    def __init__(
        self, settings: Settings, bot: Bot, dp: Dispatcher, *, locks: Locks, metrics: Metrics
    ) -> None:
        assert settings.webhook_secret is not None
        self._settings = settings
        self._bot = bot
        self._dp = dp
        self._locks = locks
        # What start-up and shutdown hooks receive, as aiogram's polling passes it.
        self._data: dict[str, Any] = {
            "dispatcher": dp,
            "bots": [bot],
            "bot": bot,
            **dp.workflow_data,
        }
        app = web.Application()
        handler = WebhookHandler(
            dp, bot, secret_token=settings.webhook_secret.get_secret_value(), metrics=metrics
        )
        app.router.add_post(settings.webhook_path, handler.handle)
        app.on_shutdown.append(self._shutdown)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
        )
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        """Start the bot (outbox, jobs), listen on host:port (0: any free port), then tell
        Telegram; returns the port."""
        await self._runner.setup()
        await self._dp.emit_startup(**self._data)  # before the first update comes in
        await web.TCPSite(self._runner, host, port).start()
        self.port = int(self._runner.addresses[0][1])
        await register_webhook(self._bot, self._dp, self._settings, self._locks)
        return self.port

    async def stop(self) -> None:
        """Stop listening, let updates in flight finish (at most the grace), shut the bot down."""
        await self._runner.cleanup()

    async def _shutdown(self, _app: web.Application) -> None:
        await self._dp.emit_shutdown(**self._data)  # waits for updates in flight
