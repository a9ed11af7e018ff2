"""Figures for the metrics endpoint: outbox backlog and age, tickets by status, dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeadLetter, OutboxMessage, Ticket
from db.repositories.outbox import ACTIVE


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        """Undelivered sends, and when the oldest of them was queued."""
        row = (
            await self._session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status.in_(ACTIVE)
                )
            )
        ).one()
        return int(row[0]), row[1]  # min() keeps the column's type: an aware datetime

    async def tickets_by_status(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(Ticket.status, func.count()).group_by(Ticket.status)
        )
        return {status: int(count) for status, count in rows.all()}

    async def dead_letters(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(DeadLetter)) or 0)
