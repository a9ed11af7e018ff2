"""SQLite under concurrency: immediate transactions, real savepoints, and no transaction held
while the bot waits for Telegram (db/engine.py, bot/middlewares/db.py)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.migrate import upgrade
from db.engine import create_engine, create_sessionmaker
from db.models import DeadLetter, User
from tests.conftest import RunningBot


@pytest.fixture
async def sessionmaker(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'locks.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def count_letters(sessionmaker) -> int:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


async def test_a_read_then_write_transaction_never_meets_a_stale_snapshot(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    """A plain deferred transaction in WAL fails at once ("database is locked") when it writes
    after another connection committed since its read. Here the read holds nothing and the
    transaction begins, immediate, at its first write: the write succeeds."""
    async with sessionmaker() as first:
        assert await first.scalar(select(func.count()).select_from(DeadLetter)) == 0

        async with sessionmaker() as second:  # not held up by the reader
            second.add(DeadLetter(update_id=2, payload="{}", error="second"))
            await asyncio.wait_for(second.commit(), 1)

        first.add(DeadLetter(update_id=1, payload="{}", error="first"))
        await first.commit()
    assert await count_letters(sessionmaker) == 2


async def test_writers_wait_for_each_other(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    order: list[str] = []
    async with sessionmaker() as first:
        first.add(DeadLetter(update_id=1, payload="{}", error="first"))
        await first.flush()  # holds the writer lock now

        async def other_writer() -> None:
            async with sessionmaker() as second:
                await second.scalar(select(func.count()).select_from(DeadLetter))  # reads freely
                second.add(DeadLetter(update_id=2, payload="{}", error="second"))
                await second.commit()
                order.append("second")

        writer = asyncio.create_task(other_writer())
        await asyncio.sleep(0.3)
        assert not writer.done()  # it waits for the lock, it does not fail
        await first.commit()
        order.append("first")
        await asyncio.wait_for(writer, 10)
    assert order == ["first", "second"]
    assert await count_letters(sessionmaker) == 2


async def test_savepoints_are_part_of_the_transaction(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        async with session.begin_nested():
            session.add(DeadLetter(update_id=1, payload="{}", error="in a savepoint"))
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                session.add(DeadLetter(update_id=2, payload="{}", error="rolled back"))
                await session.flush()
                raise RuntimeError("undo the savepoint")
        await session.rollback()  # the whole transaction, the released savepoint included
    assert await count_letters(sessionmaker) == 0

    async with sessionmaker() as session:
        async with session.begin_nested():
            session.add(DeadLetter(update_id=3, payload="{}", error="kept"))
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                session.add(DeadLetter(update_id=4, payload="{}", error="undone"))
                await session.flush()
                raise RuntimeError("undo the savepoint")
        await session.commit()
    async with sessionmaker() as session:
        kept = list(await session.scalars(select(DeadLetter.update_id)))
    assert kept == [3]


async def test_reads_take_no_lock_and_a_write_begins_immediate(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        assert not raw.in_transaction  # a read holds nothing
        session.add(DeadLetter(update_id=1, payload="{}", error="a write"))
        await session.flush()
        assert raw.in_transaction  # the write began it, holding the writer lock
        await session.commit()


async def test_no_transaction_stays_open_while_telegram_answers(
    app: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """/mytickets reads, then answers; Telegram is slow to answer. Meanwhile another writer
    gets the database at once: the read transaction ended before the call."""
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start")
    await user.expect_message()
    app.stand.faults.delay("sendMessage", 2.0, chat_id=user.id)
    await user.send("/mytickets")
    await asyncio.sleep(0.5)  # the handler has read and is waiting for sendMessage
    started = time.monotonic()
    async with app.resources.sessionmaker() as session:
        session.add(DeadLetter(update_id=1, payload="{}", error=str(uuid.uuid4())))
        await session.commit()
    assert time.monotonic() - started < 1.0
    listing = await user.expect_message(timeout=5)
    assert listing["text"].startswith("You have no tickets yet.")
    warnings = [r for r in caplog.records if "uncommitted writes" in r.getMessage()]
    assert warnings == []


async def test_a_telegram_call_with_uncommitted_writes_is_reported(
    app: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The guard never commits what a handler wrote; it leaves it and says so."""
    from bot.middlewares.db import end_read_transaction

    async with app.resources.sessionmaker() as session:
        await session.scalar(select(func.count()).select_from(User))
        assert await end_read_transaction(session, "SendMessage") is True
        assert not session.in_transaction()
        session.add(DeadLetter(update_id=1, payload="{}", error="pending"))
        await session.flush()
        with caplog.at_level(logging.WARNING, logger="ipdesk.db"):
            assert await end_read_transaction(session, "SendMessage") is False
        assert session.in_transaction()
        await session.rollback()
    assert any("uncommitted writes" in r.getMessage() for r in caplog.records)
