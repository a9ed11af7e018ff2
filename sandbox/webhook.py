"""Webhook delivery: POST each update in order, retry with backoff, run method replies."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.spec import Upload
from sandbox.state import BotAccount, now

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
DEFAULT_WEBHOOK_TIMEOUT = 10.0


@dataclass(frozen=True)
class MethodReply:
    """A method call a webhook answered with instead of an empty 200."""

    method: str
    params: dict[str, Any]
    uploads: dict[str, Upload]
    form: bool  # the values are form text (multipart), not JSON values


ReplyRunner = Callable[[BotAccount, MethodReply], Awaitable[None]]
UpdateChecker = Callable[[dict[str, Any]], None]


class WebhookSender:
    """Delivers one bot's updates to its webhook, one at a time, never out of order."""

    def __init__(
        self,
        bot: BotAccount,
        session: aiohttp.ClientSession,
        *,
        run_reply: ReplyRunner,
        check_update: UpdateChecker,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = DEFAULT_WEBHOOK_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.session = session
        self.run_reply = run_reply
        self.check_update = check_update
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def run(self) -> None:
        queue = self.bot.updates
        failures = 0
        while True:
            await queue.changed.wait_until(
                lambda: bool(queue.pending) or not self.bot.webhook, None
            )
            hook = self.bot.webhook
            if hook is None:
                return
            update = queue.pending[0]
            self.check_update(update)
            error = await self._post(hook.url, hook.secret_token, update)
            if error is None:
                failures = 0
                if queue.pending and queue.pending[0] is update:
                    queue.drop_first()
                continue
            hook.last_error_date, hook.last_error_message = now(), error
            queue.changed.notify()  # for whoever watches the webhook's state
            delay = self.retry_delays[min(failures, len(self.retry_delays) - 1)]
            failures += 1
            log.info("webhook delivery failed (%s); retrying in %.2fs", error, delay)
            await asyncio.sleep(delay)

    async def _post(self, url: str, secret: str | None, update: dict[str, Any]) -> str | None:
        """POST one update; None on success, else Telegram's last_error_message."""
        headers = {SECRET_HEADER: secret} if secret else {}
        try:
            async with self.session.post(
                url,
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json", **headers},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await _read_reply(response)
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectionError:
            return "Connection refused"
        if reply is not None:
            await self.run_reply(self.bot, reply)
        return None


async def _read_reply(response: aiohttp.ClientResponse) -> MethodReply | None:
    """A method call in the webhook's answer body (JSON, urlencoded or multipart), if any."""
    content_type = response.content_type
    if content_type == "application/json":
        body = await response.read()
        data = json.loads(body) if body.strip() else {}
        if isinstance(data, dict) and "method" in data:
            method = str(data.pop("method"))
            return MethodReply(method, data, {}, form=False)
        return None
    if content_type.startswith("multipart/"):
        return await _read_multipart_reply(response)
    return None


async def _read_multipart_reply(response: aiohttp.ClientResponse) -> MethodReply | None:
    reader = aiohttp.MultipartReader(response.headers, response.content)
    params: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            uploads[part.name] = Upload(
                part.name, await part.read(), part.filename, part.headers.get("Content-Type")
            )
        else:
            params[part.name] = await part.text()
    method = params.pop("method", None)
    return MethodReply(method, params, uploads, form=True) if method else None
