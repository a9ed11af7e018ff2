"""Redis restarts (and loses everything) while someone is halfway through a complaint: the
answers are in the draft row, the dialog picks up at the draft's step, nothing is asked twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from db.models import DeadLetter, Draft, FaqQuery, Ticket
from handlers import intake
from sandbox.driver import UserDriver
from tests.helpers import eventually
from tests.prod.conftest import RedisServer, WebhookBot


async def up_to_the_location(user: UserDriver) -> None:
    """/complaint, online, copyright, no registration: the dialog asks where it happened."""
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:online")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:copyright")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()


async def test_answers_given_before_a_redis_restart_are_kept(
    make_webhook_app: Callable[..., Awaitable[WebhookBot]], private_redis: RedisServer
) -> None:
    app = await make_webhook_app(redis_url=private_redis.url)
    user = app.stand.create_user("Jane", language_code="en")
    await up_to_the_location(user)
    await user.send("https://shop.example/fake-books")
    description_question = await user.expect_message()
    await app.answered()  # the per-person lock is freed after the reply

    await private_redis.kill()  # no persistence: the dialog state is gone with it
    await private_redis.start()
    client = Redis.from_url(private_redis.url)
    try:
        assert await client.dbsize() == 0
    finally:
        await client.aclose()

    await user.send("/complaint")  # or the menu: the dialog resumes where the draft is
    resumed = await user.expect_message()
    assert resumed["text"] == description_question["text"]
    for answer in ("Pirated copies of our novels", "ACME Books", "+7 701 123 4567"):
        await user.send(answer)
        last = await user.expect_message()
    await user.press(last, callback_data="c:skip:evidence:")
    await user.press(await user.expect_edit(), callback_data="c:consent:consent:")
    summary = await user.expect_edit()
    await user.press(summary, callback_data="c:confirm::")
    receipt = await user.expect_edit()

    async with app.resources.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket))
        drafts = list(await session.scalars(select(Draft)))
        dead = list(await session.scalars(select(DeadLetter)))
    assert ticket is not None and ticket.number in receipt["text"]
    assert (ticket.kind, ticket.right) == ("online", "copyright")  # answered before the restart
    assert ticket.location == "https://shop.example/fake-books"
    assert ticket.description == "Pirated copies of our novels"
    assert (ticket.company, ticket.contact) == ("ACME Books", "+7 701 123 4567")
    assert len(drafts) == 1 and dead == []


async def test_a_button_of_the_current_question_works_without_the_lost_state(
    make_webhook_app: Callable[..., Awaitable[WebhookBot]], private_redis: RedisServer
) -> None:
    app = await make_webhook_app(redis_url=private_redis.url)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await app.answered()
    await private_redis.kill()
    await private_redis.start()
    await user.press(kinds, callback_data="c:choose:kind:customs")  # the draft knows the step
    rights = await user.expect_edit()
    await user.press(rights, callback_data="c:choose:right:trademark")
    await user.expect_edit()
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and (draft.kind, draft.right, draft.step) == (
        "customs",
        "trademark",
        "registration",
    )


async def test_a_typed_answer_after_a_redis_restart_is_read_as_an_answer(
    make_webhook_app: Callable[..., Awaitable[WebhookBot]], private_redis: RedisServer
) -> None:
    """The states come back from the drafts once the bot sees Redis emptied: the next typed
    answer continues the dialog instead of being taken for a question to the FAQ."""
    app = await make_webhook_app(redis_url=private_redis.url)
    user = app.stand.create_user("Jane", language_code="en")
    await up_to_the_location(user)
    await app.answered()
    other = app.stand.create_user("Bek", language_code="en")  # no dialog: no state made up
    await other.send("/start")
    await other.expect_message()

    await private_redis.kill()
    await private_redis.start()
    client = Redis.from_url(private_redis.url)
    try:

        async def states() -> list[bytes]:
            return [key async for key in client.scan_iter(match="*fsm*:state")]

        restored = await eventually(states, lambda keys: len(keys) > 0, within=15)
        await asyncio.sleep(0.2)
        restored = await states()
    finally:
        await client.aclose()
    assert len(restored) == 1 and str(user.id).encode() in restored[0]

    await user.send("https://shop.example/fake-books")
    question = await user.expect_message()
    assert question["text"].startswith("Describe what happened")
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
        asked = await session.scalar(select(func.count()).select_from(FaqQuery))
    assert draft is not None and draft.location == "https://shop.example/fake-books"
    assert draft.step == "description" and asked == 0


async def test_a_typed_answer_right_after_a_redis_restart_is_read_as_an_answer(
    make_webhook_app: Callable[..., Awaitable[WebhookBot]],
    private_redis: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before the states come back from the drafts (every few seconds), the person's own
    update finds Redis emptied and takes the step from their draft."""
    monkeypatch.setattr(intake, "RECOVERY_SECONDS", 3600.0)  # only at start: never in time
    app = await make_webhook_app(redis_url=private_redis.url)
    user = app.stand.create_user("Jane", language_code="en")
    await up_to_the_location(user)
    await app.answered()

    await private_redis.kill()
    await private_redis.start()
    await user.send("https://shop.example/fake-books")
    question = await user.expect_message()
    assert question["text"].startswith("Describe what happened")
    await user.send("Pirated copies of our novels")  # the state is in Redis again
    assert (await user.expect_message())["text"] != question["text"]
    other = app.stand.create_user("Bek", language_code="en")  # no dialog: a question
    await other.send("How do I register a trademark?")
    await other.expect_message()
    await app.answered()
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
        asked = list(await session.scalars(select(FaqQuery.user_id)))
    assert draft is not None and draft.location == "https://shop.example/fake-books"
    assert draft.description == "Pirated copies of our novels" and draft.step == "company"
    assert asked == [other.id]
