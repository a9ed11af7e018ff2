"""Updates whose handling failed, kept for a human to look at."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import DeadLetterRepository

MAX_ERROR_CHARS = 2000


class DeadLetterService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        # Its own session: the update's session was rolled back with the failure.
        self._sessionmaker = sessionmaker

    async def record(self, update_id: int, payload: str, error: str) -> None:
        async with self._sessionmaker() as session:
            DeadLetterRepository(session).add(update_id, payload, error[:MAX_ERROR_CHARS])
            await session.commit()

    async def recent(self, limit: int = 50) -> list[tuple[int, str]]:
        async with self._sessionmaker() as session:
            rows = await DeadLetterRepository(session).list_recent(limit)
            return [(row.update_id, row.error) for row in rows]
