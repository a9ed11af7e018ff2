"""The outbox table's SQL: adding rows, leasing due ones, and recording what became of them.

A row is *due* when it is pending and its `next_attempt_at` has come, or when it is being sent
but its lease ran out (the worker that held it died); it is taken only at the head of its
conversation, so one chat topic's messages go out one at a time, in order. Leasing is a
compare-and-set UPDATE, so two workers never both win a row; on PostgreSQL the candidates
are also read with `FOR UPDATE SKIP LOCKED`, so replicas do not wait for each other's rows.
Every later write about a leased row is fenced by its lease: a worker that lost its lease
writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import OutboxMessage, RelayedMessage

PENDING = "pending"
SENDING = "sending"
DONE = "done"
FAILED = "failed"
BLOCKED = "blocked"
ACTIVE = (PENDING, SENDING)

# Above this many chats held back by pacing, they are filtered after the query, not in it.
MAX_SKIP_IN_SQL = 500


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until <= now),
    )


def _heads() -> ColumnElement[bool]:
    """Rows with nothing unfinished before them in their conversation (chat and topic).

    "Before" is the sending order: priority, then id. Only a head may be sent, so a message
    being retried holds back the ones written after it, in every replica, and replicas do not
    send one conversation's messages side by side (except that a more urgent row enqueued
    while another is in flight is a head at once).
    """
    earlier = aliased(OutboxMessage)
    return ~(
        select(earlier.id)
        .where(
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.thread_id.is_not_distinct_from(OutboxMessage.thread_id),
            earlier.status.in_(ACTIVE),
            or_(
                earlier.priority < OutboxMessage.priority,
                and_(earlier.priority == OutboxMessage.priority, earlier.id < OutboxMessage.id),
            ),
        )
        .exists()
    )


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, row: OutboxMessage) -> OutboxMessage:
        self._session.add(row)
        return row

    @property
    def _dialect(self) -> str:
        return self._session.bind.dialect.name if self._session.bind else "sqlite"

    async def candidates(
        self, now: datetime, *, limit: int, skip_chats: Collection[int] = ()
    ) -> list[OutboxMessage]:
        """Due rows at the head of their conversation, most urgent first (priority, then
        age); locked on PostgreSQL."""
        query = (
            select(OutboxMessage)
            .where(_due(now), _heads())
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
        )
        if skip_chats and len(skip_chats) <= MAX_SKIP_IN_SQL:
            query = query.where(OutboxMessage.chat_id.not_in(list(skip_chats)))
        if self._dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(await self._session.scalars(query))

    async def lease(
        self, ids: Sequence[int], now: datetime, lease_until: datetime
    ) -> list[OutboxMessage]:
        """Take the rows that are still due; a row taken back from a dead worker counts an
        attempt (its send may have gone out). Returns the leased rows as stored now."""
        if not ids:
            return []
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), _due(now))
            .values(
                status=SENDING,
                lease_until=lease_until,
                attempts=OutboxMessage.attempts
                + case((OutboxMessage.status == SENDING, 1), else_=0),
            )
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return list(await self._session.scalars(stmt))

    async def settle(self, row_id: int, lease: datetime | None, **values: Any) -> bool:
        """Write about a leased row, if this worker still holds its lease."""
        result = await self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.status == SENDING,
                OutboxMessage.lease_until == lease,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def redirect_thread(self, chat_id: int, old_thread: int, new_thread: int) -> int:
        """Point every unsent row for a lost topic at its replacement."""
        result = await self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.thread_id == old_thread,
                OutboxMessage.status.in_(ACTIVE),
            )
            .values(thread_id=new_thread)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    async def redirect_chat(self, old_chat_id: int, new_chat_id: int) -> int:
        """Point every unsent row for a migrated group at its new id."""
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == old_chat_id, OutboxMessage.status.in_(ACTIVE))
            .values(chat_id=new_chat_id)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    async def set_relay_status(
        self,
        relay_id: int,
        status: str,
        *,
        target_chat_id: int | None = None,
        target_message_id: int | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status}
        if target_chat_id is not None:
            values["target_chat_id"] = target_chat_id
        if target_message_id is not None:
            values["target_message_id"] = target_message_id
        await self._session.execute(
            update(RelayedMessage).where(RelayedMessage.id == relay_id).values(**values)
        )

    async def schedule(self) -> list[tuple[int, datetime]]:
        """For each chat with unfinished rows, when the next of them may be due."""
        when = case(
            (OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at),
            else_=OutboxMessage.lease_until,
        )
        rows = await self._session.execute(
            select(OutboxMessage.chat_id, func.min(when))
            .where(OutboxMessage.status.in_(ACTIVE), _heads())
            .group_by(OutboxMessage.chat_id)
        )
        return [(int(chat_id), at) for chat_id, at in rows if at is not None]

    async def get(self, row_id: int) -> OutboxMessage | None:
        return await self._session.get(OutboxMessage, row_id)

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {str(status): int(n) for status, n in rows}
