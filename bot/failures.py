"""What an operator reads when `python -m bot run` or `migrate` cannot get going: one line
naming the setting to look at, instead of a hundred lines of traceback.

Only failures of the outside world are explained this way (a database, Redis or Telegram that
cannot be reached or refuses, a port taken, a database without its tables); anything else is a
bug and keeps its traceback. Nothing here prints a setting's value: a URL may hold a password.
"""

from __future__ import annotations

import errno
import traceback
from collections.abc import Iterator

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

# SQLite's "no such table: users"; PostgreSQL's 'relation "users" does not exist'
_MISSING_TABLE = ("no such table", 'relation "')


def explain(error: BaseException, secrets: tuple[str, ...] = ()) -> str | None:
    """One line for a failure of the outside world, or None (a bug: show the traceback).
    Any of `secrets` found in the reason is masked."""
    reason = _reason(error)
    for secret in secrets:
        if secret:
            reason = reason.replace(secret, "***")
    chain = list(_chain(error))
    if any(isinstance(e, TelegramUnauthorizedError) for e in chain):
        return "Telegram refused the bot token (BOT_TOKEN): check it with @BotFather"
    if any(isinstance(e, TelegramNetworkError) for e in chain):
        return f"cannot reach the Telegram Bot API (TELEGRAM_API_BASE, the network): {reason}"
    if any(isinstance(e, OSError) and e.errno == errno.EADDRINUSE for e in chain):
        return f"a port is taken (WEBHOOK_PORT, HEALTH_PORT, SANDBOX_PORT): {reason}"
    if any(isinstance(e, DBAPIError) for e in chain) and any(
        words in reason for words in _MISSING_TABLE
    ):
        return "the database has no tables yet: run `python -m bot migrate` first (DATABASE_URL)"
    if any(isinstance(e, RedisError) for e in chain) or _raised_in(error, "/redis/"):
        return f"cannot use Redis (REDIS_URL): {reason}"
    if any(isinstance(e, DBAPIError) for e in chain) or (
        any(isinstance(e, OSError) for e in chain)
        and (_raised_in(error, "/sqlalchemy/") or _raised_in(error, "/asyncpg/"))
    ):
        return f"cannot use the database (DATABASE_URL): {reason}"
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _reason(error: BaseException) -> str:
    """The first line of the innermost error's message (SQLAlchemy appends the SQL and a link)."""
    innermost = getattr(error, "orig", None) or error
    text = str(innermost).strip().splitlines()
    first = text[0] if text else type(innermost).__name__
    return f"{type(innermost).__name__}: {first}"[:300]


def _raised_in(error: BaseException, part: str) -> bool:
    return any(part in frame.filename for frame in traceback.extract_tb(error.__traceback__))
