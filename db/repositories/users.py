from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    def add(self, user: User) -> User:
        self._session.add(user)
        return user

    async def set_language(self, user_id: int, language: str) -> None:
        await self._session.execute(
            update(User).where(User.id == user_id).values(language=language)
        )

    async def mark_blocked(self, user_id: int, at: datetime) -> None:
        await self._session.execute(update(User).where(User.id == user_id).values(blocked_at=at))

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(User)) or 0)
