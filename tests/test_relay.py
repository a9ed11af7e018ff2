"""Hand-off and relay through the stand-in: a topic per ticket with its card and evidence,
the user's messages reach staff, staff replies reach the user, notes stay, strangers are refused."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import OutboxMessage, RelayedMessage, Ticket, User
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import eventually
from tests.test_intake_dialog import file_a_complaint


def ticket_topic_name(ticket: Ticket) -> str:
    return f"{ticket.number} · ACME Korea · Контрафактные товары · {ticket.language.upper()}"


async def filed(app: RunningBot, user: UserDriver) -> Ticket:
    """File a complaint and wait until its topic exists."""
    summary = await file_a_complaint(app, user)
    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()

    async def probe() -> Ticket | None:
        async with app.resources.sessionmaker() as session:
            return await session.scalar(select(Ticket).where(Ticket.user_id == user.id))

    ticket = await eventually(probe, lambda t: t is not None and t.topic_id is not None)
    if ticket is None or ticket.topic_id is None:
        raise AssertionError("the ticket got no topic")
    return ticket


async def test_a_ticket_gets_its_topic_card_and_evidence(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Minji", language_code="ko")
    ticket = await filed(desk_app, user)
    assert ticket.topic_id is not None
    [topic] = staff_chat.topics()
    assert topic["name"].startswith(f"{ticket.number} · ACME Korea ·") and topic["name"].endswith(
        "KO"
    )
    card = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert card["text"].startswith(f"🆕 {ticket.number}")
    assert "Контрафактные товары" in card["text"]  # the staff language (ru by default)
    evidence = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert "photo" in evidence


async def test_the_conversation_goes_both_ways(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Minji", language_code="ko")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)  # card, photo

    await user.send("추가 사진도 보낼 수 있습니까?")
    relayed = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert relayed["text"] == "추가 사진도 보낼 수 있습니까?"

    await specialist.send("Да, присылайте.", chat=staff_chat, thread_id=ticket.topic_id)
    answer = await user.expect_message()
    assert answer["text"] == "Да, присылайте."
    assert "Aigul" not in str(answer)  # a copy: the specialist's name is not shown

    await specialist.send("// проверить по реестру", chat=staff_chat, thread_id=ticket.topic_id)
    await user.expect_no_message(within=0.5)

    async with desk_app.resources.sessionmaker() as session:
        relays = list(await session.scalars(select(RelayedMessage).order_by(RelayedMessage.id)))
    assert [(r.direction, r.status) for r in relays] == [
        ("to_staff", "delivered"),
        ("to_user", "delivered"),
    ]


async def test_a_stranger_in_the_staff_chat_is_refused(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Minji", language_code="ko")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    stranger = desk_app.stand.create_user("Mallory", language_code="en")
    staff_chat.add_member(stranger)
    await stranger.send("give me the data", chat=staff_chat, thread_id=ticket.topic_id)
    refusal = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert refusal["text"] == "Действовать здесь могут только сотрудники; ничего не изменено."
    await user.expect_no_message(within=0.5)


async def test_a_deleted_topic_is_recreated_with_the_card_and_history(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    await user.send("The shop is on <b>Abay</b> street")
    await staff_chat.expect_message(thread_id=ticket.topic_id)
    await specialist.send("Спасибо, проверим", chat=staff_chat, thread_id=ticket.topic_id)
    await user.expect_message()
    await desk_app.bot.delete_forum_topic(staff_chat.id, ticket.topic_id)
    await user.send("Any news?")

    async def current() -> Ticket | None:
        async with desk_app.resources.sessionmaker() as session:
            return await session.get(Ticket, ticket.id)

    moved = await eventually(current, lambda t: t is not None and t.topic_id != ticket.topic_id)
    assert moved is not None and moved.topic_id not in (None, ticket.topic_id)
    # Named as the ticket stands now: the specialist's answer took it (🛠).
    assert [t["name"] for t in staff_chat.topics()] == [f"🛠 {ticket_topic_name(ticket)}"]
    notice, card, evidence, history, waiting = await staff_chat.expect_messages(
        5, thread_id=moved.topic_id
    )
    assert notice["text"] == (
        f"Прежняя тема {ticket.number} была удалена; переписка продолжается здесь."
    )
    assert card["text"].startswith(f"🆕 {ticket.number}")
    assert "photo" in evidence
    lines = history["text"].splitlines()
    assert lines[0] == f"🗂 {ticket.number}: история переписки (последние 3 из 3)"
    assert [line.split(" ", 2)[2] for line in lines[1:]] == [
        "👤 The shop is on <b>Abay</b> street",  # the user's own text, shown as written
        "💬 Спасибо, проверим",
        "👤 Any news?",
    ]
    assert waiting["text"] == "Any news?"  # the message that met the deleted topic, last
    async with desk_app.resources.sessionmaker() as session:
        stored = await session.get(Ticket, ticket.id)
    assert stored is not None and stored.card_message_id == card["message_id"]


async def test_a_blocked_user_is_marked_and_staff_are_told(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    user.block_bot()
    for text in ("First answer", "Second answer"):
        await specialist.send(text, chat=staff_chat, thread_id=ticket.topic_id)
    notice = await staff_chat.expect_message(thread_id=ticket.topic_id, timeout=10)
    assert notice["text"] == (
        f"Пользователь обращения {ticket.number} заблокировал бота: сообщения ему доставить нельзя."
    )

    async def to_user_statuses() -> list[str]:
        async with desk_app.resources.sessionmaker() as session:
            relays = await session.scalars(select(RelayedMessage))
            return sorted(r.status for r in relays if r.direction == "to_user")

    # The second answer waits its turn behind the first (pacing).
    statuses = await eventually(to_user_statuses, lambda s: s == ["blocked", "blocked"], within=6)
    async with desk_app.resources.sessionmaker() as session:
        stored = await session.get(User, user.id)
    assert statuses == ["blocked", "blocked"]
    assert stored is not None and stored.blocked_at is not None
    await staff_chat.expect_no_message(within=0.3, thread_id=ticket.topic_id)  # told once


async def test_leave_and_close(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    receipt = desk_app.stand.chat_messages(user.chat_id)[-1]
    await user.press(receipt, "↩️ Back to questions and answers")
    left = await user.expect_message()
    assert left["text"].startswith("Your messages now go to questions and answers again.")
    await user.send("how do I renew a trademark")  # an FAQ question again, not relayed
    await user.expect_message()
    await staff_chat.expect_no_message(within=0.3, thread_id=ticket.topic_id)

    await specialist.send("/close", chat=staff_chat, thread_id=ticket.topic_id)
    done = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert done["text"] == f"{ticket.number} закрыто; пользователь уведомлён."
    notice = await user.expect_message()
    assert notice["text"].startswith(f"Ticket {ticket.number} is closed.")
    async with desk_app.resources.sessionmaker() as session:
        closed = await session.get(Ticket, ticket.id)
    assert closed is not None and closed.status == "closed" and closed.closed_at is not None


async def test_delivery_is_marked_and_edits_are_mirrored(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    sent = await user.send("The shop is on <b>Abay</b> street")
    copy = await staff_chat.expect_message(thread_id=ticket.topic_id)
    await user.edit(sent, "The shop is on Dostyk street & Abay corner")
    edited = await staff_chat.expect_edit(thread_id=ticket.topic_id)
    assert edited["message_id"] == copy["message_id"]
    assert edited["text"] == "The shop is on Dostyk street & Abay corner"

    answer = await specialist.send("Спасибо", chat=staff_chat, thread_id=ticket.topic_id)
    received = await user.expect_message()
    await specialist.edit(answer, "Спасибо, проверим")
    assert (await user.expect_edit())["text"] == "Спасибо, проверим"
    assert received["text"] == "Спасибо"

    async def reactions() -> list:
        return [r for r in desk_app.stand.bot_requests("setMessageReaction") if r.ok]

    # Reactions are queued after delivery, at low priority.
    reacted = await eventually(reactions, lambda found: len(found) >= 2)
    marked = {(r.params["chat_id"], r.params["message_id"]) for r in reacted}
    assert (user.chat_id, sent["message_id"]) in marked
    assert (staff_chat.id, answer["message_id"]) in marked


async def test_my_tickets_lists_them_and_chooses_where_messages_go(
    desk_app: RunningBot, staff_chat: GroupDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    first = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=first.topic_id)
    summary = await file_a_complaint(desk_app, user, photos=0)
    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()

    async def second_ticket() -> Ticket | None:
        async with desk_app.resources.sessionmaker() as session:
            return await session.scalar(
                select(Ticket).where(Ticket.id != first.id, Ticket.topic_id.is_not(None))
            )

    second = await eventually(second_ticket, lambda t: t is not None)
    assert second is not None
    await staff_chat.expect_message(thread_id=second.topic_id)  # its card

    await user.send("/mytickets")
    listing = await user.expect_message()
    tz = desk_app.settings.tz
    assert listing["text"].splitlines()[1:3] == [
        f"{second.number} · new · {second.updated_at.astimezone(tz):%d.%m.%Y %H:%M} ◀️",
        f"{first.number} · new · {first.updated_at.astimezone(tz):%d.%m.%Y %H:%M}",
    ]
    await user.press(listing, first.number)
    page = await user.expect_edit()
    assert page["text"].startswith(f"Ticket {first.number} · new")
    assert "Your messages in this chat now go to this ticket." in page["text"]
    await user.send("About the first one")
    relayed = await staff_chat.expect_message(thread_id=first.topic_id)
    assert relayed["text"] == "About the first one"


async def test_an_edit_before_delivery_is_applied_on_delivery(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await filed(desk_app, user)
    await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    await specialist.send("First", chat=staff_chat, thread_id=ticket.topic_id)
    second = await specialist.send("Secnd", chat=staff_chat, thread_id=ticket.topic_id)
    await specialist.edit(second, "Second")  # the copy waits its turn (≈1 msg/s per chat)
    texts = [(await user.expect_message())["text"], (await user.expect_message())["text"]]
    # The copy is made from the source as it is at send time; the stored edit, applied on
    # delivery, then changes nothing (Telegram's "not modified" counts as done).
    assert texts == ["First", "Second"]
    await user.expect_no_message(within=0.5)

    async def unfinished() -> int:
        async with desk_app.resources.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.not_in(("done",)))
            )
            return int(count or 0)

    assert await eventually(unfinished, lambda n: n == 0, within=3) == 0
