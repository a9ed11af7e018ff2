"""The bot added to a stranger's group leaves at once, and nothing else happens there."""

from __future__ import annotations

import pytest

from db.models import User
from sandbox.driver import GroupDriver, UserDriver
from sandbox.state import MemberStatus
from tests.abuse.support import count, dead_letters, settle
from tests.conftest import RunningBot


def sent_to(app: RunningBot, chat_id: int) -> list[str]:
    """Every call the bot made that names this chat (leaveChat included)."""
    return [r.method for r in app.stand.requests if str(r.params.get("chat_id")) == str(chat_id)]


@pytest.mark.parametrize("kind", ["group", "supergroup"])
@pytest.mark.parametrize("status", ["member", "administrator"])
async def test_added_to_a_strangers_group_it_leaves(
    desk_app: RunningBot, kind: str, status: str
) -> None:
    account = desk_app.stand.world.bots[desk_app.bot.id]
    if kind == "group":
        group = desk_app.stand.create_group("Cheap watches", bots=[])
    else:
        group = desk_app.stand.create_supergroup("Cheap watches", bots=[])
    owner = desk_app.stand.create_user("Mallory", language_code="en")
    group.add_member(owner, status="creator")
    users_before = await count(desk_app, User)
    group.invite_bot(account, by=owner, status=status)
    await settle(desk_app)
    assert group.chat.status_of(account.id) is MemberStatus.LEFT
    assert sent_to(desk_app, group.id) == ["leaveChat"]
    await owner.send("/start", chat=group)  # it no longer hears the group
    await owner.send("/help@ipdesk_bot", chat=group)
    await settle(desk_app)
    assert sent_to(desk_app, group.id) == ["leaveChat"]
    assert await count(desk_app, User) == users_before  # the stranger was not recorded
    assert await dead_letters(desk_app) == []


async def test_re_added_to_the_staff_chat_it_stays(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    account = desk_app.stand.world.bots[desk_app.bot.id]
    stranger = desk_app.stand.create_user("Mallory", language_code="en")
    staff_chat.add_member(stranger, status="administrator")
    staff_chat.chat.members.pop(account.id)
    staff_chat.invite_bot(account, by=stranger, status="administrator")
    await settle(desk_app)
    assert staff_chat.chat.status_of(account.id) is MemberStatus.ADMINISTRATOR
    assert "leaveChat" not in sent_to(desk_app, staff_chat.id)
    assert await dead_letters(desk_app) == []


async def test_added_elsewhere_by_staff_it_stays_and_keeps_quiet(
    desk_app: RunningBot, specialist: UserDriver
) -> None:
    """Staff may be preparing a new staff chat: the bot stays, and does nothing there."""
    account = desk_app.stand.world.bots[desk_app.bot.id]
    group = desk_app.stand.create_supergroup("New desk", forum=True, bots=[])
    group.add_member(specialist, status="creator")
    group.invite_bot(account, by=specialist, status="administrator")
    await specialist.send("hello", chat=group)
    await settle(desk_app)
    assert group.chat.status_of(account.id) is MemberStatus.ADMINISTRATOR
    assert sent_to(desk_app, group.id) == []
    assert await dead_letters(desk_app) == []
