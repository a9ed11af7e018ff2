"""PostgreSQL: the processed-update check reads straight through asyncpg (db/postgres.py,
`DirectRead`), and what it hands on is what the ORM would have loaded; typed questions are
logged in batches that commit by themselves (`DirectInsert`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import create_engine, create_sessionmaker
from db.models import FaqQuery, ProcessedUpdate, User
from db.repositories import FaqRepository, ProcessedUpdateRepository
from db.repositories.updates import PRELOADED
from tests.prod.test_postgres_begin import in_transaction

SEEN = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
async def sessionmaker(pg_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_database)
    try:
        factory = create_sessionmaker(engine)
        async with factory() as session:
            session.add(
                User(
                    id=7,
                    first_name="Ji-woo",
                    username="jiwoo",
                    language="ko",
                    telegram_language="ko",
                    consent_at=SEEN,
                    news_opt_in=True,
                    created_at=SEEN,
                    last_seen_at=SEEN,
                    active_ticket_id=12,
                )
            )
            await session.commit()
        yield factory
    finally:
        await engine.dispose()


async def test_the_sender_comes_back_as_the_orm_would_load_them(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        assert await ProcessedUpdateRepository(session).seen(100, with_user=7) is None
        (user,) = session.info[PRELOADED]
        state = inspect(user)
        assert state.persistent and not state.modified  # loaded, nothing pending
        assert await session.get(User, 7) is user  # from the identity map, no second read
    async with sessionmaker() as session:
        loaded = await session.scalar(select(User).where(User.id == 7))
        assert loaded is not None
    columns = [attribute.key for attribute in User.__mapper__.column_attrs]
    assert {c: getattr(user, c) for c in columns} == {c: getattr(loaded, c) for c in columns}
    assert user.last_seen_at.tzinfo is UTC  # through the column type, as the ORM does


async def test_a_change_to_the_directly_read_user_is_written(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await ProcessedUpdateRepository(session).seen(101, with_user=7)
        user = await session.get(User, 7)
        assert user is not None
        user.language = "en"
        await session.commit()
    async with sessionmaker() as session:
        assert await session.scalar(select(User.language).where(User.id == 7)) == "en"


async def test_an_unknown_sender_and_a_processed_update(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        session.add(ProcessedUpdate(update_id=102, finished=True))
        await session.commit()
    async with sessionmaker() as session:
        assert await ProcessedUpdateRepository(session).seen(102, with_user=99) is True
        assert PRELOADED not in session.info
        assert await session.get(User, 99) is None


async def test_a_dead_connection_falls_back_to_the_ordinary_path(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A backend killed under the session (a restart, an idle killer): the direct read fails,
    and the same check runs again on a fresh connection."""
    async with sessionmaker() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        async with sessionmaker() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)
        assert await ProcessedUpdateRepository(session).seen(103, with_user=7) is None
        assert await session.get(User, 7) is not None
        fresh = await (await session.connection()).get_raw_connection()
        assert fresh.driver_connection.get_server_pid() != pid  # type: ignore[union-attr]


def question(text: str = "how do I register a trademark") -> dict[str, object]:
    return {
        "user_id": 7,
        "text": text,
        "lang": "en",
        "outcome": "answer",
        "entry_id": "trademark-register",
        "score": 0.9,
        "created_at": SEEN,
    }


async def logged(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, datetime]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(FaqQuery.text, FaqQuery.created_at).order_by("id"))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_batch_of_questions_commits_by_itself_all_or_none(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await FaqRepository(session).add_queries([question("one"), question("two")])
        assert not session.in_transaction() or not await in_transaction(session)
    assert await logged(sessionmaker) == [("one", SEEN), ("two", SEEN)]  # no commit needed

    too_long = question("x" * 1001)  # the column holds 1000 characters
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError):
            await FaqRepository(session).add_queries([question("three"), too_long])
    assert [text for text, _ in await logged(sessionmaker)] == ["one", "two"]


async def test_a_batch_in_a_begun_transaction_waits_for_its_commit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        session.add(User(id=8, first_name="Aliya", language="kk"))
        await session.flush()
        await FaqRepository(session).add_queries([question("inside")])
        await session.rollback()
    assert await logged(sessionmaker) == []


async def test_a_failed_direct_batch_is_written_the_ordinary_way(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection lost under the batch: it is invalidated and the rows go the ordinary
    way, on a fresh connection."""
    executemany = asyncpg.Connection.executemany
    calls: list[int] = []

    async def lost_once(self: asyncpg.Connection, *args: object, **kwargs: object) -> object:
        calls.append(self.get_server_pid())
        if len(calls) == 1:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        return await executemany(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "executemany", lost_once)
    async with sessionmaker() as session:
        await FaqRepository(session).add_queries([question("after")])
        await session.commit()
    assert await logged(sessionmaker) == [("after", SEEN)]
    assert len(calls) == 1  # the ordinary way is SQLAlchemy's own
    for _ in range(50):  # the failed connection was closed, not put back in the pool
        async with sessionmaker() as session:
            alive = await session.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": calls[0]}
            )
        if alive == 0:
            break
        await asyncio.sleep(0.05)
    assert alive == 0
