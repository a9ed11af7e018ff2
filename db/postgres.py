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

import re
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_cursor,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.util.concurrency import await_only

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
