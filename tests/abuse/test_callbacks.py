"""Forged, stale and other people's callback data: refused with a toast, nothing changes,
nobody else hears of it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Draft, Ticket, User
from sandbox.driver import GroupDriver, UserDriver
from tests.abuse.support import dead_letters, file_ticket, settle, snapshot, unthrottled
from tests.conftest import RunningBot

STALE = "This button is no longer valid. Please open the menu again: /start"
HUGE = "9" * 30


# {ticket}: the victim's ticket id. Each is pressed from the attacker's own menu.
FORGED = [
    "garbage",
    "m:nope",
    "l:xx",
    "l:",
    "del:maybe",
    "fq:nope:0",
    f"fq:basics:{HUGE}",
    "fa:../../etc/passwd",
    "fv:nope:1",
    "fv:about-committee:maybe",
    "fs:nope",
    "sl:zz",
    "c:choose:kind:counterfeit",
    "c:confirm::",
    "c:field:location:",
    "t:leave:abc",
    "t:open:-1",
    f"t:open:{HUGE}",
    f"t:leave:{HUGE}",
    "t:open:{ticket}",
    "t:leave:{ticket}",
    "x" * 64,
]


@pytest.fixture
async def victim(desk_app: RunningBot, staff_chat: GroupDriver) -> tuple[UserDriver, Ticket]:
    unthrottled(desk_app)  # the attackers press faster than any person
    user = desk_app.stand.create_user("Victim", language_code="kk")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    return user, ticket


async def test_forged_callbacks_from_a_user_change_nothing(
    desk_app: RunningBot, victim: tuple[UserDriver, Ticket]
) -> None:
    victim_user, ticket = victim
    attacker = desk_app.stand.create_user("Mallory", language_code="en")
    await attacker.send("/start")
    menu = await attacker.expect_message()
    await settle(desk_app)
    before = await snapshot(desk_app)
    for data in FORGED:
        await attacker.press(menu, forged=data.format(ticket=ticket.id))
        toast = await attacker.expect_callback_answer()
        if not data.startswith("fq:basics:"):  # a page number past the end shows the last
            assert toast == STALE, f"{data!r} was not refused: {toast!r}"
    await settle(desk_app)
    assert await snapshot(desk_app) == before
    await victim_user.expect_no_message(within=0.2)
    assert await dead_letters(desk_app) == []


async def test_forged_callbacks_in_the_staff_chat_change_nothing(
    desk_app: RunningBot,
    staff_chat: GroupDriver,
    specialist: UserDriver,
    victim: tuple[UserDriver, Ticket],
) -> None:
    victim_user, ticket = victim
    card = staff_chat.messages(ticket.topic_id)[-1]
    stranger = desk_app.stand.create_user("Mallory", language_code="en")
    staff_chat.add_member(stranger)
    await settle(desk_app)
    before = await snapshot(desk_app)
    posts = len(desk_app.stand.delivered(staff_chat.id))
    staff_chat.add_member(victim_user)
    for person in (stranger, specialist, victim_user):
        for data in FORGED:
            await person.press(card, forged=data.format(ticket=ticket.id))
            await person.expect_callback_answer()
    await settle(desk_app)
    assert await snapshot(desk_app) == before
    await victim_user.expect_no_message(within=0.2)
    assert len(desk_app.stand.delivered(staff_chat.id)) == posts  # toasts only, no posts
    assert await dead_letters(desk_app) == []


async def test_stale_buttons_are_refused(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.send("/cancel")
    await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")  # after /cancel
    assert await user.expect_callback_answer() == STALE

    await user.send("/complaint")
    fresh = await user.expect_message()
    await user.press(fresh, callback_data="c:choose:kind:customs")
    await user.expect_edit()
    await user.press(fresh, forged="c:choose:kind:online")  # an answered question
    assert await user.expect_callback_answer() == STALE
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.kind == "customs" and draft.step == "right"
    assert await dead_letters(app) == []


async def test_a_button_on_a_message_too_old_to_edit_answers_anew(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start")
    menu = await user.expect_message()
    await user.press(menu, "ℹ️ Help", inaccessible=True)
    await user.expect_callback_answer()
    screen = await user.expect_message()  # a new message: the old one cannot be edited
    assert screen["text"].startswith("What I can do")
    assert await dead_letters(app) == []


async def test_closed_tickets_cannot_be_chosen_again(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    first = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=first.topic_id)
    await user.press(
        desk_app.stand.chat_messages(user.chat_id)[-1], callback_data=f"t:leave:{first.id}"
    )
    await user.expect_message()
    await user.send("/mytickets")
    listing = await user.expect_message()
    await specialist.send("/close", chat=staff_chat, thread_id=first.topic_id)
    await user.expect_message()  # "closed" notice
    await user.press(listing, first.number)  # a closed ticket can be read, not written to
    await user.expect_callback_answer()
    page = await user.expect_edit()
    assert first.number in page["text"]
    async with desk_app.resources.sessionmaker() as session:
        stored = await session.get(User, user.id)
    assert stored is not None and stored.active_ticket_id is None
    assert await dead_letters(desk_app) == []
