"""Trouble on demand: lost answers, slow answers, floods, migrated groups."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramMigrateToChat, TelegramNetworkError, TelegramRetryAfter

from sandbox.errors import ApiError
from sandbox.limits import Limiter, Rate, RateLimits
from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api


@pytest.fixture
async def bot(stand: StandIn, account: BotAccount) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(stand.base_url))
    bot = Bot(account.token, session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


async def test_answer_lost_after_the_message_was_sent(bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.drop_connection("sendMessage", after=True)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "sent, but the bot never hears so")
    assert (await user.expect_message())["text"] == "sent, but the bot never hears so"
    assert stand.requests[-1].answered is False
    stand.faults.drop_connection("sendMessage", after=False)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "never sent")
    await user.expect_no_message(within=0.05)
    await bot.send_message(user.id, "fine again")
    assert (await user.expect_message())["text"] == "fine again"


async def test_slow_answer_trips_the_client_timeout(stand: StandIn, account: BotAccount) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.delay("sendMessage", 0.3)
    session = AiohttpSession(api=TelegramAPIServer.from_base(stand.base_url), timeout=0.1)
    async with Bot(account.token, session=session) as bot:
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.send_message(user.id, "slow")


async def test_flood_error_reaches_aiogram(bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.flood("sendMessage", retry_after=4, chat_id=user.id)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user.id, "x")
    assert caught.value.retry_after == 4


async def test_migrated_group_answers_with_the_new_id(
    bot: Bot, stand: StandIn, api: Api, account: BotAccount
) -> None:
    group = stand.create_group("old")
    supergroup = group.migrate_to_supergroup(forum=True)
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(group.id, "hello?")
    assert caught.value.migrate_to_chat_id == supergroup.id
    assert supergroup.chat.is_forum and supergroup.chat.status_of(account.id).is_present
    _, body = await api("getUpdates", json={})
    notices = [u["message"] for u in body["result"]]
    assert [n.get("migrate_to_chat_id") or n.get("migrate_from_chat_id") for n in notices] == [
        supergroup.id,
        group.id,
    ]
    assert stand.violations == []


def test_rate_limits_allow_bursts_then_refuse() -> None:
    now = [0.0]
    limits = RateLimits(private_chat=Rate(per_second=1, burst=2))
    limiter = Limiter(limits, clock=lambda: now[0])
    send = {"chat_id": 5, "text": "x"}
    limiter.charge(1, "sendMessage", send)
    limiter.charge(1, "sendMessage", send)
    with pytest.raises(ApiError, match="Too Many Requests: retry after 1") as caught:
        limiter.charge(1, "sendMessage", send)
    assert caught.value.parameters == {"retry_after": 1}
    limiter.charge(1, "getMe", {})  # not a sending method
    limiter.charge(1, "sendMessage", {"chat_id": 6, "text": "another chat"})
    now[0] = 1.0
    limiter.charge(1, "sendMessage", send)


async def test_rate_limits_in_a_stand_in() -> None:
    group_rate = Rate(per_second=20 / 60, burst=2)
    async with StandIn(rate_limits=RateLimits(group=group_rate)) as stand:
        stand.create_bot()
        group = stand.create_supergroup("staff")
        account = next(iter(stand.world.bots.values()))
        session = AiohttpSession(api=TelegramAPIServer.from_base(stand.base_url))
        async with Bot(account.token, session=session) as bot:
            await bot.send_message(group.id, "1")
            await bot.send_message(group.id, "2")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(group.id, "3")
        assert caught.value.retry_after == 3
