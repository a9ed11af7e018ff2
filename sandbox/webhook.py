"""Webhook delivery: POST each update in order, retry with backoff, run method replies.

Sequential by default (one update at a time, never out of order). With `parallel`, up to the
webhook's `max_connections` updates are in flight at once, as Telegram does, each chat's still
one at a time. A `Route` stands for a load balancer in front of several bot replicas: the
webhook's public URL is spread over the replicas' own URLs, and chosen updates are delivered
again to the next replica (as when Telegram misses an answer), after the first delivery or
racing it. Every POST is logged as an `Attempt` with its timing (benchmarks read latencies).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp

from sandbox.spec import Upload
from sandbox.state import BotAccount, Webhook, now

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


class Redelivery(StrEnum):
    AFTER = "after"  # once the first replica has answered, to the next one as well
    RACE = "race"  # to two replicas at the same time


@dataclass
class Route:
    """A load balancer: updates for one public URL go to `targets` in turn (round robin).

    `redeliver(update)` names the updates that are delivered twice, and how.
    """

    targets: list[str]
    redeliver: Callable[[dict[str, Any]], Redelivery | None] = lambda update: None
    turn: int = 0

    def next_pair(self) -> tuple[str, str]:
        first = self.targets[self.turn % len(self.targets)]
        second = self.targets[(self.turn + 1) % len(self.targets)]
        self.turn += 1
        return first, second


@dataclass(frozen=True)
class Attempt:
    """One POST of an update: where, how it ended (HTTP status, or None and the error) and
    when, by `time.perf_counter()`."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


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
        routes: Mapping[str, Route] | None = None,
        attempts: list[Attempt] | None = None,
        parallel: bool = False,
    ) -> None:
        self.bot = bot
        self.session = session
        self.run_reply = run_reply
        self.check_update = check_update
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.routes = routes if routes is not None else {}
        self.attempts = attempts if attempts is not None else []
        self.parallel = parallel
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
        if self.parallel:
            return await self._run_parallel()
        queue = self.bot.updates
        failures = 0
        while True:
            await queue.changed.wait_until(
                lambda: bool(queue.pending) or not self.bot.webhook, None
            )
            hook = self.bot.webhook
            if hook is None:
                return None
            update = queue.pending[0]
            self.check_update(update)
            error = await self._deliver(hook, update)
            if error is None:
                failures = 0
                if queue.pending and queue.pending[0] is update:
                    queue.drop_first()
                continue
            delay = self._failed(hook, error, failures)
            failures += 1
            await asyncio.sleep(delay)

    async def _run_parallel(self) -> None:
        """Up to `max_connections` updates in flight; one at a time per chat, in order."""
        queue = self.bot.updates
        busy: dict[Any, asyncio.Task[None]] = {}  # chat -> the delivery in flight there
        taken: set[int] = set()  # ids of updates being delivered

        def next_update() -> dict[str, Any] | None:
            hook = self.bot.webhook
            if hook is None or len(busy) >= hook.max_connections:
                return None
            blocked: set[Any] = set(busy)
            for update in queue.pending:
                chat = _chat_of(update)
                if update["update_id"] not in taken and chat not in blocked:
                    return update
                blocked.add(chat)  # nothing overtakes an earlier update of its chat
            return None

        try:
            while True:
                await queue.changed.wait_until(
                    lambda: next_update() is not None or not self.bot.webhook, None
                )
                if self.bot.webhook is None:
                    return
                update = next_update()
                assert update is not None
                chat = _chat_of(update)
                taken.add(update["update_id"])
                task = asyncio.get_running_loop().create_task(self._deliver_until_done(update))
                busy[chat] = task

                def finished(_task: asyncio.Task[None], chat: Any = chat) -> None:
                    busy.pop(chat, None)
                    queue.changed.notify()

                task.add_done_callback(finished)
        finally:
            for task in list(busy.values()):
                task.cancel()
            await asyncio.gather(*busy.values(), return_exceptions=True)

    async def _deliver_until_done(self, update: dict[str, Any]) -> None:
        queue = self.bot.updates
        failures = 0
        while (hook := self.bot.webhook) is not None:
            self.check_update(update)
            error = await self._deliver(hook, update)
            if error is None:
                for i, pending in enumerate(queue.pending):
                    if pending is update:
                        del queue.pending[i]
                        break
                return
            delay = self._failed(hook, error, failures)
            failures += 1
            await asyncio.sleep(delay)

    def _failed(self, hook: Webhook, error: str, failures: int) -> float:
        hook.last_error_date, hook.last_error_message = now(), error
        self.bot.updates.changed.notify()  # for whoever watches the webhook's state
        delay = self.retry_delays[min(failures, len(self.retry_delays) - 1)]
        log.info("webhook delivery failed (%s); retrying in %.2fs", error, delay)
        return delay

    async def _deliver(self, hook: Webhook, update: dict[str, Any]) -> str | None:
        """Deliver one update (through its route, if any); None once a replica took it."""
        route = self.routes.get(hook.url)
        if route is None:
            return await self._post(hook.url, hook.secret_token, update)
        first, second = route.next_pair()
        how = route.redeliver(update)
        if how is Redelivery.RACE:
            errors = await asyncio.gather(
                self._post(first, hook.secret_token, update),
                self._post(second, hook.secret_token, update),
            )
            return None if None in errors else errors[0]
        error = await self._post(first, hook.secret_token, update)
        if error is None and how is Redelivery.AFTER:
            await self._post(second, hook.secret_token, update)  # its answer changes nothing
        return error

    async def _post(self, url: str, secret: str | None, update: dict[str, Any]) -> str | None:
        """POST one update; None on success, else Telegram's last_error_message."""
        headers = {SECRET_HEADER: secret} if secret else {}
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        reply: MethodReply | None = None
        try:
            async with self.session.post(
                url,
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json", **headers},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status = response.status
                if not 200 <= response.status < 300:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
                else:
                    reply = await _read_reply(response)
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectionError:
            error = "Connection refused"
        self.attempts.append(
            Attempt(update["update_id"], url, status, error, started, time.perf_counter())
        )
        if error is None and reply is not None:
            await self.run_reply(self.bot, reply)
        return error


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


def _chat_of(update: dict[str, Any]) -> Any:
    """The chat an update belongs to (its sender's id when it names no chat)."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if chat is not None:
            return chat.get("id")
        sender = payload.get("from") or payload.get("user")
        if sender is not None:
            return ("user", sender.get("id"))
    return ("update", update.get("update_id"))
