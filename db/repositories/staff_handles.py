"""Staff as the bot has seen them in the staff chat (for `/assign @name` and names in lists)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StaffHandle


class StaffHandleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, staff_id: int) -> StaffHandle | None:
        return await self._session.get(StaffHandle, staff_id)

    def add(self, handle: StaffHandle) -> None:
        self._session.add(handle)

    async def by_username(self, username: str) -> StaffHandle | None:
        return await self._session.scalar(
            select(StaffHandle)
            .where(StaffHandle.username == username.lower())
            .order_by(StaffHandle.last_seen_at.desc())
            .limit(1)
        )

    async def many(self, ids: Collection[int]) -> Sequence[StaffHandle]:
        if not ids:
            return []
        rows = await self._session.scalars(select(StaffHandle).where(StaffHandle.id.in_(ids)))
        return rows.all()
