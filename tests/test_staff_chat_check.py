"""The start-up check of the staff chat says clearly what is missing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.staff_chat import staff_chat_problems
from sandbox.server import StandIn
from tests.conftest import RunningBot


async def test_a_forum_with_the_bot_as_admin_is_fine(
    make_app: Callable[..., Awaitable[RunningBot]], stand: StandIn
) -> None:
    app = await make_app(complaints=False)
    forum = stand.create_supergroup("staff", forum=True)  # bots join as administrators
    assert await staff_chat_problems(app.bot, forum.id) == []


async def test_missing_rights_are_named(
    make_app: Callable[..., Awaitable[RunningBot]],
    stand: StandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = await make_app(complaints=False)
    plain = stand.create_supergroup("staff", forum=False, bots=[])
    plain.add_bot(stand.world.bots[app.bot.id], status="member")
    problems = await staff_chat_problems(app.bot, plain.id)
    assert problems == [
        f"the staff chat {plain.id} has no topics: turn on Topics in the group's settings",
        f"the bot is not an administrator of the staff chat {plain.id}",
    ]
    assert (await staff_chat_problems(app.bot, -100999))[0].startswith(
        "the staff chat -100999 cannot be reached"
    )
