"""HTML in everything a person writes: shown literally, never interpreted. The stand-in parses
the bot's HTML as Telegram does, so an unescaped payload would either be refused (a failed
send) or turn into formatting, a link or a spoiler (extra entities)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from db.models import Ticket
from sandbox.driver import GroupDriver, UserDriver
from tests.abuse.support import DEFAULT_ANSWERS, dead_letters, file_ticket, fill_complaint
from tests.conftest import RunningBot
from tests.helpers import eventually

PAYLOAD = (
    '<b>bold</b> <a href="https://evil.example">link</a> </code> &amp; &lt; '
    "<tg-spoiler>x</tg-spoiler> <script>alert(1)</script> \" ' & < >"
)
INJECTED = {
    "location": f"{PAYLOAD} market",
    "description": f"{PAYLOAD}\nsince May",
    "company": f"ACME {PAYLOAD}"[:256],
    "contact": f"{PAYLOAD} evil@example.kz",
}


# What Telegram finds by itself in any text (links, commands, e-mails) is not formatting.
DETECTED = {"url", "email", "bot_command", "mention", "hashtag", "cashtag", "phone_number"}


def entity_types(message: dict) -> Counter[str]:
    """The formatting of a message: what HTML (or the sender) made, not what was detected."""
    return Counter(e["type"] for e in message.get("entities") or [] if e["type"] not in DETECTED)


async def test_complaint_fields_are_shown_literally_to_the_user_and_to_staff(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    plain_user = desk_app.stand.create_user("Plain", language_code="en")
    plain = await fill_complaint(desk_app, plain_user, DEFAULT_ANSWERS)
    user = desk_app.stand.create_user(f"Eve {PAYLOAD}"[:64], language_code="en")
    summary = await fill_complaint(desk_app, user, INJECTED)
    for value in INJECTED.values():
        assert value in summary["text"]
    assert entity_types(summary) == entity_types(plain)  # only the bot's own labels

    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()
    await plain_user.press(plain, callback_data="c:confirm::")
    await plain_user.expect_edit()

    async def tickets() -> list[Ticket]:
        async with desk_app.resources.sessionmaker() as session:
            return list(await session.scalars(select(Ticket).where(Ticket.topic_id.is_not(None))))

    await eventually(tickets, lambda found: len(found) == 2)
    cards = [await staff_chat.expect_message(), await staff_chat.expect_message()]
    injected_card = next(card for card in cards if "<b>bold</b>" in card["text"])
    plain_card = next(card for card in cards if card is not injected_card)
    for value in INJECTED.values():
        assert value in injected_card["text"]
    assert entity_types(injected_card) == entity_types(plain_card)
    names = [topic["name"] for topic in staff_chat.topics()]
    assert any("ACME <b>bold</b>" in name for name in names)  # topic names are plain text
    assert await dead_letters(desk_app) == []


async def test_a_name_and_a_command_are_echoed_literally(app: RunningBot) -> None:
    user = app.stand.create_user("<i>Eve</i> &amp; <b>", language_code="en")
    await user.send("/start")
    welcome = await user.expect_message()
    assert welcome["text"].startswith("Hello, <i>Eve</i> &amp; <b>!")
    await user.send("/x<b>&amp;")
    unknown = await user.expect_message()
    assert "/x<b>&amp;" in unknown["text"]
    assert entity_types(unknown) == Counter({"code": 1})
    assert await dead_letters(app) == []


async def test_relayed_texts_and_their_edits_stay_literal(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    sent = await user.send(PAYLOAD)
    copy = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert copy["text"] == PAYLOAD and entity_types(copy) == Counter()
    await user.edit(sent, f"{PAYLOAD} (edited)")
    edited = await staff_chat.expect_edit(thread_id=ticket.topic_id)
    assert edited["text"] == f"{PAYLOAD} (edited)" and entity_types(edited) == Counter()

    answer = await specialist.send(PAYLOAD, chat=staff_chat, thread_id=ticket.topic_id)
    received = await user.expect_message()
    assert received["text"] == PAYLOAD and entity_types(received) == Counter()
    await specialist.edit(answer, f"{PAYLOAD}!")
    assert (await user.expect_edit())["text"] == f"{PAYLOAD}!"
    assert await dead_letters(desk_app) == []
