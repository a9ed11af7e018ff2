"""PostgreSQL: a transaction begins at its first statement that needs one (db/postgres.py).

Reads before it run on their own (no BEGIN, no COMMIT: two round trips an update saved); writes,
row locks and advisory locks still run inside one transaction, which commits or rolls back whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import create_engine, create_sessionmaker
from db.models import User
from db.postgres import is_plain_read


@pytest.fixture
async def sessionmaker(pg_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_database)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def in_transaction(session: AsyncSession) -> bool:
    """Whether the server holds a transaction open for this session's connection."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return bool(raw.driver_connection.is_in_transaction())  # type: ignore[union-attr]


async def users(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(User.id).order_by(User.id)))


def test_only_plain_selects_run_outside_a_transaction() -> None:
    assert is_plain_read("SELECT users.id FROM users WHERE users.id = $1")
    assert is_plain_read("  select 1")
    for statement in (
        "INSERT INTO users (id) VALUES ($1)",
        "UPDATE users SET first_name = $1",
        "DELETE FROM users",
        "WITH moved AS (DELETE FROM outbox RETURNING id) SELECT id FROM moved",
        "SAVEPOINT sa_savepoint_1",
        "SELECT outbox.id FROM outbox FOR UPDATE SKIP LOCKED",
        "SELECT tickets.id FROM tickets FOR NO KEY UPDATE",
        "SELECT x FROM t FOR SHARE",
        "SELECT pg_advisory_xact_lock($1)",
        "SELECT nextval('tickets_id_seq')",
        "SELECT set_config('search_path', 'x', true)",
    ):
        assert not is_plain_read(statement), statement


async def test_a_read_only_session_opens_no_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
        assert not await in_transaction(session)
        await session.commit()  # nothing to commit: no round trip, no error


async def test_the_first_write_begins_and_the_transaction_stays_atomic(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await session.scalar(select(func.count()).select_from(User))
        session.add(User(id=1, first_name="A", language="en"))
        await session.flush()
        assert await in_transaction(session)
        # A read after the write is inside the transaction: it sees the uncommitted row.
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        session.add(User(id=2, first_name="B", language="en"))
        await session.flush()
        await session.rollback()
    assert await users(sessionmaker) == []  # both writes went with the rollback

    async with sessionmaker() as session:
        session.add_all([User(id=1, first_name="A", language="en")])
        await session.commit()
        assert not await in_transaction(session)
    assert await users(sessionmaker) == [1]


async def test_row_and_advisory_locks_run_inside_a_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await session.execute(select(User.id).with_for_update())
        assert await in_transaction(session)
    async with sessionmaker() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        assert await in_transaction(session)
        # Held until the transaction ends: another session cannot take it meanwhile.
        async with sessionmaker() as other:
            taken = await other.scalar(text("SELECT pg_try_advisory_xact_lock(4242)"))
            assert taken is False
        await session.commit()


async def test_a_streamed_read_runs_in_a_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """asyncpg's server-side cursors live in a transaction (exports stream their rows)."""
    async with sessionmaker() as session:
        session.add_all([User(id=i, first_name=f"U{i}", language="en") for i in range(1, 6)])
        await session.commit()
    async with sessionmaker() as session:
        result = await session.stream(select(User.id).execution_options(yield_per=2))
        assert [row async for row in result.scalars()] == [1, 2, 3, 4, 5]
