"""Is an exception an outage of the database or Redis (try again later) or a bug (dead letter)?

The conventions: a handler's exception is stored as a dead letter and answered 200, so a poison
update is not redelivered forever; only a database or Redis outage answers 5xx, so Telegram
delivers the update again once the service is back.
"""

from __future__ import annotations

import socket

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa

from bot.locks import LockTimeout

# SQLSTATE classes: 08 connection exception, 57P operator intervention (shutdown, starting up).
_OUTAGE_SQLSTATES = ("08", "57P", "53300")  # 53300: too many connections


def is_outage(error: BaseException) -> bool:
    """True for "the database or Redis is unreachable or restarting", also when wrapped."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_outage_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_outage_itself(error: BaseException) -> bool:
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa.OperationalError | sa.InterfaceError | sa.TimeoutError):
        return True  # TimeoutError: no pooled connection came free
    sqlstate = getattr(error, "sqlstate", None) or getattr(
        getattr(error, "orig", None), "sqlstate", None
    )
    if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
        return True
    return isinstance(
        error,
        RedisConnectionError
        | RedisTimeoutError
        | LockError  # a user's update lock not taken in time, or lost while held
        | LockTimeout
        | ConnectionError
        | socket.gaierror,
    )
