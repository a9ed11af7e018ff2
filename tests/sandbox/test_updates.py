"""Getting updates: long polling, offsets, conflicts, allowed_updates, webhooks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from sandbox.server import StandIn
from sandbox.state import BotAccount
from sandbox.webhook import SECRET_HEADER
from tests.sandbox.conftest import Api


async def test_long_poll_returns_as_soon_as_an_update_arrives(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    poll = asyncio.create_task(api("getUpdates", json={"timeout": 10}))
    await asyncio.sleep(0.05)
    assert not poll.done()
    started = time.monotonic()
    await user.send("hello")
    status, body = await poll
    assert time.monotonic() - started < 1
    assert status == 200
    assert [u["message"]["text"] for u in body["result"]] == ["hello"]


async def test_timeout_zero_answers_at_once(api: Api) -> None:
    assert await api("getUpdates", json={"timeout": 0}) == (200, {"ok": True, "result": []})


async def test_offset_confirms_and_limit_caps(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    for text in ("one", "two", "three"):
        await user.send(text)
    _, first = await api("getUpdates", json={"limit": 2})
    ids = [u["update_id"] for u in first["result"]]
    assert len(ids) == 2 and ids[1] == ids[0] + 1
    _, again = await api("getUpdates", json={})
    assert len(again["result"]) == 3  # nothing confirmed yet
    _, rest = await api("getUpdates", json={"offset": ids[1] + 1})
    assert [u["message"]["text"] for u in rest["result"]] == ["three"]
    _, after = await api("getUpdates", json={"offset": rest["result"][0]["update_id"] + 1})
    assert after["result"] == []


async def test_second_poller_terminates_the_first(api: Api, stand: StandIn) -> None:
    first = asyncio.create_task(api("getUpdates", json={"timeout": 10}))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(api("getUpdates", json={"timeout": 10}))
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409
    assert body["description"] == (
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running"
    )
    await stand.create_user("Aru").send("hi")
    assert (await second)[0] == 200


async def test_allowed_updates_filters_new_updates(api: Api, stand: StandIn) -> None:
    await api("getUpdates", json={"allowed_updates": ["callback_query"]})
    await stand.create_user("Aru").send("ignored")
    _, body = await api("getUpdates", json={})
    assert body["result"] == []


async def test_polling_refused_while_a_webhook_is_set(api: Api) -> None:
    await api("setWebhook", json={"url": "http://127.0.0.1:9/hook"})
    status, body = await api("getUpdates", json={})
    assert status == 409
    assert body["description"] == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first"
    )


class Receiver:
    """A webhook endpoint that fails its first `failures` deliveries with 500."""

    def __init__(self, failures: int = 0, reply: dict[str, Any] | None = None) -> None:
        self.failures = failures
        self.reply = reply
        self.received: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.attempts = 0
        self.arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            return web.Response(status=500)
        self.secrets.append(request.headers.get(SECRET_HEADER))
        self.received.append(await request.json())
        async with self.arrived:
            self.arrived.notify_all()
        return web.json_response(self.reply or {})

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(3), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []

    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/hook"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_webhook_delivery_with_secret_and_retry(api: Api, stand: StandIn, serve: Any) -> None:
    receiver = Receiver(failures=2)
    url = await serve(receiver)
    status, _ = await api("setWebhook", json={"url": url, "secret_token": "s3cret_-X"})
    assert status == 200
    user = stand.create_user("Aru")
    await user.send("first")
    await user.send("second")
    await receiver.wait_for(2)
    assert [u["message"]["text"] for u in receiver.received] == ["first", "second"]
    assert receiver.secrets == ["s3cret_-X", "s3cret_-X"]
    assert receiver.attempts == 4
    _, info = await api("getWebhookInfo", json={})
    assert info["result"]["url"] == url
    assert info["result"]["pending_update_count"] == 0
    assert info["result"]["last_error_message"] == (
        "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert stand.violations == []


async def test_unreachable_webhook_keeps_updates_pending(
    api: Api, stand: StandIn, account: BotAccount
) -> None:
    await api("setWebhook", json={"url": "http://127.0.0.1:9/hook"})
    await stand.create_user("Aru").send("waiting")
    hook = account.webhook
    assert hook is not None
    failed = await account.updates.changed.wait_until(lambda: bool(hook.last_error_message), 3)
    assert failed
    _, info = await api("getWebhookInfo", json={})
    assert info["result"]["pending_update_count"] == 1
    assert info["result"]["last_error_message"] == "Connection refused"
    await api("deleteWebhook", json={"drop_pending_updates": True})
    _, info = await api("getWebhookInfo", json={})
    assert info["result"] == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


async def test_webhook_reply_runs_a_method(api: Api, stand: StandIn, serve: Any) -> None:
    user = stand.create_user("Aru")
    reply = {"method": "sendMessage", "chat_id": user.id, "text": "answered in the reply"}
    url = await serve(Receiver(reply=reply))
    await api("setWebhook", json={"url": url})
    await user.send("/start")
    assert (await user.expect_message())["text"] == "answered in the reply"
    assert stand.violations == []


async def test_bad_secret_token_is_refused(api: Api) -> None:
    status, body = await api("setWebhook", json={"url": "https://x.test/h", "secret_token": "a b"})
    assert status == 400
    assert body["description"] == "Bad Request: secret token contains unallowed characters"
