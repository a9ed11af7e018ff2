"""Webhook mode in this process: the answer comes after the effects, a wrong secret is
refused, a failing handler is a dead letter answered 200, an outage answers 503 until the
service is back, and an update delivered twice takes effect once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiogram.types import Message
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import handlers.intake
import handlers.private
from bot.webhook import SECRET_HEADER, webhook_url
from db.models import DeadLetter, Draft, ProcessedUpdate, User
from sandbox.webhook import Redelivery
from tests.prod.conftest import RedisServer, WebhookBot

MakeApp = Callable[..., Awaitable[WebhookBot]]


async def count(app: WebhookBot, model: type) -> int:
    async with app.resources.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_telegram_hears_200_only_once_the_effects_are_committed(
    make_webhook_app: MakeApp,
) -> None:
    app = await make_webhook_app()
    seen_at_answer: list[tuple[int, int]] = []  # (status, drafts stored when it was answered)

    async def telegram_side(request: web.Request) -> web.Response:
        """Between the stand-in and the bot: looks at the database as the answer comes back."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(app.local_url, data=await request.read(), headers=request.headers) as answer,
        ):
            seen_at_answer.append((answer.status, await count(app, Draft)))
            return web.Response(status=answer.status, body=await answer.read())

    proxy = web.Application()
    proxy.router.add_post("/", telegram_side)
    runner = web.AppRunner(proxy)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        route = app.stand.webhook_routes[webhook_url(app.settings)]
        route.targets[:] = [f"http://127.0.0.1:{runner.addresses[0][1]}/"]
        user = app.stand.create_user("Jane", language_code="en")
        await user.send("/complaint")
        await user.expect_message()
        await app.stand.world.bots[app.bot.id].updates.changed.wait_until(
            lambda: bool(seen_at_answer), 5
        )
    finally:
        await runner.cleanup()
    assert seen_at_answer == [(200, 1)]  # the draft was stored before Telegram heard 200


@pytest.mark.parametrize("secret", [None, "wrong"])
async def test_a_wrong_or_missing_secret_gets_401_and_nothing_happens(
    make_webhook_app: MakeApp, caplog: pytest.LogCaptureFixture, secret: str | None
) -> None:
    app = await make_webhook_app()
    user = app.stand.create_user("Mallory", language_code="en")
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": user.id, "type": "private", "first_name": "Mallory"},
            "from": {"id": user.id, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
        },
    }
    headers = {SECRET_HEADER: secret} if secret else {}
    with caplog.at_level(logging.WARNING, logger="ipdesk.webhook"):
        async with (
            aiohttp.ClientSession() as http,
            http.post(app.local_url, json=update, headers=headers) as answer,
        ):
            assert answer.status == 401
    assert "wrong or missing secret" in caplog.text
    assert await count(app, User) == 0
    assert app.stand.chat_messages(user.id) == []
    assert app.resources.metrics.webhook[401] == 1
    assert app.resources.metrics.updates == {}


async def test_a_failing_handler_is_kept_as_a_dead_letter_and_answered_200(
    make_webhook_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(message: Message) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers.private, "show_help", broken)
    app = await make_webhook_app()
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/help")
    sorry = await user.expect_message()
    assert sorry["text"].startswith("Sorry, something went wrong")
    await asyncio.sleep(0.2)
    assert [a.status for a in app.stand.webhook_attempts] == [200]  # not redelivered
    assert await count(app, DeadLetter) == 1
    assert app.resources.metrics.errors["message", "handler"] == 1


async def test_a_typed_answer_delivered_twice_answers_one_question(
    make_webhook_app: MakeApp,
) -> None:
    app = await make_webhook_app()
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    route = app.stand.webhook_routes[webhook_url(app.settings)]
    route.redeliver = lambda u: Redelivery.AFTER if "message" in u else None
    await user.send("Barakholka market, Almaty")
    await user.expect_message()  # the next question, once
    account = app.stand.world.bots[app.bot.id]
    await account.updates.changed.wait_until(lambda: not account.updates.pending, 5)
    await user.expect_no_message(within=0.3)  # the second delivery said nothing
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
        marks = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert draft is not None
    assert draft.location == "Barakholka market, Almaty"
    assert draft.description is None and draft.step == "description"
    assert marks and app.resources.metrics.skipped == 1
    redelivered = [a for a in app.stand.webhook_attempts if a.status == 200]
    assert sum(1 for a in redelivered if a.update_id == redelivered[-1].update_id) == 2


async def test_a_reply_lost_to_an_outage_after_the_commit_is_shown_on_redelivery(
    make_webhook_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is committed, then the database goes away before the next question is
    rendered: 503, and the redelivery (skipped: the answer is stored) shows the question."""
    app = await make_webhook_app()
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    render = handlers.intake.screen
    failures = [OperationalError("SELECT count(*)", {}, ConnectionError("connection lost"))]

    async def outage_after_the_commit(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(handlers.intake, "screen", outage_after_the_commit)
    await user.send("Barakholka market, Almaty")
    question = await user.expect_message(timeout=10)
    assert "describe" in question["text"].lower()
    await user.expect_no_message(within=0.3)  # shown once
    assert [a.status for a in app.stand.webhook_attempts][-2:] == [503, 200]
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
        marks = list(await session.scalars(select(ProcessedUpdate.finished)))
    assert draft is not None and draft.location == "Barakholka market, Almaty"
    assert draft.step == "description"
    assert app.resources.metrics.skipped == 1
    assert False in marks  # the interrupted update, marked but never finished
    await user.send("Fake phones with our logo, since May")  # the dialog goes on
    assert "company" in (await user.expect_message())["text"].lower()


async def test_a_redis_outage_answers_503_until_redis_is_back(
    make_webhook_app: MakeApp, private_redis: RedisServer
) -> None:
    app = await make_webhook_app(redis_url=private_redis.url)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start")
    await user.expect_message()
    await app.answered()
    await private_redis.kill()
    await user.send("/help")
    account = app.stand.world.bots[app.bot.id]
    await account.updates.changed.wait_until(lambda: app.resources.metrics.webhook[503] >= 2, 20)
    await user.expect_no_message(within=0.1)  # nothing handled meanwhile
    await private_redis.start()
    answer = await user.expect_message(timeout=20)
    assert answer["text"].startswith("What I can do")  # the help, once Redis is back
    assert await count(app, DeadLetter) == 0
    assert app.resources.metrics.errors["message", "outage"] >= 2
