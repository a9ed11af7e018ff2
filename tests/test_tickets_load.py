"""Tickets under load through the stand-in: many people filing at once, and the relay while
Telegram answers 429 and 5xx before and after a copy took effect.

The outbox paces the staff forum at ≈20 msg/min, which would make these tests take minutes;
here the worker `Delivery` builds gets a relaxed `Pacing` and a short back-off (see
`relaxed_outbox`). Flood control itself is still honoured: a 429 pauses the chat for its
`retry_after`. A double-tapped Confirm is tested in test_intake_dialog.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.delivery
from bot.services.outbox import Backoff, OutboxWorker, Pacing, Rate
from db.models import OutboxMessage, Ticket
from sandbox.driver import GroupDriver, UserDriver
from sandbox.faults import Fault
from sandbox.server import StandIn
from tests.conftest import RunningBot
from tests.test_intake_dialog import file_a_complaint

USERS = 50
RELAXED = Pacing(private_chat=Rate(1000.0, 1000), group=Rate(1000.0, 1000), overall=Rate(1e4, 1e4))
FAST_BACKOFF = Backoff(base=0.05, cap=0.5)


class RelaxedWorker(OutboxWorker):
    """The app's outbox worker with pacing relaxed, a short back-off and a short poll."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("pacing", RELAXED)
        kwargs.setdefault("backoff", FAST_BACKOFF)
        kwargs.setdefault("poll_interval", 0.1)
        super().__init__(*args, **kwargs)


@pytest.fixture(autouse=True)
def relaxed_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.delivery, "OutboxWorker", RelaxedWorker)


async def file(app: RunningBot, user: UserDriver) -> str:
    """File a complaint; the receipt's text."""
    # Fifty dialogs share two cores: allow each step more than the usual five seconds.
    summary = await file_a_complaint(app, user, photos=0, step_timeout=30)
    await user.press(summary, callback_data="c:confirm::")
    receipt = await user.expect_edit(30)
    return str(receipt["text"])


async def tickets(app: RunningBot) -> list[Ticket]:
    async with app.resources.sessionmaker() as session:
        return list(await session.scalars(select(Ticket).order_by(Ticket.id)))


async def until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def outbox_settled(app: RunningBot) -> bool:
    async with app.resources.sessionmaker() as session:
        open_rows = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending")))
        )
    return open_rows == 0


async def test_fifty_people_file_at_once(desk_app: RunningBot, staff_chat: GroupDriver) -> None:
    people = [
        desk_app.stand.create_user(f"User {i}", language_code=("kk", "ru", "ko", "en")[i % 4])
        for i in range(USERS)
    ]
    receipts = await asyncio.gather(*(file(desk_app, person) for person in people))

    async def all_handed_off() -> bool:
        stored = await tickets(desk_app)
        return len(stored) == USERS and all(t.topic_id is not None for t in stored)

    await until(all_handed_off, 15, "every ticket to get its topic")
    stored = await tickets(desk_app)
    assert sorted(t.user_id for t in stored) == sorted(p.id for p in people)
    assert len({t.number for t in stored}) == USERS
    assert len({t.topic_id for t in stored}) == USERS
    assert len(staff_chat.topics()) == USERS
    for person, receipt in zip(people, receipts, strict=True):  # each names its own ticket
        [mine] = [t for t in stored if t.user_id == person.id]
        assert mine.number in receipt


def copies(stand: StandIn, chat_id: int, texts: list[str]) -> Counter[str]:
    wanted = set(texts)
    seen = Counter(m.get("text") for m in stand.delivered(chat_id))
    return Counter({text: seen[text] for text in wanted})


async def test_relay_through_429_and_5xx_before_and_after_effect(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    stand = desk_app.stand
    people = [stand.create_user(f"Client {i}", language_code="en") for i in range(3)]
    await asyncio.gather(*(file(desk_app, person) for person in people))

    async def cards_out() -> bool:
        stored = await tickets(desk_app)
        return (
            len(stored) == len(people)
            and all(t.topic_id is not None for t in stored)
            and await outbox_settled(desk_app)
        )

    await until(cards_out, 10, "the ticket cards")
    topic = {t.user_id: t.topic_id for t in await tickets(desk_app)}

    faults: list[tuple[Fault, bool]] = []
    for target in [staff_chat.id, *(p.id for p in people)]:
        for when in ("before", "after"):
            faults.append(
                (stand.faults.flood("copyMessage", 1, when=when, chat_id=target), when == "after")
            )
            faults.append(
                (
                    stand.faults.server_error("copyMessage", 500, when=when, chat_id=target),
                    when == "after",
                )
            )
            faults.append(
                (
                    stand.faults.bad_gateway("copyMessage", html=False, when=when, chat_id=target),
                    when == "after",
                )
            )

    per_side = 8
    to_staff: list[str] = []
    to_user: dict[int, list[str]] = {p.id: [] for p in people}

    async def converse(person: UserDriver) -> None:
        for i in range(per_side):
            text = f"from {person.id}: question {i}"
            to_staff.append(text)
            await person.send(text)
            answer = f"to {person.id}: answer {i}"
            to_user[person.id].append(answer)
            await specialist.send(answer, chat=staff_chat, thread_id=topic[person.id])

    await asyncio.gather(*(converse(p) for p in people))

    async def all_arrived() -> bool:
        if not all(copies(stand, staff_chat.id, to_staff).values()):
            return False
        return all(all(copies(stand, p.id, to_user[p.id]).values()) for p in people)

    await until(all_arrived, 15, "every relayed message")  # nothing lost
    await until(lambda: outbox_settled(desk_app), 10, "the outbox to settle")

    assert all(fault.fired == 1 for fault, _ in faults), "every injected fault was met"
    after_effect = sum(fault.fired for fault, after in faults if after)
    counted = [copies(stand, staff_chat.id, to_staff)] + [
        copies(stand, p.id, to_user[p.id]) for p in people
    ]
    duplicates = sum(n - 1 for counter in counted for n in counter.values())
    assert duplicates <= after_effect

    # Exactly: each extra copy is a call that took effect while the bot heard an error, and
    # a call refused before its effect never produced one.
    effects = Counter(
        (
            str(r.params.get("chat_id")),
            str(r.params.get("from_chat_id")),
            str(r.params["message_id"]),
        )
        for r in stand.requests
        if r.method.lower() == "copymessage" and r.effect
    )
    heard_error = Counter(
        (
            str(r.params.get("chat_id")),
            str(r.params.get("from_chat_id")),
            str(r.params["message_id"]),
        )
        for r in stand.requests
        if r.method.lower() == "copymessage" and r.effect and r.fault is not None
    )
    assert sum(effects.values()) - len(effects) == sum(heard_error.values()) == duplicates
    assert all(r.fault.endswith("after") for r in stand.requests if r.effect and r.fault)
