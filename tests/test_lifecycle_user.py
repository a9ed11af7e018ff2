"""A ticket's life as its user lives it: the rating after "resolved", writing again within the
reopen window and after it, and /mytickets with several tickets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import Ticket, User
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import buttons, eventually, tr
from tests.lifecycle_support import Team, start_team


@pytest.fixture
async def team(
    make_app: Callable[..., Awaitable[RunningBot]], staff_chat: GroupDriver, specialist: UserDriver
) -> Team:
    return await start_team(make_app, staff_chat, specialist)


async def resolved(team: Team, user: UserDriver) -> tuple[Ticket, dict]:
    """A ticket answered by Aigul and resolved; (ticket, the user's rating prompt)."""
    ticket, _card = await team.file(user)
    await team.aigul.send("Мы проверили магазин.", chat=team.chat, thread_id=ticket.topic_id)
    await user.expect_message()
    await team.say(team.aigul, "/resolve", ticket)
    prompt = await user.expect_message()
    return await team.ticket(ticket.id), prompt


async def test_rating_with_a_comment(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, prompt = await resolved(team, user)
    await user.press(prompt, "4 ⭐")
    thanks = await user.expect_edit()
    assert thanks["text"].startswith("Thank you! You rated our help 4 out of 5.")
    assert buttons(thanks) == ["Skip"]
    told = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert told["text"] == f"⭐ Пользователь оценил помощь по {ticket.number}: 4 из 5."

    await user.send("Quick and clear, thank you")
    assert (await user.expect_message())["text"] == (
        "Thank you, your comment has been passed on to our staff."
    )
    told = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert told["text"].endswith("Комментарий: Quick and clear, thank you")
    stored = await team.ticket(ticket.id)
    assert (stored.csat_score, stored.csat_comment) == (4, "Quick and clear, thank you")
    assert stored.rated_at is not None and stored.status == "resolved"
    # The comment was not relayed as a message, nor did it reopen the ticket.
    assert [m["text"] for m in team.chat.messages(ticket.topic_id) if "text" in m][-1] == (
        told["text"]
    )


async def test_rating_without_a_comment_and_a_forged_score(team: Team) -> None:
    user = team.app.stand.create_user("Minji", language_code="ko")
    ticket, prompt = await resolved(team, user)
    await user.press(prompt, "5 ⭐")
    await user.expect_edit()
    await team.chat.expect_message(thread_id=ticket.topic_id)  # "rated 5 of 5"
    await user.press(user.stand.chat_messages(user.chat_id)[-1], callback_data="rt:0:0")
    assert (await user.expect_edit())["text"] == tr(
        team.app.resources.i18n, "ko", "Thank you for your rating."
    )
    other = team.app.stand.create_user("Mallory", language_code="en")
    await other.send("/start")
    start = await other.expect_message()
    await other.press(start, forged=f"rt:{ticket.id}:1")  # not their ticket
    assert (await other.expect_callback_answer() or "").startswith("This button is no longer")
    await user.press(prompt, forged=f"rt:{ticket.id}:9")  # not a score
    await user.expect_callback_answer()
    stored = await team.ticket(ticket.id)
    assert (stored.csat_score, stored.csat_comment) == (5, None)
    # An ordinary message after the skipped comment goes to staff again (and reopens).
    await user.send("사진 한 장 더 보냅니다")
    texts = [m["text"] for m in await team.chat.expect_messages(2, thread_id=ticket.topic_id)]
    assert texts[-1] == "사진 한 장 더 보냅니다"


async def test_writing_within_the_window_reopens_the_ticket(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, _prompt = await resolved(team, user)
    assert ticket.resolved_at is not None
    team.set_clock(ticket.resolved_at + timedelta(days=6, hours=23))
    await user.send("The shop is selling them again")
    reopened = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert reopened["text"] == f"🔁 Пользователь написал снова: {ticket.number} снова открыто."
    relayed = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert relayed["text"] == "The shop is selling them again"
    assert (await user.expect_message())["text"] == (
        f"Ticket {ticket.number} is open again: what you write here goes to our staff."
    )
    stored = await team.ticket(ticket.id)
    assert (stored.status, stored.taken_by, stored.resolved_at) == (
        "in_progress",
        team.aigul.id,
        None,
    )
    assert stored.reopened_at is not None
    assert [kind for kind, *_ in await team.events(ticket.id)][-1] == "reopened"


async def test_writing_after_the_window_starts_a_linked_ticket(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    old, _prompt = await resolved(team, user)
    assert old.resolved_at is not None
    team.set_clock(old.resolved_at + timedelta(days=7, minutes=1))
    await user.send("It started again in another shop")

    async def follow_up() -> Ticket | None:
        async with team.app.resources.sessionmaker() as session:
            return await session.scalar(
                select(Ticket).where(
                    Ticket.previous_ticket_id == old.id, Ticket.topic_id.is_not(None)
                )
            )

    new = await eventually(follow_up, lambda t: t is not None)
    assert new is not None and new.id != old.id
    assert (new.status, new.user_id, new.company, new.kind) == (
        "new",
        user.id,
        "ACME Korea",
        old.kind,
    )
    card = await team.chat.expect_message(thread_id=new.topic_id)
    assert card["text"].startswith(f"🆕 {new.number}")
    assert f"№ {old.id:06d} (/find {old.id:06d})" in card["text"]
    relayed = await team.chat.expect_message(thread_id=new.topic_id)
    assert relayed["text"] == "It started again in another shop"
    note = await team.chat.expect_message(thread_id=old.topic_id)
    assert note["text"].startswith("↩️ Пользователь написал снова спустя больше недели")
    assert new.number in note["text"]
    told = await user.expect_message()
    assert told["text"] == (
        f"Ticket {old.number} was resolved more than 7 days ago, so your message starts a new "
        f"ticket, {new.number}, linked to it. Our staff will answer here."
    )
    stored_old = await team.ticket(old.id)
    assert stored_old.status == "closed" and stored_old.closed_at is not None
    async with team.app.resources.sessionmaker() as session:
        stored_user = await session.get(User, user.id)
    assert stored_user is not None and stored_user.active_ticket_id == new.id
    # The next message goes to the new ticket, with no second follow-up.
    await user.send("Photos follow")
    again = await team.chat.expect_message(thread_id=new.topic_id)
    assert again["text"] == "Photos follow"


async def test_mytickets_with_several_tickets(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    first, _prompt = await resolved(team, user)
    second, _card = await team.file(user)
    third, _card = await team.file(user)
    await team.say(team.aigul, "/close", third)
    await user.expect_message()  # "closed": the person's messages go to the FAQ again
    await user.send("/mytickets")
    listing = await user.expect_message()
    await user.press(listing, second.number)
    await user.expect_edit()
    await user.send("A question about the second one")
    await team.chat.expect_message(thread_id=second.topic_id)

    await user.send("/mytickets")
    listing = await user.expect_message()
    tz = team.app.settings.tz
    lines = listing["text"].splitlines()
    latest = {t.id: await team.ticket(t.id) for t in (first, second, third)}

    def row(ticket: Ticket, status: str, mark: str = "") -> str:
        when = latest[ticket.id].updated_at.astimezone(tz)
        return f"{ticket.number} · {status} · {when:%d.%m.%Y %H:%M}{mark}"

    assert lines[0] == "Your tickets"
    assert lines[1:4] == [
        row(second, "new", " ◀️"),
        row(first, "resolved"),
        row(third, "closed"),
    ]
    assert buttons(listing) == [second.number, first.number, third.number]

    await user.press(listing, first.number)
    page = await user.expect_edit()
    text = page["text"]
    assert text.startswith(f"Ticket {first.number} · resolved")
    assert "Messages: 0 from you, 1 from our staff." in text
    assert "Resolved on" in text and "Your messages in this chat now go to this ticket." in text
    assert buttons(page) == ["✍️ Add information", "✅ Close the ticket", "⬅️ All tickets"]
    async with team.app.resources.sessionmaker() as session:
        stored_user = await session.get(User, user.id)
    assert stored_user is not None and stored_user.active_ticket_id == first.id

    await user.press(page, "✍️ Add information")
    assert (await user.expect_edit())["text"].startswith(
        f"Write what you want to add to {first.number}"
    )
    await user.send("Here is the court decision")  # reopens the resolved one, within the window
    texts = [m["text"] for m in await team.chat.expect_messages(2, thread_id=first.topic_id)]
    assert texts == [
        f"🔁 Пользователь написал снова: {first.number} снова открыто.",
        "Here is the court decision",
    ]
    await user.expect_message()  # "open again"

    await user.send("/mytickets")
    listing = await user.expect_message()
    await user.press(listing, third.number)
    closed_page = await user.expect_edit()
    assert closed_page["text"].startswith(f"Ticket {third.number} · closed")
    assert buttons(closed_page) == ["⬅️ All tickets"]
    await user.press(closed_page, "⬅️ All tickets")
    back = await user.expect_edit()
    assert back["text"].splitlines()[2].startswith(f"{first.number} · in progress")

    await user.press(back, first.number)
    page = await user.expect_edit()
    await user.press(page, "✅ Close the ticket")
    done = await user.expect_edit()
    assert done["text"].startswith(f"Ticket {first.number} is closed.")
    assert "How would you rate our help?" in done["text"]  # answered, never rated
    told = await team.chat.expect_message(thread_id=first.topic_id)
    assert told["text"] == f"🔒 Пользователь закрыл {first.number}."
    await user.press(done, "2 ⭐")
    await user.expect_edit()
    stored = await team.ticket(first.id)
    assert (stored.status, stored.csat_score) == ("closed", 2)
    async with team.app.resources.sessionmaker() as session:
        stored_user = await session.get(User, user.id)
    assert stored_user is not None and stored_user.active_ticket_id is None


async def test_someone_elses_ticket_cannot_be_opened_or_closed(team: Team) -> None:
    owner = team.app.stand.create_user("Jane", language_code="en")
    ticket, _card = await team.file(owner)
    other = team.app.stand.create_user("Mallory", language_code="en")
    await other.send("/mytickets")
    empty = await other.expect_message()
    assert empty["text"] == "You have no tickets yet. To file a complaint, send /complaint."
    for action in ("open", "add", "close"):
        await other.press(empty, forged=f"t:{action}:{ticket.id}")
        assert (await other.expect_callback_answer() or "").startswith("This button is no longer")
    stored = await team.ticket(ticket.id)
    assert stored.status == "new"


@pytest.mark.parametrize("lang", ["kk", "ru", "ko", "en"])
async def test_lifecycle_notices_in_each_language(team: Team, lang: str) -> None:
    user = team.app.stand.create_user("Client", language_code=lang)
    ticket, _card = await team.file(user)
    i18n = team.app.resources.i18n
    await team.say(team.aigul, "/take", ticket)
    taken = tr(
        i18n,
        lang,
        "👩\u200d💼 A specialist is now working on your ticket {number}. "
        "They will write to you here.",
    )
    assert (await user.expect_message())["text"] == taken.format(number=ticket.number)
    await team.say(team.aigul, "/resolve", ticket)
    prompt = (await user.expect_message())["text"]
    question = tr(i18n, lang, "How would you rate our help?")
    assert prompt.endswith(question) and ticket.number in prompt
