"""Each update's effects happen once, even when Telegram delivers it again.

Telegram redelivers an update whose webhook answer it did not get (a timeout, a dropped
connection, a replica that died after committing), possibly to another replica. Effects with
a natural key are idempotent already (a ticket per draft, a relayed message per source); a
typed answer in the complaint dialog is not: delivered twice, it would also answer the next
question. So the update id is written with the first commit its handler makes, in the same
transaction (`db.engine.add_with_commit`), and an update found there is skipped.

`check` is an outer middleware placed before the user is loaded (its read shares that
transaction, and the sender's row comes back with it: one round trip for both); `mark` is an
inner one, so the user middleware's own commit does not carry the mark: only a handler's
effect does. An update that committed nothing is simply handled again: an FAQ answer (its
typed question is logged by group commit, outside the update's transaction:
`bot.services.faq.FaqQueryLog`) is answered again.

A skipped update may have lost its reply: its first delivery committed, then met an outage
before the reply went out (`finished` stayed false). An outage after the reply, when only
`finished` is left to write, is logged and the update answered as handled: it is not
delivered again for a reply the person already has. `check` lets such an update on through
the user and language middlewares to `reshow`, which hands it to the `redelivered` callable of
the dispatcher's data (it shows the person where they stand) and stops there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outage import is_outage
from db.engine import add_with_commit
from db.models import ProcessedUpdate, utcnow
from db.repositories import ProcessedUpdateRepository

log = logging.getLogger("ipdesk.updates")

KEEP = timedelta(days=7)  # Telegram keeps an undelivered update for 24 hours

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def check(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    if not isinstance(event, Update):
        return await handler(event, data)
    sender: TgUser | None = data.get("event_from_user")
    finished = await ProcessedUpdateRepository(data["session"]).seen(
        event.update_id,
        # The user middleware loads the sender next: their row comes along in this query.
        with_user=sender.id if sender is not None and not sender.is_bot else None,
    )
    if finished is None:
        return await handler(event, data)
    log.info("update handled before; skipped", extra={"update_id": event.update_id})
    data["update_skipped"] = True
    if finished or data.get("redelivered") is None:
        return None
    return await handler(event, data)  # on to `reshow`, with the person and their language


async def reshow(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """After the user and i18n middlewares: a skipped, unfinished update is shown again."""
    if not data.get("update_skipped"):
        return await handler(event, data)
    await data["redelivered"](event, data)
    return None


async def mark(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    if not isinstance(event, Update):
        return await handler(event, data)
    session: AsyncSession = data["session"]
    processed = ProcessedUpdate(update_id=event.update_id)
    add_with_commit(session, processed)
    result = await handler(event, data)
    if inspect(processed).persistent:  # the handler committed an effect, then replied
        processed.finished = True
        try:
            await session.commit()
        except Exception as error:
            if not is_outage(error):
                raise
            # The effect is stored and its reply went out; only this note is missing. An
            # outage answered 5xx here would have Telegram deliver the update again, and the
            # person would be shown their step a second time.
            log.warning(
                "an outage kept a handled update from being noted as finished",
                extra={"update_id": event.update_id, "error": repr(error)},
            )
    return result


async def prune(sessionmaker: async_sessionmaker[AsyncSession], keep: timedelta = KEEP) -> int:
    """Forget updates older than `keep`: Telegram stopped redelivering them long ago."""
    async with sessionmaker() as session:
        removed = await ProcessedUpdateRepository(session).prune(utcnow() - keep)
        await session.commit()
    return removed
