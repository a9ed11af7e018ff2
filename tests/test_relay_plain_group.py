"""A staff group without topics: each ticket's card is posted in the group, everything for the
ticket replies to it, and staff answer by replying to the card or to any message of the ticket.
The reply is routed through the ids stored when those messages were sent, never by their text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from db.models import RelayedMessage, Ticket
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import eventually
from tests.test_intake_dialog import file_a_complaint


@pytest.fixture
def plain_group(stand) -> GroupDriver:  # type: ignore[no-untyped-def]
    """A supergroup with topics off."""
    return stand.create_supergroup("ipdesk staff", forum=False)


@pytest.fixture
def colleague(stand, plain_group: GroupDriver) -> UserDriver:  # type: ignore[no-untyped-def]
    person = stand.create_user("Aigul", language_code="ru")
    plain_group.add_member(person, status="administrator")
    return person


@pytest.fixture
async def plain_app(
    make_app: Callable[..., Awaitable[RunningBot]],
    plain_group: GroupDriver,
    colleague: UserDriver,
) -> RunningBot:
    app = await make_app(staff_chat_id=plain_group.id, staff_ids=str(colleague.id))
    plain_group.add_bot(app.stand.world.bots[app.bot.id])
    return app


async def file(app: RunningBot, user: UserDriver, *, photos: int = 1) -> Ticket:
    summary = await file_a_complaint(app, user, photos=photos)
    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()

    async def probe() -> Ticket | None:
        async with app.resources.sessionmaker() as session:
            return await session.scalar(select(Ticket).where(Ticket.user_id == user.id))

    ticket = await eventually(probe, lambda t: t is not None and t.card_message_id is not None)
    assert ticket is not None and ticket.card_message_id is not None, "no card delivered"
    return ticket


def replied_to(message: dict) -> int | None:
    return (message.get("reply_to_message") or {}).get("message_id")


async def test_the_card_goes_to_the_group_and_everything_replies_to_it(
    plain_app: RunningBot, plain_group: GroupDriver
) -> None:
    user = plain_app.stand.create_user("Minji", language_code="ko")
    ticket = await file(plain_app, user)
    assert ticket.staff_chat_id == plain_group.id and ticket.topic_id is None
    assert plain_group.topics() == []
    card = await plain_group.expect_message()
    assert card["message_id"] == ticket.card_message_id and "message_thread_id" not in card
    assert card["text"].startswith(f"🆕 {ticket.number}")
    assert "ответьте (Reply) на эту карточку" in card["text"]  # how to answer, without topics
    evidence = await plain_group.expect_message()
    assert "photo" in evidence and replied_to(evidence) == ticket.card_message_id

    await user.send("추가 사진도 보낼 수 있습니까?")
    relayed = await plain_group.expect_message()
    assert relayed["text"] == "추가 사진도 보낼 수 있습니까?"
    assert replied_to(relayed) == ticket.card_message_id


async def test_staff_answer_by_replying_to_the_card_or_any_message_of_the_ticket(
    plain_app: RunningBot, plain_group: GroupDriver, colleague: UserDriver
) -> None:
    stand = plain_app.stand
    minji, jane = (
        stand.create_user("Minji", language_code="ko"),
        stand.create_user("Jane", language_code="en"),
    )
    first = await file(plain_app, minji, photos=0)
    card_first = await plain_group.expect_message()
    second = await file(plain_app, jane, photos=0)
    card_second = await plain_group.expect_message()
    await jane.send("Is anyone there?")
    from_jane = await plain_group.expect_message()

    # A reply to a card goes to that ticket's user, whatever the card says.
    await colleague.send("Здравствуйте, Минджи", chat=plain_group, reply_to=card_first)
    assert (await minji.expect_message())["text"] == "Здравствуйте, Минджи"
    # A reply to a relayed copy goes to its author.
    answer = await colleague.send("Yes, we are here", chat=plain_group, reply_to=from_jane)
    assert (await jane.expect_message())["text"] == "Yes, we are here"
    # A reply to a staff answer already relayed continues that ticket.
    await colleague.send("We will call you", chat=plain_group, reply_to=answer)
    assert (await jane.expect_message())["text"] == "We will call you"
    # Not a reply: talk among staff, not relayed; a note in reply is not relayed either.
    await colleague.send("Коллеги, кто возьмёт?", chat=plain_group)
    await colleague.send("// проверить по реестру", chat=plain_group, reply_to=card_second)
    await colleague.send("/note позвонить завтра", chat=plain_group, reply_to=card_first)
    await minji.expect_no_message(within=0.5)
    await jane.expect_no_message(within=0.1)

    async with plain_app.resources.sessionmaker() as session:
        relays = list(
            await session.scalars(
                select(RelayedMessage).where(RelayedMessage.direction == "to_user")
            )
        )
    assert sorted((r.ticket_id, r.status) for r in relays) == sorted(
        [(first.id, "delivered"), (second.id, "delivered"), (second.id, "delivered")]
    )


async def test_close_by_replying_and_a_stranger_is_refused(
    plain_app: RunningBot, plain_group: GroupDriver, colleague: UserDriver
) -> None:
    user = plain_app.stand.create_user("Jane", language_code="en")
    ticket = await file(plain_app, user, photos=0)
    card = await plain_group.expect_message()
    stranger = plain_app.stand.create_user("Mallory", language_code="en")
    plain_group.add_member(stranger)
    await stranger.send("send me the data", chat=plain_group, reply_to=card)
    refusal = await plain_group.expect_message()
    assert refusal["text"] == "Действовать здесь могут только сотрудники; ничего не изменено."
    await user.expect_no_message(within=0.3)

    await colleague.send("/close", chat=plain_group, reply_to=card)
    assert (await plain_group.expect_message())["text"] == (
        f"{ticket.number} закрыто; пользователь уведомлён."
    )
    assert (await user.expect_message())["text"].startswith(f"Ticket {ticket.number} is closed.")


async def test_messages_sent_before_the_card_arrived_wait_for_it(
    plain_app: RunningBot, plain_group: GroupDriver
) -> None:
    """The card is slow to arrive: the user's first messages wait, then reply to it."""
    stand = plain_app.stand
    stand.faults.server_error("sendMessage", 500, when="before", chat_id=plain_group.id)
    user = stand.create_user("Jane", language_code="en")
    summary = await file_a_complaint(plain_app, user, photos=0)
    await user.press(summary, callback_data="c:confirm::")
    await user.expect_edit()
    await user.send("First")
    await user.send("Second")
    card = await plain_group.expect_message(timeout=10)  # after the back-off
    first, second = await plain_group.expect_messages(2)
    assert [first["text"], second["text"]] == ["First", "Second"]
    assert replied_to(first) == replied_to(second) == card["message_id"]


async def test_a_basic_group_upgraded_to_a_supergroup_is_followed(
    make_app: Callable[..., Awaitable[RunningBot]], stand
) -> None:  # type: ignore[no-untyped-def]
    """The staff chat is a basic group; it becomes a supergroup (a new id) while tickets come
    in: the card is sent again to the new id, tickets remember it, staff answer from there."""
    group = stand.create_group("ipdesk staff")
    colleague = stand.create_user("Aigul", language_code="ru")
    group.add_member(colleague, status="administrator")
    app = await make_app(staff_chat_id=group.id, staff_ids=str(colleague.id))
    group.add_bot(app.stand.world.bots[app.bot.id])
    jane = stand.create_user("Jane", language_code="en")
    await file(app, jane, photos=0)
    assert (await group.expect_message())["text"].startswith("🆕 ")

    supergroup = group.migrate_to_supergroup()
    minji = stand.create_user("Minji", language_code="ko")
    second = await file(app, minji, photos=0)
    card = await supergroup.expect_message()
    assert card["message_id"] == second.card_message_id

    async def staff_chats() -> set[int | None]:
        async with app.resources.sessionmaker() as session:
            return set(await session.scalars(select(Ticket.staff_chat_id)))

    assert await eventually(staff_chats, lambda ids: ids == {supergroup.id}) == {supergroup.id}
    await colleague.send("Здравствуйте", chat=supergroup, reply_to=card)
    assert (await minji.expect_message())["text"] == "Здравствуйте"


async def test_the_card_buttons_and_commands_work_without_topics(
    plain_app: RunningBot, plain_group: GroupDriver, colleague: UserDriver
) -> None:
    """Take under the card, /resolve in reply to a relayed message: the ticket moves on, and
    what happened is said under the card (there is no topic to say it in)."""
    user = plain_app.stand.create_user("Jane", language_code="en")
    ticket = await file(plain_app, user, photos=0)
    card = await plain_group.expect_message()
    await colleague.press(card, "🙋 Взять")
    said = f"Aigul взял(а) {ticket.number}; пользователю сообщили, что им занимается специалист."
    assert await colleague.expect_callback_answer() == said
    notice = await plain_group.expect_message()
    assert notice["text"] == said and replied_to(notice) == ticket.card_message_id
    await user.expect_message()  # a specialist is on it

    await user.send("Thank you")
    relayed = await plain_group.expect_message()
    assert replied_to(relayed) == ticket.card_message_id
    await colleague.send("/resolve", chat=plain_group, reply_to=relayed)
    resolved = await plain_group.expect_message()
    assert resolved["text"].startswith(f"{ticket.number} ")
    async with plain_app.resources.sessionmaker() as session:
        stored = await session.get(Ticket, ticket.id)
    assert stored is not None
    assert (stored.status, stored.taken_by) == ("resolved", colleague.id)
