"""Long polling confirms an update to Telegram only once it has been handled (bot/polling.py):
a process that dies meanwhile gets it again; nobody else waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

import bot.polling
from tests.conftest import RunningBot
from tests.helpers import unconfirmed
from tests.helpers import update_queue as queue


async def test_an_update_is_confirmed_only_once_handled(
    make_app: Callable[[], Awaitable[RunningBot]], slow_help: tuple[asyncio.Event, asyncio.Event]
) -> None:
    entered, release = slow_help
    app = await make_app()  # after the patch: the routers hold the handler they were given
    jane, omar = (app.stand.create_user(n, language_code="en") for n in ("Jane", "Omar"))
    await jane.send("/help")
    await asyncio.wait_for(entered.wait(), 5)
    [in_flight] = unconfirmed(app)

    await omar.send("/start")  # another person is not held up by it
    await omar.expect_message(timeout=2)
    await asyncio.sleep(0.5)  # polls meanwhile return both again: skipped
    # The offset confirms a prefix: Omar's waits with Jane's (after a crash, both come again).
    assert unconfirmed(app)[0] == in_flight

    release.set()
    assert (await jane.expect_message())["text"] == "finished"
    assert await queue(app).changed.wait_until(lambda: not queue(app).pending, 10)
    await jane.expect_no_message(within=0.5)  # each handled once, not again
    await omar.expect_no_message(within=0.1)


async def test_a_full_page_behind_a_slow_update_is_read_past_it(
    make_app: Callable[[], Awaitable[RunningBot]],
    slow_help: tuple[asyncio.Event, asyncio.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One stuck update must not stop the bot reading: with a page of newer updates handled
    behind it, the offset moves past them all."""
    monkeypatch.setattr(bot.polling, "PAGE", 3)
    entered, release = slow_help
    app = await make_app()
    jane = app.stand.create_user("Jane", language_code="en")
    others = [app.stand.create_user(f"Person {i}", language_code="en") for i in range(4)]
    await jane.send("/help")
    await asyncio.wait_for(entered.wait(), 5)
    [stuck] = unconfirmed(app)
    for person in others:  # the third one would be past a page that starts at Jane's
        await person.send("/start")
        await person.expect_message(timeout=5)
    assert stuck not in unconfirmed(app)  # confirmed early: the price of reading on
    release.set()
    assert (await jane.expect_message())["text"] == "finished"
