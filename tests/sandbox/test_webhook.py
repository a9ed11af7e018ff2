"""Webhook delivery as Telegram does it: the secret header, redelivery after an error answer or a
timeout, and nothing overtaking an update that failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from sandbox.server import StandIn
from sandbox.state import BotAccount
from sandbox.webhook import SECRET_HEADER
from tests.sandbox.conftest import Api

Behaviour = Callable[[dict[str, Any], int], int | float]  # -> an HTTP status, or seconds to stall


@dataclass
class Hook:
    """A webhook endpoint that logs every attempt and answers as `behaviour` says."""

    behaviour: Behaviour = lambda update, attempt: 200
    attempts: list[tuple[str, str | None]] = field(default_factory=list)  # (text, secret)
    seen: dict[int, int] = field(default_factory=dict)  # update_id -> attempts so far
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        attempt = self.seen[update["update_id"]] = self.seen.get(update["update_id"], 0) + 1
        self.attempts.append((update["message"]["text"], request.headers.get(SECRET_HEADER)))
        self.changed.set()
        answer = self.behaviour(update, attempt)
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            answer = 200
        return web.Response(status=answer)

    def texts(self) -> list[str]:
        return [text for text, _ in self.attempts]

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(3):
            while len(self.attempts) < count:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def stand() -> AsyncIterator[StandIn]:
    stand = StandIn(webhook_retry_delays=(0.01, 0.02), webhook_timeout=0.2)
    await stand.start()
    try:
        yield stand
    finally:
        await stand.stop()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Hook], Any]]:
    runners: list[web.AppRunner] = []

    async def start(hook: Hook) -> str:
        app = web.Application()
        app.router.add_post("/hook", hook.handle)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/hook"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_a_timed_out_delivery_is_delivered_again(
    stand: StandIn, serve: Any, api: Api, account: BotAccount
) -> None:
    hook = Hook(lambda update, attempt: 0.5 if attempt == 1 else 200)  # first answer too late
    await api("setWebhook", json={"url": await serve(hook), "secret_token": "s3cret"})
    user = stand.create_user("Aru")
    await user.send("first")
    await user.send("second")
    await hook.wait_for(3)
    assert hook.texts() == ["first", "first", "second"]
    assert {secret for _, secret in hook.attempts} == {"s3cret"}
    assert account.webhook is not None
    assert account.webhook.last_error_message == "Read timeout expired"
    await account.updates.changed.wait_until(lambda: not account.updates.pending, 2)


async def test_nothing_overtakes_a_failed_update(stand: StandIn, serve: Any, api: Api) -> None:
    hook = Hook(lambda u, attempt: 502 if u["message"]["text"] == "b1" and attempt < 3 else 200)
    await api("setWebhook", json={"url": await serve(hook), "secret_token": "s3cret"})
    a, b = stand.create_user("A"), stand.create_user("B")
    for user, text in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2")):
        await user.send(text)
    await hook.wait_for(6)
    assert hook.texts() == ["a1", "b1", "b1", "b1", "a2", "b2"]
    await asyncio.sleep(0.05)
    assert len(hook.attempts) == 6  # each update delivered once it succeeded, never again


async def test_a_redirect_is_no_success_either(
    stand: StandIn, serve: Any, api: Api, account: BotAccount
) -> None:
    hook = Hook(lambda update, attempt: 302 if attempt == 1 else 200)
    await api("setWebhook", json={"url": await serve(hook)})
    await stand.create_user("Aru").send("hello")
    await hook.wait_for(2)
    assert hook.texts() == ["hello", "hello"]
    assert account.webhook is not None
    assert account.webhook.last_error_message == "Wrong response from the webhook: 302 Found"
