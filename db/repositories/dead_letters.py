from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeadLetter


class DeadLetterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, update_id: int, payload: str, error: str) -> DeadLetter:
        letter = DeadLetter(update_id=update_id, payload=payload, error=error)
        self._session.add(letter)
        return letter

    async def list_recent(self, limit: int = 50) -> list[DeadLetter]:
        rows = await self._session.scalars(
            select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        )
        return list(rows)
