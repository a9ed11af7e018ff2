"""Trouble on demand, as a real aiogram `Bot` meets it: each fault before and after the effect.

"before": nothing was sent, and the bot hears an error (or nothing). "after": the message IS in
the chat, and the bot still hears an error (or nothing) — the case that makes duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InputMediaPhoto, ReplyParameters

from sandbox.faults import BAD_GATEWAY_PAGE, Faults
from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api, close_quickly
from tests.sandbox.test_http import PNG_1x1

CLIENT_TIMEOUT = 0.4  # the bot's request timeout here; a timeout fault outlasts it


@pytest.fixture
def bot(aiogram_bot: Bot) -> Bot:
    aiogram_bot.session.timeout = CLIENT_TIMEOUT
    return aiogram_bot


@dataclass
class Target:
    """Where a test message goes: a chat, maybe a topic, maybe replying to a message."""

    chat_id: int
    send: dict[str, Any] = field(default_factory=dict)
    thread_id: int | None = None


async def private_target(stand: StandIn, bot: Bot) -> Target:
    user = stand.create_user("Aru")
    await user.send("/start")
    return Target(user.id)


async def topic_target(stand: StandIn, bot: Bot) -> Target:
    forum = stand.create_supergroup("IP staff", forum=True)
    topic = await bot.create_forum_topic(forum.id, "IP-2026-000001")
    thread = topic.message_thread_id
    return Target(forum.id, {"message_thread_id": thread}, thread)


async def reply_target(stand: StandIn, bot: Bot) -> Target:
    user = stand.create_user("Aru")
    question = await user.send("where is my ticket?")
    reply = ReplyParameters(message_id=question["message_id"])
    return Target(user.id, {"reply_parameters": reply})


Inject = Callable[[Faults, str, int], object]
MakeTarget = Callable[[StandIn, Bot], Awaitable[Target]]


@dataclass(frozen=True)
class Case:
    name: str
    inject: Inject  # (faults, when, chat_id)
    raises: type[Exception]
    message: str  # a fragment of str(exception)
    target: MakeTarget = private_target
    answered: bool = True


CASES = [
    Case(
        "429",
        lambda f, when, chat: f.flood("sendMessage", 7, when=when, chat_id=chat),
        TelegramRetryAfter,
        "Too Many Requests: retry after 7",
    ),
    Case(
        "500",
        lambda f, when, chat: f.server_error("sendMessage", 500, when=when, chat_id=chat),
        TelegramServerError,
        "Internal Server Error",
    ),
    Case(
        "502 json",
        lambda f, when, chat: f.bad_gateway("sendMessage", html=False, when=when, chat_id=chat),
        TelegramServerError,
        "Bad Gateway",
    ),
    # A proxy's HTML page is not JSON: aiogram raises ClientDecodeError, which is neither a
    # TelegramServerError nor a TelegramNetworkError (nor any TelegramAPIError at all).
    Case(
        "502 html",
        lambda f, when, chat: f.bad_gateway("sendMessage", html=True, when=when, chat_id=chat),
        ClientDecodeError,
        "Failed to decode object",
    ),
    Case(
        "timeout",
        lambda f, when, chat: f.timeout("sendMessage", when=when, chat_id=chat),
        TelegramNetworkError,
        "Request timeout error",
        answered=False,
    ),
    Case(
        "dropped",
        lambda f, when, chat: f.drop_connection("sendMessage", when=when, chat_id=chat),
        TelegramNetworkError,
        "ServerDisconnectedError",
        answered=False,
    ),
    Case(
        "blocked",
        lambda f, when, chat: f.blocked("sendMessage", when=when, chat_id=chat),
        TelegramForbiddenError,
        "Forbidden: bot was blocked by the user",
    ),
    Case(
        "thread not found",
        lambda f, when, chat: f.thread_not_found("sendMessage", when=when, chat_id=chat),
        TelegramBadRequest,
        "Bad Request: message thread not found",
        target=topic_target,
    ),
    Case(
        "reply not found",
        lambda f, when, chat: f.reply_not_found("sendMessage", when=when, chat_id=chat),
        TelegramBadRequest,
        "Bad Request: message to be replied not found",
        target=reply_target,
    ),
]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_fault_reaches_aiogram(bot: Bot, stand: StandIn, case: Case, when: str) -> None:
    target = await case.target(stand, bot)
    case.inject(stand.faults, when, target.chat_id)
    text = f"card for {case.name}"
    with pytest.raises(case.raises) as caught:
        await bot.send_message(target.chat_id, text, **target.send)
    assert case.message in str(caught.value)
    if case.raises is TelegramRetryAfter:
        assert caught.value.retry_after == 7

    delivered = stand.delivered(target.chat_id, text=text, thread_id=target.thread_id)
    assert len(delivered) == (1 if when == "after" else 0)
    record = stand.bot_requests("sendMessage")[-1]
    assert (record.effect, record.answered, record.ok) == (when == "after", case.answered, False)
    assert record.fault is not None and record.fault.endswith(when)
    if when == "after":
        assert record.outcome["message_id"] == delivered[0]["message_id"]
        assert record.outcome.get("message_thread_id") == target.thread_id

    # The fault fired once: the retry goes through, and "after" has made a duplicate.
    await bot.send_message(target.chat_id, text, **target.send)
    expected = 2 if when == "after" else 1
    assert len(stand.delivered(target.chat_id, text=text, thread_id=target.thread_id)) == expected
    assert stand.faults.pending == []
    assert stand.violations == []


async def test_flood_answer_has_the_retry_after_header(api: Api, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.flood("sendMessage", retry_after=11)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stand.base_url}/bot{next(iter(stand.world.bots.values())).token}/sendMessage",
            json={"chat_id": user.id, "text": "x"},
        ) as response,
    ):
        assert response.status == 429
        assert response.headers["Retry-After"] == "11"
        assert (await response.json())["parameters"] == {"retry_after": 11}


async def test_bad_gateway_page_is_html(api: Api, stand: StandIn, account: BotAccount) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.bad_gateway("sendMessage")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stand.base_url}/bot{account.token}/sendMessage",
            json={"chat_id": user.id, "text": "x"},
        ) as response,
    ):
        assert (response.status, response.content_type) == (502, "text/html")
        assert await response.text() == BAD_GATEWAY_PAGE


async def test_faults_match_method_chat_and_times(bot: Bot, stand: StandIn) -> None:
    one, two = stand.create_user("One"), stand.create_user("Two")
    for user in (one, two):
        await user.send("/start")
    fault = stand.faults.blocked("sendMessage", chat_id=one.id, times=2)
    await bot.send_message(two.id, "other chat: untouched")
    await bot.send_photo(one.id, BufferedInputFile(PNG_1x1, "p.png"))  # other method
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(one.id, "refused")
    assert fault.fired == 2 and stand.faults.pending == []
    await bot.send_message(one.id, "third time fine")
    assert [m.get("text") for m in stand.delivered(one.id)] == [None, "third time fine"]

    stand.faults.server_error("*", when="after")
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    assert stand.requests[-1].effect and stand.requests[-1].fault == "500 after"


async def test_after_faults_on_other_sending_methods(bot: Bot, stand: StandIn) -> None:
    """An album and a copy that Telegram delivered while the bot heard only trouble."""
    user = stand.create_user("Aru")
    question = await user.send("/start")
    stand.faults.flood("sendMediaGroup", 3, when="after")
    media = [InputMediaPhoto(media=BufferedInputFile(PNG_1x1, f"{i}.png")) for i in (1, 2)]
    with pytest.raises(TelegramRetryAfter):
        await bot.send_media_group(user.id, media)
    album = stand.delivered(user.id)
    assert len(album) == 2 and album[0]["media_group_id"] == album[1]["media_group_id"]

    staff = stand.create_supergroup("staff")
    stand.faults.timeout("copyMessage", when="after", chat_id=staff.id)
    with pytest.raises(TelegramNetworkError):
        await bot.copy_message(staff.id, user.id, question["message_id"])
    assert [m["text"] for m in stand.delivered(staff.id)] == ["/start"]
    stand.faults.timeout("copyMessage", when="before", chat_id=staff.id)
    with pytest.raises(TelegramNetworkError):
        await bot.copy_message(staff.id, user.id, question["message_id"])
    assert len(stand.delivered(staff.id)) == 1
    assert [(r.effect, r.answered) for r in stand.bot_requests("copyMessage")] == [
        (True, False),
        (False, False),
    ]


async def test_a_timeout_holds_the_answer_until_the_stand_in_stops() -> None:
    stand = StandIn()
    await stand.start()
    account = stand.create_bot()
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.timeout("sendMessage", when="after", seconds=30)
    session = AiohttpSession(api=TelegramAPIServer.from_base(stand.base_url))
    bot = Bot(account.token, session=session)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(user.id, "held", request_timeout=CLIENT_TIMEOUT)
    await close_quickly(bot)
    started = time.monotonic()
    await stand.stop()  # held requests are released, not waited for
    assert time.monotonic() - started < 0.5
    assert [m["text"] for m in stand.delivered(user.id)] == ["held"]


async def test_slow_answer_trips_the_client_timeout(stand: StandIn, account: BotAccount) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.delay("sendMessage", 0.3)
    session = AiohttpSession(api=TelegramAPIServer.from_base(stand.base_url), timeout=0.1)
    bot = Bot(account.token, session=session)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(user.id, "slow")
    await close_quickly(bot)
    assert (await user.expect_message())["text"] == "slow"  # Telegram sent it anyway


async def test_drop_connection_keeps_the_older_after_flag(bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.drop_connection("sendMessage", after=False)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "never sent")
    await user.expect_no_message(within=0.05)
    assert stand.requests[-1].fault == "dropped connection before"


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
