"""Engine and session factory. Created by the application factory, never at import time.

PostgreSQL gets a checked pool: `pool_pre_ping` tests a pooled connection before handing it
out, so after a database restart the dead connections are replaced instead of failing the
next update; `pool_timeout` and the connect timeout make an outage fail fast (the webhook
answers 5xx and Telegram delivers the update again) rather than hang.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 10
PG_POOL_TIMEOUT = 10.0  # seconds to wait for a pooled connection
PG_CONNECT_TIMEOUT = 5.0  # seconds to open one
PG_RECYCLE = 1800  # seconds; also outlives idle-connection killers in front of the database
WITH_COMMIT = "ipdesk.with_commit"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout, PostgreSQL a checked pool."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(
            pool_pre_ping=True,
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_MAX_OVERFLOW,
            pool_timeout=PG_POOL_TIMEOUT,
            pool_recycle=PG_RECYCLE,
            connect_args={"timeout": PG_CONNECT_TIMEOUT},
        )
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class TrackedSession(Session):
    """A session that adds what `add_with_commit` queued to its next outermost commit."""


def add_with_commit(session: AsyncSession, *objects: object) -> None:
    """Write `objects` in the same transaction as whatever the session commits next (not at
    all if it never commits): a mark that the effect happened, atomic with the effect."""
    session.info.setdefault(WITH_COMMIT, []).extend(objects)


@event.listens_for(TrackedSession, "before_commit")
def _add_queued(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the mark goes with the transaction that commits for real
    queued = session.info.pop(WITH_COMMIT, None)
    if queued:
        session.add_all(queued)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TrackedSession
    )
