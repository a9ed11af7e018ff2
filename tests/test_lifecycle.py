"""A ticket's life as staff drive it, through the stand-in: the card's buttons, the topic
commands, the Take race, assignment by @name, notes, lists and search, and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.profile import publish_staff_commands
from db.models import OutboxMessage, StaffHandle, Ticket, TicketEvent, User
from sandbox.driver import GroupDriver, UserDriver
from tests.abuse.support import unthrottled
from tests.conftest import RunningBot
from tests.helpers import buttons, eventually
from tests.lifecycle_support import MONDAY_10, Team, start_team

TAKE, RESOLVE, CLOSE = "🙋 Взять", "✅ Решено", "🔒 Закрыть"


@pytest.fixture
async def team(
    make_app: Callable[..., Awaitable[RunningBot]], staff_chat: GroupDriver, specialist: UserDriver
) -> Team:
    return await start_team(make_app, staff_chat, specialist)


async def test_the_card_has_take_resolve_close(team: Team) -> None:
    user = team.app.stand.create_user("Minji", language_code="ko")
    _ticket, card = await team.file(user)
    assert buttons(card) == [TAKE, RESOLVE, CLOSE]


async def test_take_tells_the_user_in_their_language_and_the_topic(team: Team) -> None:
    user = team.app.stand.create_user("Minji", language_code="ko")
    ticket, card = await team.file(user)
    await team.aigul.press(card, TAKE)
    toast = await team.aigul.expect_callback_answer()
    said = f"Aigul взял(а) {ticket.number}; пользователю сообщили, что им занимается специалист."
    assert toast == said
    assert (await team.chat.expect_message(thread_id=ticket.topic_id))["text"] == said
    notice = await user.expect_message()
    assert notice["text"] == (
        f"👩\u200d💼 이제 담당자가 접수번호 {ticket.number} 민원을 처리하고 있습니다. "
        "이곳으로 연락드리겠습니다."
    )
    stored = await team.ticket(ticket.id)
    assert (stored.status, stored.taken_by) == ("in_progress", team.aigul.id)
    assert stored.taken_at is not None
    assert await team.events(ticket.id) == [("taken", team.aigul.id, None)]


async def test_two_staff_pressing_take_at_once_one_wins(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, card = await team.file(user)
    # Both presses are in the bot's next batch of updates, handled side by side.
    await team.aigul.press(card, TAKE)
    await team.daniyar.press(card, TAKE)
    answers = {p.id: await p.expect_callback_answer() for p in (team.aigul, team.daniyar)}
    stored = await team.ticket(ticket.id)
    winner = stored.taken_by
    assert winner in (team.aigul.id, team.daniyar.id)
    loser = team.daniyar.id if winner == team.aigul.id else team.aigul.id
    winner_name = "Aigul" if winner == team.aigul.id else "@daniyar_k"
    assert answers[loser] == f"{ticket.number} уже взял(а) {winner_name}."
    assert answers[winner].startswith(f"{winner_name} взял(а) {ticket.number}")
    assert [kind for kind, *_ in await team.events(ticket.id)] == ["taken"]
    # The user heard it once; the topic heard the winner once.
    assert (await user.expect_message())["text"].startswith("👩\u200d💼 A specialist")
    await user.expect_no_message(within=0.5)
    said = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert said["text"].startswith(f"{winner_name} взял(а)")
    await team.chat.expect_no_message(within=0.3, thread_id=ticket.topic_id)


async def test_commands_take_a_ticket_through_its_life(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, _card = await team.file(user)
    number = ticket.number

    reply = await team.say(team.aigul, "/take", ticket)
    assert reply["text"].startswith(f"Aigul взял(а) {number}")
    assert (await user.expect_message())["text"].startswith("👩\u200d💼 A specialist is now")
    reply = await team.say(team.daniyar, "/take", ticket)
    assert reply["text"] == f"{number} уже взял(а) Aigul."
    reply = await team.say(team.aigul, "/take", ticket)
    assert reply["text"] == f"{number} уже в статусе «в работе»."

    reply = await team.say(team.aigul, "/resolve", ticket)
    assert reply["text"] == f"{number} решено; пользователя попросили оценить помощь."
    resolved = await user.expect_message()
    assert resolved["text"].startswith(f"✅ Your ticket {number} is resolved.")
    assert buttons(resolved) == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    reply = await team.say(team.aigul, "/take", ticket)
    assert reply["text"] == f"{number} в статусе «решено»: сейчас это сделать нельзя."

    reply = await team.say(team.aigul, "/close", ticket)
    assert reply["text"] == f"{number} закрыто; пользователь уведомлён."
    assert (await user.expect_message())["text"].startswith(f"Ticket {number} is closed.")
    reply = await team.say(team.aigul, "/close", ticket)
    assert reply["text"] == f"{number} уже в статусе «закрыто»."
    async with team.app.resources.sessionmaker() as session:
        stored_user = await session.get(User, user.id)
    assert stored_user is not None and stored_user.active_ticket_id is None

    reply = await team.say(team.daniyar, "/reopen", ticket)
    assert reply["text"] == f"{number} снова открыто; сообщения пользователя попадают в него."
    assert (await user.expect_message())["text"] == (
        f"Ticket {number} is open again: what you write here goes to our staff."
    )
    stored = await team.ticket(ticket.id)
    assert (stored.status, stored.taken_by) == ("in_progress", team.aigul.id)
    assert stored.closed_at is None and stored.resolved_at is None and stored.reopened_at
    async with team.app.resources.sessionmaker() as session:
        stored_user = await session.get(User, user.id)
    assert stored_user is not None and stored_user.active_ticket_id == ticket.id
    await user.send("One more thing")
    relayed = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert relayed["text"] == "One more thing"

    kinds = [(kind, actor) for kind, actor, _ in await team.events(ticket.id)]
    assert kinds == [
        ("taken", team.aigul.id),
        ("resolved", team.aigul.id),
        ("closed", team.aigul.id),
        ("reopened", team.daniyar.id),
    ]


async def test_resolving_a_new_ticket_records_who_resolved_it(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, card = await team.file(user)
    await team.daniyar.press(card, RESOLVE)
    assert (await team.daniyar.expect_callback_answer() or "").endswith("оценить помощь.")
    stored = await team.ticket(ticket.id)
    assert stored.status == "resolved" and stored.taken_by == team.daniyar.id
    assert stored.resolved_at is not None and stored.taken_at is not None


async def test_assign_by_a_username_seen_in_the_chat(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, _card = await team.file(user)
    reply = await team.say(team.aigul, "/assign @daniyar_k", ticket)
    assert reply["text"].startswith("Я ещё не видел @daniyar_k в этом чате")

    await team.daniyar.send("/tickets", chat=team.chat)  # any message makes them known
    await team.general()
    reply = await team.say(team.aigul, "/assign @Daniyar_K", ticket)
    assert reply["text"] == f"{ticket.number} передано: @daniyar_k."
    assert (await user.expect_message())["text"].startswith("👩\u200d💼 A specialist is now")
    reply = await team.say(team.aigul, "/assign @nobody_here", ticket)
    assert reply["text"].startswith("Я ещё не видел @nobody_here в этом чате")

    # Reassigning a ticket in progress does not tell the user again.
    await team.boss.send("Morning!", chat=team.chat)

    async def boss_known() -> StaffHandle | None:
        async with team.app.resources.sessionmaker() as session:
            return await session.get(StaffHandle, team.boss.id)

    assert await eventually(boss_known, lambda h: h is not None) is not None
    reply = await team.say(team.daniyar, "/assign @boss", ticket)
    assert reply["text"] == f"{ticket.number} передано: @boss."
    stored = await team.ticket(ticket.id)
    assert (stored.status, stored.taken_by) == ("in_progress", team.boss.id)
    assert await team.events(ticket.id) == [
        ("assigned", team.aigul.id, str(team.daniyar.id)),
        ("assigned", team.daniyar.id, str(team.boss.id)),
    ]
    async with team.app.resources.sessionmaker() as session:
        handles = {h.id: h.username for h in await session.scalars(select(StaffHandle))}
    assert handles == {team.aigul.id: None, team.daniyar.id: "daniyar_k", team.boss.id: "boss"}
    await user.expect_no_message(within=0.3)


async def test_strangers_are_refused_and_nothing_changes(team: Team) -> None:
    unthrottled(team.app)  # five refusals in a row; flood control has its own tests
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, card = await team.file(user)
    await team.stranger.press(card, TAKE)
    assert await team.stranger.expect_callback_answer() == (
        "Действовать здесь могут только сотрудники; ничего не изменено."
    )
    for command in ("/take", "/resolve", "/close", "/canned", "/tickets"):
        reply = await team.say(team.stranger, command, ticket)
        assert reply["text"] == "Действовать здесь могут только сотрудники; ничего не изменено."
    stored = await team.ticket(ticket.id)
    assert (stored.status, stored.taken_by) == ("new", None)
    assert await team.events(ticket.id) == []
    await user.expect_no_message(within=0.3)
    async with team.app.resources.sessionmaker() as session:
        known = await session.scalar(select(func.count()).select_from(StaffHandle))
    assert known == 0  # a stranger is not remembered as staff


async def test_notes_are_kept_and_never_sent(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, _card = await team.file(user)
    await team.aigul.send(
        "/note call the customs office", chat=team.chat, thread_id=ticket.topic_id
    )
    await team.aigul.send("// the logo differs", chat=team.chat, thread_id=ticket.topic_id)
    await team.aigul.send("/tkae", chat=team.chat, thread_id=ticket.topic_id)  # a typo
    typo = await team.chat.expect_message(thread_id=ticket.topic_id)
    assert typo["text"].startswith("Неизвестная команда; пользователю ничего не отправлено.")
    await user.expect_no_message(within=0.5)
    events = await team.events(ticket.id)
    assert events == [
        ("note", team.aigul.id, "call the customs office"),
        ("note", team.aigul.id, "the logo differs"),
    ]


async def test_first_answer_is_timed_and_takes_a_new_ticket(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, _card = await team.file(user)
    await team.daniyar.send("Hello, we are looking", chat=team.chat, thread_id=ticket.topic_id)
    assert (await user.expect_message())["text"] == "Hello, we are looking"
    stored = await team.ticket(ticket.id)
    assert stored.status == "in_progress" and stored.taken_by == team.daniyar.id
    first = stored.first_response_at
    assert first is not None and stored.last_staff_message_at == first
    team.set_clock(MONDAY_10 + timedelta(minutes=5))
    await team.aigul.send("And one more thing", chat=team.chat, thread_id=ticket.topic_id)
    await user.expect_message()
    stored = await team.ticket(ticket.id)
    assert stored.first_response_at == first and stored.taken_by == team.daniyar.id
    assert stored.last_staff_message_at is not None and stored.last_staff_message_at > first


async def test_topic_commands_outside_a_ticket_and_lists(team: Team) -> None:
    jane = team.app.stand.create_user("Jane", language_code="en")
    minji = team.app.stand.create_user("Minji", language_code="ko")
    first, _ = await team.file(jane)
    second, _ = await team.file(minji)
    await team.say(team.aigul, "/take", first)
    await team.daniyar.send("/take", chat=team.chat)  # in the general topic
    assert (await team.general())["text"] == "Используйте эту команду в теме обращения."

    async def listing(args: str, who: UserDriver) -> list[str]:
        await who.send(f"/tickets {args}".strip(), chat=team.chat)
        return (await team.general())["text"].splitlines()

    every = await listing("", team.aigul)
    assert every[0] == "Открытые обращения"
    assert [line.split(" · ")[0] for line in every[2:]] == [
        f"🛠 {first.number}",
        f"🆕 {second.number}",
    ]
    assert every[2].endswith(f"· ACME Korea · в работе · Aigul · {_filed(first, team)}")
    assert [line.split(" · ")[0] for line in (await listing("new", team.aigul))[2:]] == [
        f"🆕 {second.number}"
    ]
    assert (await listing("mine", team.daniyar))[2:] == ["Нет."]
    assert len((await listing("mine", team.aigul))[2:]) == 1
    waiting = await listing("waiting", team.aigul)
    assert len(waiting[2:]) == 2  # nobody has answered either yet
    await team.aigul.send("We are on it", chat=team.chat, thread_id=first.topic_id)
    await jane.expect_message()
    await jane.expect_message()  # the answer after the "specialist" notice

    async def waiting_now() -> list[str]:
        return (await listing("waiting", team.aigul))[2:]

    assert [line.split(" · ")[0] for line in await waiting_now()] == [f"🆕 {second.number}"]
    team.set_clock(MONDAY_10 + timedelta(minutes=5))
    await jane.send("Thanks, here is more")
    await team.chat.expect_message(thread_id=first.topic_id)
    assert len(await waiting_now()) == 2  # the user spoke last

    found = await _find(team, first.number)
    assert found[0] == "Найдено: 1" and found[2].startswith(f"🛠 {first.number}")
    assert (await _find(team, f"{first.id:06d}"))[0] == "Найдено: 1"
    assert (await _find(team, "barakholka"))[0] == "Найдено: 2"
    assert (await _find(team, "IP-1999-000001"))[0].startswith("По запросу «IP-1999-000001»")
    assert (await _find(team, "100%_"))[0].startswith("По запросу")


def _filed(ticket: Ticket, team: Team) -> str:
    return f"{ticket.created_at.astimezone(team.app.settings.tz):%d.%m %H:%M}"


async def _find(team: Team, query: str) -> list[str]:
    await team.aigul.send(f"/find {query}", chat=team.chat)
    return (await team.general())["text"].splitlines()


async def test_staff_and_admin_commands_live_in_the_staff_chat(team: Team) -> None:
    await publish_staff_commands(team.app.bot, team.app.resources.i18n, team.app.settings)
    staff = [c["command"] for c in team.aigul.visible_commands(team.chat)]
    assert staff == [
        "take",
        "assign",
        "resolve",
        "close",
        "reopen",
        "note",
        "canned",
        "tickets",
        "find",
    ]
    assert team.aigul.visible_commands(team.chat)[0]["description"] == "Взять обращение этой темы"
    boss = [c["command"] for c in team.boss.visible_commands(team.chat)]
    assert boss == [*staff, "canned_add", "canned_edit", "canned_del"]
    # Nothing of it in private chats.
    private = [c["command"] for c in team.aigul.visible_commands()]
    assert "take" not in private and "mytickets" in private


@pytest.mark.parametrize(
    ("lang", "description"),
    [("kk", "Өтініштеріңіз"), ("ru", "Ваши обращения"), ("ko", "내 민원"), ("en", "Your tickets")],
)
async def test_mytickets_is_in_the_menu_in_each_language(
    app: RunningBot, lang: str, description: str
) -> None:
    person = app.stand.create_user("Someone", language_code=lang)
    commands = {c["command"]: c["description"] for c in person.visible_commands()}
    assert commands["mytickets"] == description


async def test_a_double_pressed_resolve_notifies_once(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, card = await team.file(user)
    await team.aigul.press(card, RESOLVE)
    await team.aigul.press(card, RESOLVE)
    await asyncio.sleep(0.5)

    async def notices() -> int:
        async with team.app.resources.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.chat_id == user.id, OutboxMessage.ticket_id == ticket.id)
            )
            return int(count or 0)

    assert await eventually(notices, lambda n: n >= 1) == 1
    async with team.app.resources.sessionmaker() as session:
        resolved = await session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "resolved")
        )
    assert resolved == 1
