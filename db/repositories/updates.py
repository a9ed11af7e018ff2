"""Processed updates: has this update's handler committed its effects already?"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ProcessedUpdate, User

PRELOADED = "ipdesk.preloaded"  # in the session's info: rows loaded for the next middleware

# Built once: every update runs one of these, and building a statement (and its cache key)
# cost about as much CPU as running it.
_FINISHED = (
    select(ProcessedUpdate.finished)
    .where(ProcessedUpdate.update_id == bindparam("update_id"))
    .scalar_subquery()
)
_SEEN = select(_FINISHED)
_SEEN_WITH_USER = (
    select(_FINISHED.label("finished"), User)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(User, User.id == bindparam("user_id"))
)


class ProcessedUpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, update_id: int, *, with_user: int | None = None) -> bool | None:
        """None if the update was not processed, else whether its handler finished after
        committing. With `with_user`, that user's row (if any) comes back in the same query
        and stays in the session, so loading them next costs no round trip (`session.get`
        finds them in its identity map)."""
        if with_user is None:
            return await self._session.scalar(_SEEN, {"update_id": update_id})
        params = {"update_id": update_id, "user_id": with_user}
        row = (await self._session.execute(_SEEN_WITH_USER, params)).one()
        if row.User is not None:  # the identity map holds objects weakly: keep it for the session
            self._session.info.setdefault(PRELOADED, []).append(row.User)
        return row.finished  # type: ignore[no-any-return]

    async def prune(self, before: datetime) -> int:
        """Forget updates processed before `before` (Telegram gives up redelivering long
        before); returns how many rows went."""
        result = await self._session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
