"""Forwarded messages: a question when there is no ticket, an answer in the dialog, relayed with
their content while a ticket is active."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Draft, FaqQuery
from sandbox.driver import GroupDriver
from tests.abuse.support import count, dead_letters, file_ticket, settle
from tests.conftest import RunningBot
from tests.test_intake_dialog import PNG

UNSUPPORTED = "I can't work with this kind of message. Please send text or use the menu."


async def test_a_forwarded_text_is_a_question(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    friend = app.stand.create_user("Dana", language_code="ru")
    await user.send_forwarded("how do I register a trademark", origin=friend)
    await user.send_forwarded("how much does a patent cost", hidden_name="Someone")
    replies = await user.expect_messages(2)
    assert all(r["text"] != UNSUPPORTED for r in replies)
    await settle(app)  # a question is logged while its answer goes out
    assert await count(app, FaqQuery) == 2
    await friend.expect_no_message(within=0.2)  # the author is never written to
    assert await dead_letters(app) == []


async def test_a_forwarded_text_answers_the_dialogs_question(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:online")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:copyright")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    await user.send_forwarded("https://shop.example/fake-item-123", hidden_name="Seller")
    await user.expect_message()
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.location == "https://shop.example/fake-item-123"


async def test_forwards_reach_staff_with_their_content(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    seller = desk_app.stand.create_user("Seller", language_code="ru")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    await user.send_forwarded("Original ACME, 100% genuine, cash only", origin=seller)
    await user.send_photo(PNG, caption="the box they sent")
    copies = await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    assert copies[0]["text"] == "Original ACME, 100% genuine, cash only"
    assert copies[1]["caption"] == "the box they sent" and "photo" in copies[1]
    await seller.expect_no_message(within=0.2)
    assert await dead_letters(desk_app) == []
