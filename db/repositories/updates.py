"""Processed updates: has this update's handler committed its effects already?"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.instrumentation import manager_of_class

from db.models import ProcessedUpdate, User
from db.postgres import DirectRead

PRELOADED = "ipdesk.preloaded"  # in the session's info: rows loaded for the next middleware

# Built once: every update runs one of these, and building a statement (and its cache key)
# cost about as much CPU as running it.
_FINISHED = (
    select(ProcessedUpdate.finished)
    .where(ProcessedUpdate.update_id == bindparam("update_id"))
    .scalar_subquery()
)
_SEEN = select(_FINISHED)
_ONE_ROW = select(literal(1).label("one")).subquery()
_SEEN_WITH_USER = (
    select(_FINISHED.label("finished"), User)
    .select_from(_ONE_ROW)
    .outerjoin(User, User.id == bindparam("user_id"))
)
# The same read with the user's columns, straight on asyncpg (PostgreSQL): the check runs
# for every update, and SQLAlchemy's execution and loading were most of its CPU.
_USER_COLUMNS = tuple(User.__mapper__.column_attrs)
_USER_CLASS = manager_of_class(User)
_DIRECT_SEEN_WITH_USER = DirectRead(
    select(_FINISHED.label("finished"), *(attribute.columns[0] for attribute in _USER_COLUMNS))
    .select_from(_ONE_ROW)
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
        direct = await _DIRECT_SEEN_WITH_USER.first(self._session, params)
        if direct is not None:
            finished, *values = direct
            if values and values[0] is not None:
                self._keep(self._loaded(values))
            return finished  # type: ignore[no-any-return]
        row = (await self._session.execute(_SEEN_WITH_USER, params)).one()
        if row.User is not None:
            self._keep(row.User)
        return row.finished  # type: ignore[no-any-return]

    def _loaded(self, values: list[object]) -> User:
        """The user row read directly, in the session as if the ORM had loaded it: the
        attributes set as loaded state (no change events: User(...) cost 4x as much)."""
        user: User = _USER_CLASS.new_instance()
        instance_dict(user).update(
            (attribute.key, value) for attribute, value in zip(_USER_COLUMNS, values, strict=True)
        )
        make_transient_to_detached(user)  # its identity from the key; nothing pending
        already = self._session.identity_map.get(self._session.identity_key(instance=user))
        if already is not None:
            return already  # type: ignore[no-any-return]
        self._session.add(user)
        return user

    def _keep(self, user: User) -> None:
        # The identity map holds objects weakly: keep the user for the session.
        self._session.info.setdefault(PRELOADED, []).append(user)

    async def prune(self, before: datetime) -> int:
        """Forget updates processed before `before` (Telegram gives up redelivering long
        before); returns how many rows went."""
        result = await self._session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
