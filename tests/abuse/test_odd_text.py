"""Zero-width and right-to-left characters, invisible "blank" letters, emoji-only input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Draft, Ticket
from sandbox.driver import GroupDriver
from tests.abuse.support import dead_letters, file_ticket, fill_complaint
from tests.conftest import RunningBot

# Each looks like nothing at all in a Telegram client.
BLANKS = {
    "zero-width spaces": "\u200b\u200b\u200b\u200b\u200b",
    "joiners and marks": "\u200d\u200c\u2060\ufeff\u200e\u200f\u00ad",
    "hangul fillers": "\u3164\u3164\u3164\u115f\u1160",
    "braille blanks": "\u2800\u2800\u2800",
}
RTL_OVERRIDE = "\u202e"  # shows the rest of the line backwards: "ACME\u202egpj.exe"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


async def at_location_step(app: RunningBot, name: str) -> object:
    user = app.stand.create_user(name, language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:online")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:copyright")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    return user


@pytest.mark.parametrize("blank", BLANKS.values(), ids=BLANKS.keys())
async def test_an_invisible_answer_is_too_short(app: RunningBot, blank: str) -> None:
    user = await at_location_step(app, "Jane")
    await user.send(blank)  # type: ignore[attr-defined]
    hint = await user.expect_message()  # type: ignore[attr-defined]
    assert hint["text"] == "That is too short: please write at least 3 characters."
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.step == "location" and draft.location is None
    assert await dead_letters(app) == []


async def test_direction_overrides_are_dropped_from_answers(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    answers = {
        "location": f"Almaty {RTL_OVERRIDE}market",
        "description": f"Fake goods \u2067sold\u2069 here {RTL_OVERRIDE}since May",
        "company": f"ACME{RTL_OVERRIDE}gpj.exe",
        "contact": f"{RTL_OVERRIDE}legal@acme.example",
    }
    ticket = await file_ticket(desk_app, user, answers)
    assert ticket.company == "ACMEgpj.exe"
    for value in (ticket.location, ticket.description, ticket.company, ticket.contact):
        assert not set(value) & set(BIDI_CONTROLS)
    [topic] = staff_chat.topics()
    assert not set(topic["name"]) & set(BIDI_CONTROLS)
    card = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert not set(card["text"]) & set(BIDI_CONTROLS)


async def test_emoji_only_answers_and_questions_are_taken(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="kk")
    answers = {
        "location": "📍🏪🛒",
        "description": "📱" * 10,
        "company": "🏭🏭",
        "contact": "📞 +7 701 123 45 67",
    }
    summary = await fill_complaint(app, user, answers)
    for value in answers.values():
        assert value in summary["text"]
    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()
    async with app.resources.sessionmaker() as session:
        ticket = await session.scalar(select(Ticket))
    assert ticket is not None and ticket.description == "📱" * 10
    await user.press(  # back to questions and answers: typed text is a question again
        app.stand.chat_messages(user.chat_id)[-1], callback_data=f"t:leave:{ticket.id}"
    )
    await user.expect_message()
    for question in ("🤔", "👍👍👍", "👨‍👩‍👧", "\u200b", f"{RTL_OVERRIDE}?"):
        await user.send(question)
        assert (await user.expect_message())["text"]
    assert await dead_letters(app) == []
