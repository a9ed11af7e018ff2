from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import FaqFeedback, FaqQuery, utcnow
from db.postgres import DirectInsert

# Every typed question writes one (bot.services.faq batches them).
_DIRECT_QUERIES = DirectInsert(FaqQuery.__table__)


class FaqRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_vote(self, user_id: int, entry_id: str, helpful: bool) -> None:
        """One row per person and entry: a second tap (or a changed mind) updates it."""
        dialect = self._session.bind.dialect.name if self._session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(FaqFeedback).values(
            user_id=user_id, entry_id=entry_id, helpful=helpful, created_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[FaqFeedback.user_id, FaqFeedback.entry_id],
            set_={"helpful": stmt.excluded.helpful, "created_at": stmt.excluded.created_at},
        )
        await self._session.execute(stmt)

    async def add_queries(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Typed questions (every FaqQuery column but the id) in one INSERT, committed by the
        caller; on PostgreSQL, in a session that has not begun, a batch that commits by itself
        in one round trip (`db.postgres.DirectInsert`)."""
        if not await _DIRECT_QUERIES.many(self._session, rows):
            await self._session.execute(insert(FaqQuery), list(rows))

    async def votes(self, entry_id: str) -> tuple[int, int]:
        """(helpful, not helpful) for one entry."""
        rows = await self._session.execute(
            select(FaqFeedback.helpful, func.count())
            .where(FaqFeedback.entry_id == entry_id)
            .group_by(FaqFeedback.helpful)
        )
        counts = {bool(helpful): int(n) for helpful, n in rows}
        return counts.get(True, 0), counts.get(False, 0)
