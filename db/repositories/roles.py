"""Roles granted in the database (a column of the user row) and the people who hold them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User


class RoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> User | None:
        return await self._session.get(User, user_id)

    async def by_username(self, username: str) -> User | None:
        return await self._session.scalar(
            select(User).where(func.lower(User.username) == username.lower()).limit(1)
        )

    async def set_role(self, user_id: int, role: str | None) -> None:
        await self._session.execute(update(User).where(User.id == user_id).values(role=role))

    async def holders(self) -> list[User]:
        """Everyone with a role granted in the database."""
        return list(await self._session.scalars(select(User).where(User.role.is_not(None))))

    async def by_ids(self, ids: Collection[int]) -> list[User]:
        if not ids:
            return []
        return list(await self._session.scalars(select(User).where(User.id.in_(list(ids)))))

    async def admin_ids(self) -> list[int]:
        return list(await self._session.scalars(select(User.id).where(User.role == "admin")))
