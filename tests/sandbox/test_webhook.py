"""Webhook delivery as Telegram does it: the secret header, redelivery after an error answer or a
timeout, and nothing overtaking an update that failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.server import StandIn
from sandbox.state import BotAccount
from sandbox.webhook import SECRET_HEADER, Redelivery
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


async def test_a_route_spreads_updates_over_replicas_and_delivers_some_twice(
    stand: StandIn, serve: Any, api: Api, account: BotAccount
) -> None:
    first, second = Hook(), Hook()
    targets = [await serve(first), await serve(second)]
    stand.route_webhook(
        "https://bot.example/hook",
        targets,
        redeliver=lambda u: Redelivery.AFTER if u["message"]["text"] == "m2" else None,
    )
    await api("setWebhook", json={"url": "https://bot.example/hook", "secret_token": "s3cret"})
    user = stand.create_user("Aru")
    for text in ("m1", "m2", "m3"):
        await user.send(text)
    await first.wait_for(3)
    await second.wait_for(1)
    await account.updates.changed.wait_until(lambda: not account.updates.pending, 2)
    # In turn: m1 here, m2 there (and again here, the next replica), m3 here.
    assert first.texts() == ["m1", "m2", "m3"]
    assert second.texts() == ["m2"]
    by_url = {a.url for a in stand.webhook_attempts}
    assert by_url == set(targets)
    assert all(a.status == 200 and a.seconds >= 0 for a in stand.webhook_attempts)


async def test_a_race_delivers_one_update_to_two_replicas_at_once(
    stand: StandIn, serve: Any, api: Api, account: BotAccount
) -> None:
    first, second = Hook(lambda u, a: 0.1), Hook(lambda u, a: 0.1)  # each takes 100 ms
    stand.route_webhook(
        "https://bot.example/hook",
        [await serve(first), await serve(second)],
        redeliver=lambda update: Redelivery.RACE,
    )
    await api("setWebhook", json={"url": "https://bot.example/hook"})
    await stand.create_user("Aru").send("both")
    await account.updates.changed.wait_until(lambda: not account.updates.pending, 2)
    one, two = stand.webhook_attempts
    assert one.update_id == two.update_id and one.url != two.url
    assert two.started < one.ended  # at the same time, not one after the other


async def test_parallel_delivery_overlaps_chats_but_keeps_each_in_order() -> None:
    stand = StandIn(webhook_parallel=True, webhook_retry_delays=(0.01,))
    await stand.start()
    runners: list[web.AppRunner] = []
    try:
        order: list[str] = []

        async def handle(request: web.Request) -> web.Response:
            update = await request.json()
            await asyncio.sleep(0.1)
            order.append(update["message"]["text"])
            return web.Response()

        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        account = stand.create_bot()
        users = [stand.create_user(f"User {i}") for i in range(5)]
        for n in range(2):
            for i, user in enumerate(users):
                await user.send(f"{i}:{n}")
        started = asyncio.get_running_loop().time()
        async with aiohttp.ClientSession() as http:
            url = f"{stand.base_url}/bot{account.token}/setWebhook"
            hook = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
            await http.post(url, json={"url": hook, "max_connections": 40})
        await account.updates.changed.wait_until(lambda: not account.updates.pending, 3)
        elapsed = asyncio.get_running_loop().time() - started
        assert sorted(order) == sorted(f"{i}:{n}" for i in range(5) for n in range(2))
        for i in range(5):
            assert [t for t in order if t.startswith(f"{i}:")] == [f"{i}:0", f"{i}:1"]
        assert elapsed < 0.6, "ten 100 ms deliveries over five chats took as long as in series"
    finally:
        await stand.stop()
        for runner in runners:
            await runner.cleanup()
