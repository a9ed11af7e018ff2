from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from sandbox.server import StandIn
from sandbox.state import BotAccount

Api = Callable[..., Coroutine[Any, Any, tuple[int, Any]]]


@pytest.fixture
async def stand() -> AsyncIterator[StandIn]:
    stand = StandIn(webhook_retry_delays=(0.01, 0.02, 0.05))
    await stand.start()
    try:
        yield stand
    finally:
        await stand.stop()


@pytest.fixture
def account(stand: StandIn) -> BotAccount:
    return stand.create_bot(username="ipdesk_bot", first_name="ipdesk")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(stand: StandIn, account: BotAccount, http: aiohttp.ClientSession) -> Api:
    """Call a method as the bot: `await api("sendMessage", json={...})` -> (status, body)."""

    async def call(method: str, *, token: str | None = None, **request: Any) -> tuple[int, Any]:
        url = f"{stand.base_url}/bot{token or account.token}/{method}"
        async with http.post(url, **request) as response:
            return response.status, await response.json()

    return call


async def close_quickly(bot: Bot) -> None:
    """Close an aiogram bot's session without aiogram's 250 ms grace sleep (meant for TLS)."""
    client = getattr(bot.session, "_session", None)
    if client is not None:
        await client.close()
    await bot.session.close()


def aiogram_bot_for(stand: StandIn, account: BotAccount) -> Bot:
    """A real aiogram `Bot` talking to the stand-in over HTTP (close it with close_quickly)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(stand.base_url))
    return Bot(account.token, session=session)


@pytest.fixture
async def aiogram_bot(stand: StandIn, account: BotAccount) -> AsyncIterator[Bot]:
    bot = aiogram_bot_for(stand, account)
    try:
        yield bot
    finally:
        await close_quickly(bot)
