"""One person's data is never shown to another. Aliya has a ticket, an unfinished draft, a vote
and a logged question; Bek tries every command, presses every button he is shown (and forges
the ones that name Aliya's ticket), and must see none of it, nor change any of it."""

from __future__ import annotations

from collections import deque

from sqlalchemy import select

from db.models import Draft, FaqFeedback, FaqQuery, Ticket, User
from sandbox.driver import GroupDriver, UserDriver
from tests.abuse.support import dead_letters, file_ticket, settle, unthrottled
from tests.conftest import RunningBot

ALIYA = {
    "location": "Hidden street 7, Almaty",
    "description": "Confidential: fake watches, batch A-777",
    "company": "SecretCo A1",
    "contact": "aliya.private@secret.example",
}
DRAFT_LOCATION = "Draft street A-draft"
QUESTION = "how do I register a trademark"
COMMANDS = (
    "/start",
    "/help",
    "/privacy",
    "/language",
    "/faq",
    "/mytickets",
    "/cancel",
    "/deleteme",
    "/complaint",
    "/cancel",
    "/close",
    "/stats",
    "/export",
)
MAX_PRESSES = 120


async def aliya_state(app: RunningBot, aliya: UserDriver) -> tuple:
    async with app.resources.sessionmaker() as session:
        user = await session.get(User, aliya.id)
        tickets = await session.scalars(select(Ticket).where(Ticket.user_id == aliya.id))
        drafts = await session.scalars(select(Draft).where(Draft.user_id == aliya.id))
        votes = await session.scalars(select(FaqFeedback).where(FaqFeedback.user_id == aliya.id))
        questions = await session.scalars(select(FaqQuery).where(FaqQuery.user_id == aliya.id))
        return (
            (user.language, user.active_ticket_id, user.first_name) if user else None,
            [(t.id, t.status, t.closed_at, t.company) for t in tickets],
            [(d.id, d.step, d.location, d.submitted_at) for d in drafts],
            [(v.entry_id, v.helpful) for v in votes],
            [q.text for q in questions],
        )


def shown_to(app: RunningBot, person: UserDriver, since: int) -> list[str]:
    """Everything the bot showed this person after event `since`: texts, buttons, toasts."""
    account = app.stand.world.bots[app.bot.id]
    shown = []
    for event in app.stand.world.events.events[since:]:
        if event.from_bot and event.chat_id == person.chat_id and event.message:
            shown.append(str(event.message))
    for pending in account.callbacks.values():
        if pending.query["from"]["id"] == person.id and pending.answer is not None:
            shown.append(pending.answer.text or "")
    return shown


async def test_bek_sees_and_changes_nothing_of_aliyas(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    unthrottled(desk_app)  # Bek presses faster than any person
    aliya = desk_app.stand.create_user("Aliya Secretova", language_code="ru", username="aliya_s")
    ticket = await file_ticket(desk_app, aliya, ALIYA)
    await staff_chat.expect_message(thread_id=ticket.topic_id)
    receipt = desk_app.stand.chat_messages(aliya.chat_id)[-1]
    await aliya.press(receipt, callback_data=f"t:leave:{ticket.id}")
    await aliya.expect_message()
    await aliya.send(QUESTION)
    answer = await aliya.expect_message()
    votes = [b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    await aliya.press(answer, callback_data=next(d for d in votes if d.startswith("fv:")))
    await aliya.expect_callback_answer()
    await aliya.expect_message()  # after a first 👍: the one-time question about announcements
    await aliya.send("/complaint")
    kinds = await aliya.expect_message()
    await aliya.press(kinds, callback_data="c:choose:kind:customs")
    await aliya.press(await aliya.expect_edit(), callback_data="c:choose:right:patent")
    await aliya.press(await aliya.expect_edit(), callback_data="c:skip:registration:")
    await aliya.expect_edit()
    await aliya.send(DRAFT_LOCATION)
    await aliya.expect_message()
    await settle(desk_app)
    before = await aliya_state(desk_app, aliya)
    aliya_seen = len(desk_app.stand.delivered(aliya.chat_id))
    since = len(desk_app.stand.world.events.events)

    bek = desk_app.stand.create_user("Bek", language_code="ru")
    for command in COMMANDS:
        await bek.send(command)
        await settle(desk_app)
    forged = [f"t:open:{ticket.id}", f"t:leave:{ticket.id}", "c:field:location:", "c:confirm::"]
    pressed: set[str] = set()
    queue: deque[tuple[dict, str]] = deque()
    first = desk_app.stand.chat_messages(bek.chat_id)[-1]
    queue.extend((first, data) for data in forged)
    seen_events = since
    presses = 0
    while presses < MAX_PRESSES:
        for event in desk_app.stand.world.events.events[seen_events:]:
            if event.from_bot and event.chat_id == bek.chat_id and event.message:
                markup = event.message.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        data = button.get("callback_data")
                        if data and data not in pressed:
                            pressed.add(data)
                            queue.append((event.message, data))
        seen_events = len(desk_app.stand.world.events.events)
        if not queue:
            break
        message, data = queue.popleft()
        if message["message_id"] not in bek.private_chat().messages:
            continue  # deleted meanwhile
        await bek.press(message, forged=data)
        presses += 1
        await settle(desk_app)
    assert presses >= 30, f"only {presses} buttons were reached"

    shown = "\n".join(shown_to(desk_app, bek, since))
    for secret in (
        *ALIYA.values(),
        DRAFT_LOCATION,
        QUESTION,
        ticket.number,
        "Secretova",
        "aliya_s",
    ):
        assert secret not in shown, f"Bek was shown {secret!r}"
    assert await aliya_state(desk_app, aliya) == before
    assert len(desk_app.stand.delivered(aliya.chat_id)) == aliya_seen  # nothing sent to her
    assert await dead_letters(desk_app) == []
