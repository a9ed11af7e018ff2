"""`stand.requests`: every call with its parameters, answer, effect and time, so tests count
deliveries and duplicates exactly."""

from __future__ import annotations

import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter

from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.conftest import Api


async def test_each_call_is_recorded_with_its_effect(aiogram_bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    started = time.time()
    await aiogram_bot.send_message(user.id, "ok")
    stand.faults.flood("sendMessage", 5, when="before")
    with pytest.raises(TelegramRetryAfter):
        await aiogram_bot.send_message(user.id, "refused")
    stand.faults.drop_connection("sendMessage", when="after")
    with pytest.raises(TelegramNetworkError):
        await aiogram_bot.send_message(user.id, "sent unheard")
    rows = [
        (r.params["text"], r.ok, r.answered, r.effect, r.fault, r.error_code)
        for r in stand.bot_requests("sendMessage", chat_id=user.id)
    ]
    assert rows == [
        ("ok", True, True, True, None, None),
        ("refused", False, True, False, "429 before", 429),
        ("sent unheard", False, False, True, "dropped connection after", None),
    ]
    first, _, unheard = stand.bot_requests("sendMessage")
    assert first.outcome == first.result and first.result["text"] == "ok"
    assert unheard.result is None and unheard.outcome["text"] == "sent unheard"
    assert all(started <= r.at <= time.time() for r in stand.requests)
    assert [r.at for r in stand.requests] == sorted(r.at for r in stand.requests)
    assert stand.bot_requests("sendMessage", chat_id=user.id + 1) == []


async def test_delivered_counts_duplicates(aiogram_bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    stand.faults.timeout("sendMessage", when="after")
    with pytest.raises(TelegramNetworkError):
        await aiogram_bot.send_message(user.id, "Saved", request_timeout=0.2)
    await aiogram_bot.send_message(user.id, "Saved")  # the bot's retry: a duplicate
    sent = stand.delivered(user.id, text="Saved")
    assert len(sent) == 2 and sent[0]["message_id"] != sent[1]["message_id"]
    await aiogram_bot.delete_message(user.id, sent[1]["message_id"])
    assert len(stand.delivered(user.id, text="Saved")) == 2  # delivered, even if deleted later
    assert [m["text"] for m in stand.delivered(user.id)] == ["Saved", "Saved"]
    assert stand.delivered(user.id, text="other") == []


async def test_refused_bodies_unknown_tokens_and_downloads_are_recorded(
    api: Api, stand: StandIn, account: BotAccount, http: aiohttp.ClientSession
) -> None:
    status, _ = await api("sendMessage", data=b"{", headers={"Content-Type": "application/json"})
    assert status == 400
    await api("getMe", token="123:nope")
    user = stand.create_user("Aru")
    photo = await user.send_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    _, body = await api("getFile", json={"file_id": photo["photo"][-1]["file_id"]})
    path = body["result"]["file_path"]
    async with http.get(f"{stand.base_url}/file/bot{account.token}/{path}") as response:
        assert response.status == 200
    async with http.get(f"{stand.base_url}/file/bot{account.token}/nope.jpg") as response:
        assert response.status == 404
    rows = [(r.method, r.bot_id, r.error_code) for r in stand.requests]
    assert rows == [
        ("sendMessage", account.id, 400),
        ("getMe", None, 401),
        ("getFile", account.id, None),
        ("file", account.id, None),
        ("file", account.id, 404),
    ]
    assert stand.requests[3].params == {"file_path": path}
