"""Engine and session factory. Created by the application factory, never at import time.

SQLite transactions take the parts of SQLAlchemy's documented recipe ("Serializable isolation /
Savepoints / Transactional DDL") that matter under load: SAVEPOINTs and DDL are real parts of
the transaction (the engine emits BEGIN IMMEDIATE before them; the driver, left to itself, runs
them outside any transaction), and every BEGIN is IMMEDIATE (the driver's `isolation_level`,
which it uses for the BEGIN it emits before DML).

Which BEGIN, and when. A deferred BEGIN takes a read snapshot and becomes a writer only at its
first write; in WAL mode that upgrade fails at once with "database is locked" when another
connection committed in between (waiting cannot help a stale snapshot, so the busy timeout is
not used): the failures seen with 200 people filing at once. `BEGIN IMMEDIATE` at the start
waits for the one writer lock up front, but then a transaction that only reads holds the lock
too, and every reader queues behind every writer. So reads run without a transaction of their
own (each SELECT sees the database as it is then: PostgreSQL's READ COMMITTED, which the code is
written for) and `BEGIN IMMEDIATE` comes just before a transaction's first write (or savepoint,
or DDL), after waiting for this process's turn: from then on it holds the writer lock until it
ends, and it cannot fail for having read. Writes are few and short; nothing waits for a reader.

No transaction should stay open while the bot talks to Telegram: `bot.middlewares.db` ends an
update's read-only transaction before each Bot API call and warns about one that wrote (and so
holds the writer lock). `wrote()` says which is which.

PostgreSQL gets a checked pool: a pooled connection is tested before it is handed out, so
after a database restart the dead connections are replaced instead of failing the next update;
`pool_timeout` and the connect timeout make an outage fail fast (the webhook answers 5xx and
Telegram delivers the update again) rather than hang. The test (`_PrePing`) costs no round
trip for a connection used in the last few seconds: a server that restarts or kills a backend
closes its socket, and asyncpg has seen that by then; only a connection idle for longer gets a
real ping. (SQLAlchemy's `pool_pre_ping` pings every checkout, and with asyncpg a ping is
three round trips, BEGIN, `;`, ROLLBACK: a third of a typed question's database traffic.)
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.util.concurrency import await_only, in_greenlet

from db.postgres import lazy_begin_asyncpg

log = logging.getLogger("ipdesk.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for the one writer lock
SQLITE_POOL_SIZE, SQLITE_POOL_OVERFLOW = 20, 80
# Telegram has up to 40 updates (webhook `max_connections`) in flight to a replica. A pool
# smaller than that closes the connections above its size as they come back and opens new
# ones at the next burst: a TCP and TLS handshake, authentication and a server process each
# (measured: ~5 % of the CPU of a burst of FAQ questions). Connections are opened only as
# needed; two replicas stay within PostgreSQL's default `max_connections` (100).
PG_POOL_SIZE = 30
PG_MAX_OVERFLOW = 10
PG_POOL_TIMEOUT = 10.0  # seconds to wait for a pooled connection
PG_CONNECT_TIMEOUT = 5.0  # seconds to open one
PG_PING_IDLE = 5.0  # seconds idle in the pool after which a connection is pinged before use
PG_RECYCLE = 1800  # seconds; also outlives idle-connection killers in front of the database
WITH_COMMIT = "ipdesk.with_commit"
_WROTE = "ipdesk.wrote"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL and immediate transactions, PostgreSQL a checked pool."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if parsed.database not in (None, "", ":memory:"):
            # A connection is a thread, not a server's process: enough of them that a burst of
            # updates waits (if at all) for SQLite's one writer, not for the pool.
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW)
    else:
        kwargs.update(
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_MAX_OVERFLOW,
            pool_timeout=PG_POOL_TIMEOUT,
            pool_recycle=PG_RECYCLE,
            connect_args={"timeout": PG_CONNECT_TIMEOUT},
        )
        if parsed.get_driver_name() == "asyncpg":  # no BEGIN for a read (db/postgres.py)
            kwargs["module"] = lazy_begin_asyncpg()
    engine = create_async_engine(parsed, **kwargs)
    if sqlite:
        _SqliteTransactions(engine)
    else:
        _PrePing(engine)
    return engine


_IDLE_SINCE = "ipdesk.idle_since"


class _PrePing:
    """Pessimistic disconnect handling that round-trips only for connections idle a while.

    At checkout a connection whose socket the driver has seen closed (a restarted server, a
    killed backend) is replaced at once; one idle in the pool for more than PG_PING_IDLE
    seconds is pinged first (what a silently dropped connection needs). Either way the pool
    retries with a fresh connection (SQLAlchemy's "disconnect handling - pessimistic, custom"
    recipe). A connection that dies between two uses a moment apart fails its statement; the
    engine then invalidates the pool, and the update is answered 5xx and delivered again.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        pool = engine.sync_engine.pool
        event.listen(pool, "connect", self._idle)
        event.listen(pool, "checkin", self._idle)
        event.listen(pool, "checkout", self._checkout)

    @staticmethod
    def _idle(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @staticmethod
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        driver = record.driver_connection  # asyncpg's own connection
        if driver is not None and driver.is_closed():
            raise exc.DisconnectionError("the connection was closed while pooled")
        if idle_since is None or time.monotonic() - idle_since > PG_PING_IDLE:
            try:
                dbapi_connection.ping()
            except Exception as error:
                raise exc.DisconnectionError(f"ping failed: {error!r}") from error


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver BEGINs before DML only (INSERT, UPDATE, DELETE, REPLACE), in the same call as
    # the statement: let it, immediate. Before a SAVEPOINT or DDL the engine BEGINs itself.
    dbapi_connection.isolation_level = "IMMEDIATE"
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


_READS = frozenset({"SELECT", "PRAGMA", "EXPLAIN"})
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})  # the driver BEGINs before these
_READING = "ipdesk.sqlite_reading"  # in the connection's info: its transaction has not written
_WRITING = "ipdesk.sqlite_writing"  # in the connection's info: it holds this process's turn


class _SqliteTransactions:
    """No BEGIN for reads; before the first write, BEGIN IMMEDIATE after waiting for this
    process's turn to write.

    The turn is an asyncio lock taken through SQLAlchemy's greenlet bridge: in one process,
    writers queue first come, first served, and the next one starts the moment the last one
    ends. SQLite's own busy handler polls with sleeps: the lock stays idle while its waiters
    sleep, and under a stream of writers a waiter can starve past any timeout ("database is
    locked"). It still arbitrates between processes (a migration, a CLI command).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._turn: asyncio.Lock | None = None  # made in the loop that first needs it
        sync = engine.sync_engine
        event.listen(sync, "connect", _sqlite_connect)
        event.listen(sync, "begin", self._begin)
        event.listen(sync, "before_cursor_execute", self._before_execute)
        event.listen(sync, "commit", self._end)
        event.listen(sync, "rollback", self._end)
        for name in ("checkin", "close", "invalidate"):  # a transaction cut short
            event.listen(sync.pool, name, self._pool_event)
        event.listen(sync.pool, "reset", self._pool_reset)

    @staticmethod
    def _begin(connection: Connection) -> None:
        connection.info[_READING] = True  # BEGIN comes with the first write

    def _before_execute(
        self,
        connection: Connection,
        cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        """Before a transaction's first write (or savepoint, or DDL): BEGIN IMMEDIATE, in
        this process's turn."""
        if not connection.info.get(_READING):
            return
        words = statement.lstrip().split(None, 1)
        first = words[0].upper() if words else ""
        if first in _READS:
            return
        connection.info[_READING] = False
        self._wait_turn(connection.info)
        if first in _DML:
            return  # the driver emits BEGIN IMMEDIATE with it, in the same call
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release(connection.info)
            raise

    def _wait_turn(self, info: dict[Any, Any]) -> None:
        if not in_greenlet():
            return  # plain synchronous use: SQLite's busy handler alone
        if self._turn is None:
            self._turn = asyncio.Lock()
        try:
            await_only(_acquire(self._turn, SQLITE_BUSY_TIMEOUT_MS / 1000))
        except TimeoutError as error:
            raise sqlite3.OperationalError("database is locked (no turn to write)") from error
        info[_WRITING] = True

    def _release(self, info: dict[Any, Any]) -> None:
        if info.pop(_WRITING, False) and self._turn is not None:
            self._turn.release()

    def _end(self, connection: Connection) -> None:
        connection.info[_READING] = False
        self._release(connection.info)

    def _pool_event(self, _dbapi_connection: Any, record: Any, *_args: Any) -> None:
        if record is not None:
            self._release(record.info)

    def _pool_reset(self, dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        self._pool_event(dbapi_connection, record)


async def _acquire(lock: asyncio.Lock, seconds: float) -> None:
    """Take the lock, in turn; a free one without a round of the event loop."""
    async with asyncio.timeout(seconds):
        await lock.acquire()


class TrackedSession(Session):
    """A session that remembers whether its current transaction has written anything, and adds
    what `add_with_commit` queued to its next outermost commit."""


def add_with_commit(session: AsyncSession, *objects: object) -> None:
    """Write `objects` in the same transaction as whatever the session commits next (not at
    all if it never commits): a mark that the effect happened, atomic with the effect."""
    session.info.setdefault(WITH_COMMIT, []).extend(objects)


def _add_queued(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the mark goes with the transaction that commits for real
    queued = session.info.pop(WITH_COMMIT, None)
    if queued:
        session.add_all(queued)


def _flushed(session: Session, _context: UOWTransaction) -> None:
    session.info[_WROTE] = True


def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


event.listen(TrackedSession, "before_commit", _add_queued)
event.listen(TrackedSession, "after_flush", _flushed)
event.listen(TrackedSession, "do_orm_execute", _executed)
event.listen(TrackedSession, "after_transaction_end", _ended)


def wrote(session: AsyncSession) -> bool:
    """Whether the session's open transaction has (or is about to have) uncommitted writes."""
    return bool(
        session.new or session.dirty or session.deleted or session.sync_session.info.get(_WROTE)
    )


async def end_read_transaction(session: AsyncSession, before: str) -> bool:
    """End the session's transaction if it only read; True if it did. `before` names what
    should not wait inside it: a Telegram call, a wait for another connection ..."""
    if not session.in_transaction():
        return False
    if session.in_nested_transaction() or wrote(session):
        log.warning(
            "a wait inside a transaction with uncommitted writes",
            extra={"method": before},
        )
        return False
    # Marks queued for the handler's own commit (`add_with_commit`: the update was handled)
    # wait for it: this commit carries no effect.
    queued = session.info.pop(WITH_COMMIT, None)
    try:
        await session.commit()
    finally:
        if queued:
            session.info[WITH_COMMIT] = queued
    return True


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TrackedSession
    )
