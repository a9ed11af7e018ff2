"""Flood limits and file sizes, as a real aiogram `Bot` meets them.

Rates run on a frozen clock (`stand.set_rate_limits(..., clock=...)`), so bursts are exact and
no test sleeps.
"""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InputMediaPhoto

from sandbox.driver import UserDriver
from sandbox.errors import ApiError
from sandbox.limits import Limiter, Rate, RateLimits
from sandbox.server import MAX_UPLOAD_BYTES, StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api, aiogram_bot_for, close_quickly
from tests.sandbox.test_http import PNG_1x1

MB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(stand: StandIn) -> Clock:
    clock = Clock()
    stand.set_rate_limits(RateLimits(), clock=clock)
    return clock


async def started(stand: StandIn, count: int) -> list[UserDriver]:
    users = [stand.create_user(f"User {i}") for i in range(count)]
    for user in users:
        await user.send("/start")
    return users


async def test_private_chat_one_per_second_after_a_short_burst(
    aiogram_bot: Bot, stand: StandIn, clock: Clock
) -> None:
    [user] = await started(stand, 1)
    for i in range(5):
        await aiogram_bot.send_message(user.id, f"burst {i}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await aiogram_bot.send_message(user.id, "one too many")
    assert caught.value.retry_after == 1
    assert stand.delivered(user.id, text="one too many") == []
    refused = stand.requests[-1]
    assert (refused.error_code, refused.effect, refused.fault) == (429, False, None)
    clock.now += 1.0
    await aiogram_bot.send_message(user.id, "after a second")
    with pytest.raises(TelegramRetryAfter):
        await aiogram_bot.send_message(user.id, "too soon again")
    assert len(stand.delivered(user.id)) == 6


async def test_group_twenty_per_minute_shared_by_its_topics(
    aiogram_bot: Bot, stand: StandIn, clock: Clock
) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    topics = [
        (await aiogram_bot.create_forum_topic(forum.id, f"t{i}")).message_thread_id for i in (1, 2)
    ]
    for i in range(20):
        await aiogram_bot.send_message(forum.id, f"card {i}", message_thread_id=topics[i % 2])
    with pytest.raises(TelegramRetryAfter) as caught:
        await aiogram_bot.send_message(forum.id, "21st", message_thread_id=topics[0])
    assert caught.value.retry_after == 3  # one message per 3 s refills the bucket
    clock.now += 2.9
    with pytest.raises(TelegramRetryAfter) as caught:
        await aiogram_bot.send_message(forum.id, "still too soon")
    assert caught.value.retry_after == 1
    clock.now += 0.1
    await aiogram_bot.send_message(forum.id, "21st, in time")
    assert len(stand.delivered(forum.id)) == 21


async def test_thirty_per_second_per_bot(
    aiogram_bot: Bot, stand: StandIn, clock: Clock, api: Api
) -> None:
    users = await started(stand, 11)
    for i in range(30):  # 3 per chat: within each private chat's burst
        await aiogram_bot.send_message(users[i % 10].id, f"broadcast {i}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await aiogram_bot.send_message(users[10].id, "a fresh chat, but the bot is over 30/s")
    assert caught.value.retry_after == 1
    status, body = await api("sendMessage", json={"chat_id": users[10].id, "text": "raw"})
    assert (status, body["parameters"]) == (429, {"retry_after": 1})

    other = stand.create_bot("other_bot")  # another bot has its own budget
    other_bot = aiogram_bot_for(stand, other)
    dana = stand.create_user("Dana")
    await dana.send("/start", bot=other)
    await other_bot.send_message(dana.id, "fine")
    await close_quickly(other_bot)
    clock.now += 1 / 30
    await aiogram_bot.send_message(users[10].id, "one token back")


async def test_albums_and_copies_cost_one_per_message(
    aiogram_bot: Bot, stand: StandIn, clock: Clock
) -> None:
    group = stand.create_supergroup("staff")
    photos = [InputMediaPhoto(media=BufferedInputFile(PNG_1x1, f"{i}.png")) for i in range(10)]
    await aiogram_bot.send_media_group(group.id, photos)
    await aiogram_bot.send_media_group(group.id, photos)
    with pytest.raises(TelegramRetryAfter):
        await aiogram_bot.send_message(group.id, "21st message")


async def test_limits_switch_on_and_off(aiogram_bot: Bot, stand: StandIn) -> None:
    [user] = await started(stand, 1)
    for i in range(20):
        await aiogram_bot.send_message(user.id, f"no limits {i}")  # off by default
    stand.set_rate_limits(RateLimits(private_chat=Rate(per_second=1, burst=1)))
    await aiogram_bot.send_message(user.id, "one")
    with pytest.raises(TelegramRetryAfter):
        await aiogram_bot.send_message(user.id, "two")
    stand.set_rate_limits(None)
    await aiogram_bot.send_message(user.id, "off again")


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


async def test_rate_limits_given_to_the_constructor() -> None:
    group_rate = Rate(per_second=20 / 60, burst=2)
    async with StandIn(rate_limits=RateLimits(group=group_rate)) as stand:
        account = stand.create_bot()
        group = stand.create_supergroup("staff")
        bot = aiogram_bot_for(stand, account)
        await bot.send_message(group.id, "1")
        await bot.send_message(group.id, "2")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(group.id, "3")
        await close_quickly(bot)
    assert caught.value.retry_after == 3


# -- file sizes ---------------------------------------------------------------------------------


async def test_downloads_stop_at_20_mb(aiogram_bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    fits = await user.send_document(b"\0" * (20 * MB), "scan.pdf", "application/pdf")
    too_big = await user.send_document(b"\0" * (20 * MB + 1), "scan2.pdf", "application/pdf")
    file = await aiogram_bot.get_file(fits["document"]["file_id"])
    assert file.file_size == 20 * MB and file.file_path
    with pytest.raises(TelegramBadRequest, match="Bad Request: file is too big"):
        await aiogram_bot.get_file(too_big["document"]["file_id"])


async def test_uploads_stop_at_50_mb(aiogram_bot: Bot, stand: StandIn, account: BotAccount) -> None:
    [user] = await started(stand, 1)
    assert MAX_UPLOAD_BYTES == 50 * MB
    sent = await aiogram_bot.send_document(user.id, BufferedInputFile(b"\0" * (50 * MB), "a.bin"))
    assert sent.document is not None and sent.document.file_size == 50 * MB
    for size in (50 * MB + 1, 60 * MB):  # past the limit, and past what the server will read
        with pytest.raises(TelegramEntityTooLarge, match="Request Entity Too Large"):
            await aiogram_bot.send_document(user.id, BufferedInputFile(b"\0" * size, "b.bin"))
        assert stand.requests[-1].error_code == 413
    assert len(stand.delivered(user.id)) == 1
