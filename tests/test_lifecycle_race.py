"""Take is race-free on both databases: of many specialists pressing Take at once, exactly one
wins, the others learn who did, and the user is told once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.config import WorkingHours
from bot.migrate import upgrade
from bot.services.lifecycle import Lifecycle, Outcome, StaffTexts, UserTexts
from db.engine import create_engine, create_sessionmaker
from db.models import OutboxMessage, Ticket, TicketEvent, User
from tests.conftest import fresh_pg_database

PRESSES = 8


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """A migrated, empty database: SQLite in a file, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        await asyncio.to_thread(upgrade, sqlite_url)
        yield sqlite_url
        return
    async with fresh_pg_database(request.getfixturevalue("pg_url")) as url:
        yield url


def say(*_: object) -> str:
    return "notice"


def lifecycle_on(sessionmaker) -> Lifecycle:  # type: ignore[no-untyped-def]
    return Lifecycle(
        sessionmaker,
        user_texts=UserTexts(
            taken=say,
            resolved=lambda *_: ("resolved", {"inline_keyboard": []}),
            closed=say,
            reopened=say,
            followed_up=say,
            off_hours=say,
        ),
        staff_texts=StaffTexts(
            user_reopened=say,
            user_followed_up=say,
            user_closed=say,
            rated=say,
            waiting=say,
            topic_name=say,
        ),
        staff_chat_id=-1001,
        hours=WorkingHours.parse("Mon-Sun 00:00-23:59"),
        tz=ZoneInfo("Asia/Almaty"),
        wake_outbox=lambda: None,
    )


async def test_of_many_takes_at_once_exactly_one_wins(database: str) -> None:
    engine = create_engine(database)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            session.add(User(id=7, first_name="Jane", language="en"))
            await session.flush()  # no relationship orders the inserts: the user goes first
            ticket = Ticket(
                draft_id=str(uuid.uuid4()),
                user_id=7,
                language="en",
                kind="counterfeit",
                right="trademark",
                location="Almaty",
                description="Fake phones",
                company="ACME",
                contact="a@acme.example",
            )
            session.add(ticket)
            await session.commit()
            ticket_id = ticket.id
        lifecycle = lifecycle_on(sessionmaker)
        start = asyncio.Event()

        async def press(staff_id: int) -> tuple[Outcome, int | None]:
            async with sessionmaker() as session:
                mine = await session.get(Ticket, ticket_id)
                assert mine is not None
                await start.wait()  # everyone has read "new" before anyone writes
                result = await lifecycle.take(session, mine, staff_id)
                return result.outcome, result.ticket.taken_by

        presses = [asyncio.create_task(press(100 + n)) for n in range(PRESSES)]
        await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.gather(*presses)

        outcomes = [outcome for outcome, _ in results]
        assert outcomes.count(Outcome.DONE) == 1
        assert outcomes.count(Outcome.TAKEN) == PRESSES - 1
        winner = next(who for outcome, who in results if outcome is Outcome.DONE)
        assert {who for _, who in results} == {winner}  # the losers were told who won
        async with sessionmaker() as session:
            stored = await session.get(Ticket, ticket_id)
            events = await session.scalar(select(func.count()).select_from(TicketEvent))
            notices = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == 7)
            )
        assert stored is not None and (stored.status, stored.taken_by) == ("in_progress", winner)
        assert (events, notices) == (1, 1)
    finally:
        await engine.dispose()
