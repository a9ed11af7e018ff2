"""What runs beside the handlers, with a controllable clock: waiting alerts counted in working
hours, the off-hours auto-reply, and topic titles that follow the status, sparingly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from bot.messenger import TelegramMessenger
from bot.services.lifecycle import TOPIC_RENAME_GAP
from bot.services.working_hours import utc_offset
from db.models import Ticket
from sandbox.driver import GroupDriver, UserDriver
from tests.conftest import RunningBot
from tests.helpers import tr
from tests.lifecycle_support import ALMATY, MONDAY_10, Team, almaty, start_team

OFF_HOURS = (
    "Our staff are not at work right now. Your message is saved, and they will answer from {when}."
)


@pytest.fixture
async def team(
    make_app: Callable[..., Awaitable[RunningBot]], staff_chat: GroupDriver, specialist: UserDriver
) -> Team:
    return await start_team(make_app, staff_chat, specialist)


def stop_background(name: str) -> None:
    """The bot runs the same sweep on a timer; the test drives it instead."""
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == name]
    task.cancel()


async def set_filed(team: Team, ticket: Ticket, when: datetime) -> None:
    async with team.app.resources.sessionmaker() as session:
        await session.execute(update(Ticket).where(Ticket.id == ticket.id).values(created_at=when))
        await session.commit()


# -- waiting alerts ---------------------------------------------------------------------------


async def test_a_ticket_waiting_four_working_hours_is_flagged_once(team: Team) -> None:
    stop_background("waiting-alerts")
    lifecycle = team.lifecycle
    user = team.app.stand.create_user("Jane", language_code="en")
    waiting, _card = await team.file(user)
    answered, _card = await team.file(team.app.stand.create_user("Minji", language_code="ko"))
    await team.aigul.send("Мы смотрим", chat=team.chat, thread_id=answered.topic_id)
    resolved, _card = await team.file(team.app.stand.create_user("Ali", language_code="kk"))
    await team.say(team.aigul, "/resolve", resolved)
    # Filed on Friday at 17:00: one working hour that day, the weekend does not count.
    for ticket in (waiting, answered, resolved):
        await set_filed(team, ticket, almaty(20, 17))

    team.set_clock(almaty(23, 11, 59))  # Monday: 1 h + 2 h 59 min
    assert await lifecycle.alert_waiting() == 0
    team.set_clock(almaty(23, 12, 1))  # 1 h + 3 h 1 min
    assert await lifecycle.alert_waiting() == 1
    alert = await team.general()
    assert alert["text"] == f"⏰ {waiting.number} (ACME Korea) ждёт ответа уже 4 рабочих ч."
    [link] = [e for e in alert.get("entities", []) if e["type"] == "text_link"]
    assert link["url"] == f"https://t.me/c/{str(team.chat.id)[4:]}/{waiting.topic_id}"

    team.set_clock(almaty(24, 17))
    assert await lifecycle.alert_waiting() == 0  # once per ticket
    stored = await team.ticket(waiting.id)
    assert stored.waiting_alert_at == almaty(23, 12, 1)


async def test_the_alert_time_is_configurable(
    make_app: Callable[..., Awaitable[RunningBot]], staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    team = await start_team(make_app, staff_chat, specialist, waiting_alert_hours="0.5")
    stop_background("waiting-alerts")
    assert team.lifecycle.alert_after == timedelta(minutes=30)
    ticket, _card = await team.file(team.app.stand.create_user("Jane", language_code="en"))
    await set_filed(team, ticket, almaty(23, 9))
    team.set_clock(almaty(23, 9, 29))
    assert await team.lifecycle.alert_waiting() == 0
    team.set_clock(almaty(23, 9, 31))
    assert await team.lifecycle.alert_waiting() == 1
    assert "0.5" in (await team.general())["text"]


# -- off-hours auto-reply ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ko", "kk"])
async def test_off_hours_messages_get_one_auto_reply_per_stretch(team: Team, lang: str) -> None:
    user = team.app.stand.create_user("Client", language_code=lang)
    ticket, _card = await team.file(user)
    await set_filed(team, ticket, almaty(20, 10))  # filed on Friday morning
    i18n = team.app.resources.i18n
    days = {"Mon": tr(i18n, lang, "Mon"), "Tue": tr(i18n, lang, "Tue")}

    def expected(day: str, date: str, at: datetime) -> str:
        when = f"{days[day]} {date} 09:00 ({utc_offset(at.astimezone(ALMATY))})"
        return tr(i18n, lang, OFF_HOURS).format(when=when)

    team.set_clock(almaty(21, 12))  # Saturday
    await user.send("Are you there?")
    assert (await team.chat.expect_message(thread_id=ticket.topic_id))["text"] == "Are you there?"
    assert (await user.expect_message())["text"] == expected("Mon", "23.11", almaty(23, 9))
    team.set_clock(almaty(22, 20))  # Sunday evening: the same stretch
    await user.send("Hello?")
    await team.chat.expect_message(thread_id=ticket.topic_id)
    await user.expect_no_message(within=0.5)

    team.set_clock(almaty(23, 10))  # Monday at work
    await user.send("Good morning")
    await team.chat.expect_message(thread_id=ticket.topic_id)
    await user.expect_no_message(within=0.5)
    team.set_clock(almaty(23, 19))  # Monday evening: a new stretch
    await user.send("Still waiting")
    await team.chat.expect_message(thread_id=ticket.topic_id)
    assert (await user.expect_message())["text"] == expected("Tue", "24.11", almaty(24, 9))
    assert (await team.ticket(ticket.id)).off_hours_reply_at == almaty(23, 19)


async def test_no_auto_reply_right_after_filing_off_hours(team: Team) -> None:
    user = team.app.stand.create_user("Jane", language_code="en")
    ticket, _card = await team.file(user)
    await set_filed(team, ticket, almaty(21, 11))  # filed on Saturday: the receipt said so
    team.set_clock(almaty(21, 11, 5))
    await user.send("One more photo caption")
    await team.chat.expect_message(thread_id=ticket.topic_id)
    await user.expect_no_message(within=0.5)


# -- topic titles -----------------------------------------------------------------------------


async def test_topic_titles_follow_the_status_sparingly(team: Team) -> None:
    stop_background("topic-status")
    lifecycle, stand = team.lifecycle, team.app.stand
    messenger = TelegramMessenger(team.app.bot)
    tickets = []
    for name in ("Jane", "Minji", "Ali"):
        ticket, _card = await team.file(stand.create_user(name, language_code="en"))
        await team.say(team.aigul, "/take", ticket)
        tickets.append(ticket)
    first = tickets[0]

    def title(ticket: Ticket) -> str:
        return team.chat.chat.topics[ticket.topic_id].name

    def edits() -> int:
        return len([r for r in stand.bot_requests("editForumTopic") if r.ok])

    assert await lifecycle.sync_topics(messenger) == 2  # a few at a time
    assert await lifecycle.sync_topics(messenger) == 1
    assert await lifecycle.sync_topics(messenger) == 0
    assert edits() == 3
    assert [title(t) for t in tickets] == [
        f"🛠 {t.number} · ACME Korea · Контрафактные товары · EN" for t in tickets
    ]

    await team.say(team.aigul, "/resolve", first)
    assert await lifecycle.sync_topics(messenger) == 0  # renamed a moment ago: later
    team.set_clock(MONDAY_10 + TOPIC_RENAME_GAP)
    await team.say(team.aigul, "/close", first)  # resolved, then closed: one rename
    assert await lifecycle.sync_topics(messenger) == 1
    assert title(first).startswith(f"🔒 {first.number}")
    assert team.chat.chat.topics[first.topic_id].closed
    assert edits() == 4

    team.set_clock(MONDAY_10 + 2 * TOPIC_RENAME_GAP)
    await team.say(team.aigul, "/reopen", first)  # staff may still write in a closed topic
    stand.faults.flood("editForumTopic", retry_after=3)
    assert await lifecycle.sync_topics(messenger) == 0  # 429: left for the next sweep
    assert await lifecycle.sync_topics(messenger) == 1
    assert title(first).startswith(f"🛠 {first.number}")
    assert not team.chat.chat.topics[first.topic_id].closed
    stored = await team.ticket(first.id)
    assert (stored.topic_status, stored.status) == ("in_progress", "in_progress")
