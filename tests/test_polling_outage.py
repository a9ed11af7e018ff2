"""Long polling cannot have an update delivered again: one that meets a database outage is
run again by the bot itself until the database answers, and reaches the person once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Update
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.middlewares.retry import RetryOnOutage
from db.models import DeadLetter, Draft
from handlers import intake, texts
from tests.conftest import RunningBot


def outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionError("the database is restarting"))


async def test_a_question_during_an_outage_is_answered_once_it_ends(
    app: RunningBot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    render = texts.help_text
    failures = [outage(), outage(), outage()]

    def help_text(*args: object) -> str:
        if failures:
            raise failures.pop()
        return render(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(texts, "help_text", help_text)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/help")
    reply = await user.expect_message(timeout=10)
    assert reply["text"].startswith("What I can do")
    await user.expect_no_message(within=0.3)
    async with app.resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0
    # Each repeated run is counted for /metrics.
    assert "ipdesk_update_outage_retries_total 3" in app.resources.metrics.render(None)


async def test_redis_away_at_the_persons_lock_holds_the_update_until_it_is_back(
    app: RunningBot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The person's lock is taken before any handler runs (aiogram's FSM middleware): an
    outage there was logged as a failed update and the update confirmed, lost."""
    isolation = app.dp.fsm.events_isolation
    take = isolation.lock
    failures = [RedisConnectionError("Redis is restarting") for _ in range(2)]

    @asynccontextmanager
    async def lock(key: StorageKey) -> AsyncIterator[None]:
        if failures:
            raise failures.pop()
        async with take(key):
            yield

    monkeypatch.setattr(isolation, "lock", lock)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/help")
    reply = await user.expect_message(timeout=10)
    assert reply["text"].startswith("What I can do") and not failures
    await user.expect_no_message(within=0.3)
    assert "ipdesk_update_outage_retries_total 2" in app.resources.metrics.render(None)


async def test_an_answer_committed_before_the_outage_is_not_given_twice(
    desk_app: RunningBot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The answer is stored, then the outage: the run again finds it stored (processed
    updates) and shows the next question instead of answering the next one with it."""
    user = desk_app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    render, failures = intake.screen, [outage()]

    async def screen(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "screen", screen)
    await user.send("Barakholka market, Almaty")
    assert (await user.expect_message(timeout=10))["text"].startswith("Describe what happened")
    await user.expect_no_message(within=0.3)
    async with desk_app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.location == "Barakholka market, Almaty"
    assert draft.description is None and draft.step == "description"


async def test_an_update_given_up_on_inside_is_not_run_again_outside() -> None:
    runs: list[int] = []

    async def handler(_event: object, _data: dict) -> None:
        runs.append(1)
        raise outage()

    inner, outer = RetryOnOutage(give_up_after=0), RetryOnOutage()

    async def through_inner(event: object, data: dict) -> None:
        await inner(handler, event, data)  # type: ignore[arg-type]

    with pytest.raises(OperationalError):
        await outer(through_inner, Update(update_id=1), {})  # type: ignore[arg-type]
    assert runs == [1]  # once: no retry inside (given up at once), none outside
