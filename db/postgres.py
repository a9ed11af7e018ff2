"""PostgreSQL through asyncpg, with BEGIN deferred to the first statement that needs one.

SQLAlchemy's asyncpg adapter sends BEGIN before a transaction's first statement and COMMIT at its
end, so an update that only reads (a typed FAQ question: is this update new, who sent it) pays
three round trips for its one SELECT, and the server runs two more statements. Under READ
COMMITTED, the isolation the code is written for (`db/engine.py`), every statement takes its own
snapshot inside a transaction as well as outside one: a plain SELECT outside a transaction sees
exactly what it would see inside. So plain SELECTs before a transaction's first write run on
their own, and BEGIN goes out just before the first statement that needs it; a transaction that
never needed one has nothing to commit or roll back (the adapter skips both).

Needs a transaction, and so begins it: every statement that is not a SELECT (writes, SAVEPOINT,
DDL, `WITH ... INSERT`), row locks (`FOR UPDATE`, `FOR SHARE`, ...), `pg_advisory_xact_lock` and
anything else with "pg_advisory", sequences (`nextval`, `setval`), `set_config`, and server-side
cursors (asyncpg's cursors live in a transaction). A statement in doubt begins one: a needless
BEGIN costs a round trip, a missing one would cost atomicity. SQLite has its own version of the
same idea (`db.engine._SqliteTransactions`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Select, Table, bindparam, insert
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_cursor,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.util.concurrency import await_only

log = logging.getLogger("ipdesk.db")

# What makes a SELECT more than a read: a lock taken, a sequence moved, a setting changed.
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY\s+SHARE)\b|pg_advisory|nextval|setval|set_config",
    re.IGNORECASE,
)


@lru_cache(maxsize=512)  # statements are few and repeat: compiled SQL with bind parameters
def is_plain_read(statement: str) -> bool:
    """Whether `statement` only reads, so that it may run outside a transaction."""
    head = statement.lstrip()[:6].upper()
    return head == "SELECT" and _NEEDS_TRANSACTION.search(statement) is None


class _Cursor(AsyncAdapt_asyncpg_cursor):
    async def _prepare_and_execute(self, operation: str, parameters: Any) -> None:
        connection: _Connection = self._adapt_connection  # type: ignore[assignment]
        connection.reading = not self.server_side and is_plain_read(operation)
        try:
            await super()._prepare_and_execute(operation, parameters)
        finally:
            connection.reading = False


class _Connection(AsyncAdapt_asyncpg_connection):
    _cursor_cls = _Cursor
    reading = False  # the statement about to run is a plain read: no BEGIN for it

    async def _start_transaction(self) -> None:
        if self.reading:
            return
        await super()._start_transaction()


class LazyBeginAsyncpg(AsyncAdapt_asyncpg_dbapi):
    """The asyncpg DB-API adapter with deferred BEGIN; `create_async_engine(module=...)`."""

    def connect(self, *args: Any, **kwargs: Any) -> _Connection:
        creator = kwargs.pop("async_creator_fn", self.asyncpg.connect)
        cache_size = kwargs.pop("prepared_statement_cache_size", 100)
        name_func = kwargs.pop("prepared_statement_name_func", None)
        return await_only(  # type: ignore[no-any-return]
            _Connection.create(
                self,
                creator(*args, **kwargs),
                prepared_statement_cache_size=cache_size,
                prepared_statement_name_func=name_func,
            )
        )


def lazy_begin_asyncpg() -> LazyBeginAsyncpg:
    import asyncpg

    return LazyBeginAsyncpg(asyncpg)


# SQL, its parameters in order (name, fixed value or _UNSET, bind processor) and each
# column's result processor
_Compiled = tuple[str, tuple[tuple[str, Any, Any], ...], tuple[Any, ...]]
_UNSET = object()


class _Direct:
    """A statement compiled by SQLAlchemy once per dialect and run straight on asyncpg, on
    the session's own connection, bound and read as SQLAlchemy would (the columns' bind and
    result processors). For the statements every typed question runs: SQLAlchemy's execution
    path (compiled-statement lookup, execution context, cursor adapter, result rows, the ORM)
    cost more CPU than asyncpg's round trip itself.

    Not on asyncpg (SQLite), the caller is told to take the ordinary path. Should the direct
    call fail, the connection is invalidated, the session rolled back and the ordinary path
    runs the statement instead: it replaces a dead connection, and its errors are the ones
    the rest of the code knows (an outage is still an outage, `bot.outage`).
    """

    def __init__(self, statement: Select[Any] | Insert) -> None:
        self._statement = statement
        self._compiled: _Compiled | None = None

    async def _driver(self, session: AsyncSession) -> tuple[AsyncConnection, Any] | None:
        """The session's connection and its asyncpg connection, or None for no shortcut."""
        if session.bind.dialect.driver != "asyncpg":
            return None
        connection = await session.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        if not isinstance(adapted, _Connection):  # not ours (a test's own engine): no shortcut
            return None
        return connection, adapted._connection

    async def _failed(self, session: AsyncSession, connection: AsyncConnection) -> None:
        log.info("a direct statement failed; running it the ordinary way", exc_info=True)
        await connection.invalidate()
        await session.rollback()

    @staticmethod
    def _arguments(binds: tuple[tuple[str, Any, Any], ...], params: Mapping[str, Any]) -> list[Any]:
        return [
            value if bind is None else bind(value)
            for name, fixed, bind in binds
            for value in (params[name] if fixed is _UNSET else fixed,)
        ]

    def _compile(self, dialect: Dialect) -> _Compiled:
        if self._compiled is None:
            compiled = self._statement.compile(dialect=dialect)
            assert compiled.positiontup is not None  # asyncpg's numbered parameters
            processors_in = compiled._bind_processors
            fixed = {  # literals of the statement itself (`literal(1)`): None where given
                key: bind.value if bind.value is not None else _UNSET
                for key, bind in ((compiled.bind_names[b], b) for b in compiled.binds.values())
            }
            binds = tuple(
                (name, fixed.get(name, _UNSET), processors_in.get(name))
                for name in compiled.positiontup
            )
            selected = getattr(self._statement, "selected_columns", ())
            processors = tuple(
                column.type._cached_result_processor(dialect, None) for column in selected
            )
            self._compiled = (compiled.string, binds, processors)
        return self._compiled


class DirectRead(_Direct):
    """A plain SELECT (`_Direct`): the processed-update check every update makes."""

    async def first(self, session: AsyncSession, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row (() for none), or None where there is no shortcut."""
        driver = await self._driver(session)
        if driver is None:
            return None
        connection, asyncpg_connection = driver
        sql, binds, processors = self._compile(connection.dialect)
        try:
            record = await asyncpg_connection.fetchrow(sql, *self._arguments(binds, params))
        except Exception:
            await self._failed(session, connection)
            row = (await session.execute(self._statement, params)).first()
            return tuple(row) if row is not None else ()
        if record is None:
            return ()
        return tuple(
            value if process is None else process(value)
            for value, process in zip(record, processors, strict=True)
        )


class DirectInsert(_Direct):
    """Rows inserted as one batch that commits by itself (`_Direct`): asyncpg's executemany
    sends them in one round trip, all or none (BEGIN, INSERT and COMMIT were three), for a
    session that has not begun. Should the connection die after the server committed and
    before its answer, the ordinary path writes the rows again: for the typed-question log
    (`bot.services.faq`), a rare duplicate, never a loss."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._columns = tuple(column.key for column in table.columns if not column.primary_key)
        super().__init__(insert(table).values({c: bindparam(c) for c in self._columns}))

    async def many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> bool:
        """False where there is no shortcut (the caller inserts the ordinary way)."""
        if session.in_transaction():
            return False  # its own commit would not be the batch's
        driver = await self._driver(session)
        if driver is None:
            return False
        connection, asyncpg_connection = driver
        sql, binds, _ = self._compile(connection.dialect)
        complete = [{c: row[c] for c in self._columns} for row in rows]  # no defaults here
        try:
            await asyncpg_connection.executemany(
                sql, [self._arguments(binds, row) for row in complete]
            )
        except Exception:
            await self._failed(session, connection)
            await session.execute(insert(self._table), complete)
        return True
