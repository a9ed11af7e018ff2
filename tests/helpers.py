"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from html import unescape
from typing import TYPE_CHECKING, TypeVar

from aiogram.utils.i18n import I18n
from sqlalchemy import select

from db.models import FaqQuery

if TYPE_CHECKING:
    from sandbox.updates import UpdateQueue
    from tests.conftest import RunningBot

_TAG = re.compile(r"<[^>]+>")
T = TypeVar("T")


def visible(html: str) -> str:
    """What Telegram shows for an HTML text: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", html))


def render(i18n: I18n, locale: str, fn, *args: object) -> str:
    """A screen from handlers.texts (or any gettext call) as it reads in `locale`, visible text."""
    with i18n.context(), i18n.use_locale(locale):
        return visible(fn(*args))


def tr(i18n: I18n, locale: str, msgid: str) -> str:
    return i18n.gettext(msgid, locale=locale)


def buttons(message: dict) -> list[str]:
    """The texts of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within: float = 5.0,
    interval: float = 0.05,
) -> T:
    """Probe until `done` holds or `within` seconds pass; the last value either way (for
    background work such as the outbox, which tests wait for rather than drive)."""
    deadline = asyncio.get_running_loop().time() + within
    value = await probe()
    while not done(value) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
        value = await probe()
    return value


async def logged(app: RunningBot) -> list[FaqQuery]:
    """The typed-question log once the updates in flight are handled: a question is logged
    while its answer goes out, and its update ends when both are done."""
    assert await app.resources.tracker.wait_idle(5)
    async with app.resources.sessionmaker() as session:
        return list(await session.scalars(select(FaqQuery).order_by(FaqQuery.id)))


def update_queue(app: RunningBot) -> UpdateQueue:
    """The stand-in's queue of the bot's updates: `pending` are those not confirmed yet."""
    account = app.stand.world.bot_by_token(app.bot.token)
    assert account is not None
    return account.updates


def unconfirmed(app: RunningBot) -> list[int]:
    return [update["update_id"] for update in update_queue(app).pending]
