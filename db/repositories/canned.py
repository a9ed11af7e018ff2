"""The library of saved replies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CannedReply


class CannedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[CannedReply]:
        return list(await self._session.scalars(select(CannedReply).order_by(CannedReply.name)))

    async def get(self, reply_id: int) -> CannedReply | None:
        return await self._session.get(CannedReply, reply_id)

    async def by_name(self, name: str) -> CannedReply | None:
        return await self._session.scalar(select(CannedReply).where(CannedReply.name == name))

    def add(self, reply: CannedReply) -> None:
        self._session.add(reply)

    async def delete(self, reply: CannedReply) -> None:
        await self._session.delete(reply)
