"""Broadcasts, their recipients and the global token bucket: the SQL.

A recipient row is *due* when it is pending and its `next_attempt_at` has come, or when it is
being sent but its lease ran out (the worker holding it died mid-send). Leasing is a
compare-and-set UPDATE, so two workers never both win a row; on PostgreSQL the candidates
are read with `FOR UPDATE SKIP LOCKED` and the bucket row with `FOR UPDATE`, so replicas
neither wait for each other's rows nor overdraw the shared rate. Every later write about a
leased row is fenced by its lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Broadcast,
    BroadcastPacer,
    BroadcastRecipient,
    Ticket,
    User,
    UTCDateTime,
)

DRAFT = "draft"
RUNNING = "running"
PAUSED = "paused"
CANCELLED = "cancelled"
DONE = "done"

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
BLOCKED = "blocked"
SKIPPED = "cancelled"

PACER_ID = 1

R = BroadcastRecipient


def _audience(languages: Sequence[str] | None, ticket_kind: str | None) -> ColumnElement[bool]:
    """People who agreed to announcements and can be reached, narrowed as asked."""
    clauses: list[ColumnElement[bool]] = [User.news_opt_in.is_(True), User.blocked_at.is_(None)]
    if languages is not None:
        clauses.append(User.language.in_(list(languages)))
    if ticket_kind is not None:
        clauses.append(
            exists(select(Ticket.id).where(Ticket.user_id == User.id, Ticket.kind == ticket_kind))
        )
    return and_(*clauses)


class BroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _postgres(self) -> bool:
        bind = self._session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    # -- jobs -------------------------------------------------------------------------------------

    def add(self, job: Broadcast) -> Broadcast:
        self._session.add(job)
        return job

    async def get(self, job_id: int) -> Broadcast | None:
        """As stored now (status changes are written around the identity map)."""
        return await self._session.get(Broadcast, job_id, populate_existing=True)

    async def draft_of(self, admin_id: int) -> Broadcast | None:
        return await self._session.scalar(
            select(Broadcast)
            .where(Broadcast.created_by == admin_id, Broadcast.status == DRAFT)
            .order_by(Broadcast.id.desc())
            .limit(1)
        )

    async def drop_drafts(self, admin_id: int) -> None:
        await self._session.execute(
            delete(Broadcast).where(Broadcast.created_by == admin_id, Broadcast.status == DRAFT)
        )

    async def set_status(
        self, job_id: int, expected: Sequence[str], status: str, **values: Any
    ) -> bool:
        """Move a job from one of `expected` to `status`; False when it was not in them."""
        result = await self._session.execute(
            update(Broadcast)
            .where(Broadcast.id == job_id, Broadcast.status.in_(list(expected)))
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def running_ids(self) -> list[int]:
        return list(
            await self._session.scalars(
                select(Broadcast.id).where(Broadcast.status == RUNNING).order_by(Broadcast.id)
            )
        )

    async def reportable(self, finished_since: datetime) -> list[Broadcast]:
        """Jobs whose progress message is live: running, paused, or just finished."""
        return list(
            await self._session.scalars(
                select(Broadcast)
                .where(
                    Broadcast.progress_message_id.is_not(None),
                    or_(
                        Broadcast.status.in_((RUNNING, PAUSED)),
                        Broadcast.finished_at >= finished_since,
                    ),
                )
                .order_by(Broadcast.id)
            )
        )

    # -- audience and recipients ------------------------------------------------------------------

    async def audience_by_language(
        self, languages: Sequence[str] | None, ticket_kind: str | None
    ) -> dict[str, int]:
        rows = await self._session.execute(
            select(User.language, func.count())
            .where(_audience(languages, ticket_kind))
            .group_by(User.language)
        )
        return {str(lang): int(n) for lang, n in rows}

    async def add_recipients(
        self,
        job_id: int,
        languages: Sequence[str] | None,
        ticket_kind: str | None,
        now: datetime,
    ) -> int:
        """One pending row per person in the audience as it is now; how many."""
        chosen = select(
            literal(job_id),
            User.id,
            User.language,
            literal(PENDING),
            literal(0),
            literal(0),
            literal(now, UTCDateTime()),
        ).where(_audience(languages, ticket_kind))
        await self._session.execute(
            insert(BroadcastRecipient).from_select(
                [
                    "broadcast_id",
                    "user_id",
                    "language",
                    "status",
                    "attempts",
                    "reclaimed",
                    "next_attempt_at",
                ],
                chosen.order_by(User.id),
            )
        )
        return int(
            await self._session.scalar(
                select(func.count()).select_from(R).where(R.broadcast_id == job_id)
            )
            or 0
        )

    async def skip_pending(self, job_id: int) -> int:
        """A cancelled job: its rows not yet sent will not be."""
        result = await self._session.execute(
            update(R)
            .where(R.broadcast_id == job_id, R.status == PENDING)
            .values(status=SKIPPED)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    # -- the global token bucket ------------------------------------------------------------------

    async def pacer(self, now: datetime) -> BroadcastPacer:
        """The bucket row, locked on PostgreSQL until the transaction ends."""
        query = select(BroadcastPacer).where(BroadcastPacer.id == PACER_ID)
        if self._postgres:
            query = query.with_for_update()
        pacer = await self._session.scalar(query.execution_options(populate_existing=True))
        if pacer is None:  # created by the migration; a database made otherwise gets it here
            # Stamped in the past, so it starts full: a round that takes no token must not
            # roll back a fresh, empty bucket again and again (the row is committed only
            # when a round leases something).
            pacer = BroadcastPacer(id=PACER_ID, tokens=0.0, stamp=now - timedelta(hours=1))
            self._session.add(pacer)
            await self._session.flush()
        return pacer

    # -- leasing and settling ---------------------------------------------------------------------

    async def lease(
        self, job_ids: Sequence[int], now: datetime, lease_until: datetime, limit: int
    ) -> list[BroadcastRecipient]:
        """Take up to `limit` due rows of these jobs, oldest first: rows whose worker died
        first (a row taken back counts in `reclaimed`), then pending ones."""
        if not job_ids or limit < 1:
            return []
        orphaned = and_(R.status == SENDING, R.lease_until <= now)
        pending = and_(R.status == PENDING, R.next_attempt_at <= now)
        ids: list[int] = []
        for due in (orphaned, pending):
            query = (
                select(R.id)
                .where(R.broadcast_id.in_(list(job_ids)), due)
                .order_by(R.broadcast_id, R.id)
                .limit(limit - len(ids))
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            ids += list(await self._session.scalars(query))
            if len(ids) >= limit:
                break
        if not ids:
            return []
        stmt = (
            update(R)
            .where(R.id.in_(ids), or_(orphaned, pending))
            .values(
                status=SENDING,
                lease_until=lease_until,
                reclaimed=R.reclaimed + case((R.status == SENDING, 1), else_=0),
            )
            .returning(R)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return sorted(await self._session.scalars(stmt), key=lambda row: row.id)

    async def settle(self, row_id: int, lease: datetime | None, **values: Any) -> bool:
        """Write about a leased row, if this worker still holds its lease."""
        result = await self._session.execute(
            update(R)
            .where(R.id == row_id, R.status == SENDING, R.lease_until == lease)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_user_blocked(self, user_id: int, at: datetime) -> None:
        await self._session.execute(update(User).where(User.id == user_id).values(blocked_at=at))

    async def next_due(self, job_ids: Sequence[int]) -> datetime | None:
        """When the next row of these jobs may be due (a retry, or a lease running out)."""
        if not job_ids:
            return None
        when = case((R.status == PENDING, R.next_attempt_at), else_=R.lease_until)
        return await self._session.scalar(
            select(func.min(when)).where(
                R.broadcast_id.in_(list(job_ids)), R.status.in_((PENDING, SENDING))
            )
        )

    # -- progress ---------------------------------------------------------------------------------

    async def counts(self, job_id: int) -> dict[str, int]:
        rows = await self._session.execute(
            select(R.status, func.count()).where(R.broadcast_id == job_id).group_by(R.status)
        )
        return {str(status): int(n) for status, n in rows}

    async def reclaimed(self, job_id: int) -> int:
        return int(
            await self._session.scalar(
                select(func.coalesce(func.sum(R.reclaimed), 0)).where(R.broadcast_id == job_id)
            )
            or 0
        )

    async def sent_since(self, job_id: int, since: datetime) -> int:
        return int(
            await self._session.scalar(
                select(func.count())
                .select_from(R)
                .where(R.broadcast_id == job_id, R.status == SENT, R.sent_at >= since)
            )
            or 0
        )
