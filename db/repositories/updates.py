"""Processed updates: has this update's handler committed its effects already?"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ProcessedUpdate


class ProcessedUpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, update_id: int) -> bool | None:
        """None: not processed; else whether its handler finished after committing."""
        return await self._session.scalar(
            select(ProcessedUpdate.finished).where(ProcessedUpdate.update_id == update_id)
        )

    async def prune(self, before: datetime) -> int:
        """Forget updates processed before `before` (Telegram gives up redelivering long
        before); returns how many rows went."""
        result = await self._session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
