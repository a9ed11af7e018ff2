"""The audit log: admin actions, appended and read newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, entry: AuditEntry) -> AuditEntry:
        self._session.add(entry)
        return entry

    async def recent(self, *, limit: int, offset: int = 0) -> list[AuditEntry]:
        return list(
            await self._session.scalars(
                select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
            )
        )
