"""Alembic builds the same schema as the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.migrate import downgrade, upgrade
from db.engine import create_engine
from db.models import Base
from tests.conftest import fresh_pg_database

EXPECTED_TABLES = {
    "users",
    "dead_letters",
    "faq_feedback",
    "faq_queries",
    "drafts",
    "draft_attachments",
    "tickets",
    "ticket_attachments",
    "relayed_messages",
    "outbox",
    "audit_log",
    "broadcasts",
    "broadcast_recipients",
    "broadcast_pacer",
    "ticket_events",
    "canned_replies",
    "staff_handles",
    "processed_updates",
    "alembic_version",
}


async def schema_of(url: str) -> tuple[set[str], list[object]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    return tables, diff


async def check_round_trip(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    tables, diff = await schema_of(url)
    assert tables == EXPECTED_TABLES
    assert diff == [], f"models and migrations disagree: {diff}"
    await asyncio.to_thread(upgrade, url)  # a second run is a no-op
    await asyncio.to_thread(downgrade, url, "base")
    tables, _ = await schema_of(url)
    assert tables == {"alembic_version"}


async def test_sqlite_round_trip(sqlite_url: str) -> None:
    await check_round_trip(sqlite_url)


async def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await conn.scalar(text("PRAGMA busy_timeout"))) >= 1000
    finally:
        await engine.dispose()


@pytest.fixture
async def empty_pg_database(pg_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    async with fresh_pg_database(pg_url, migrated=False) as url:
        yield url


async def test_postgresql_round_trip(empty_pg_database: str) -> None:
    await check_round_trip(empty_pg_database)
