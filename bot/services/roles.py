"""Who is staff and who is admin: the configured ids plus roles granted in the database.

Staff are `STAFF_IDS` plus users with the staff role; admins are `ADMIN_IDS` plus users with
the admin role (conventions). An admin is staff as well. The database role is a column of the
user row the middleware loads for every update anyway, so checking a role costs no query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import Action, AuditLog
from db.models import User
from db.repositories.roles import RoleRepository

STAFF = "staff"
ADMIN = "admin"
ROLES = (STAFF, ADMIN)

_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")


@dataclass(frozen=True, slots=True)
class Configured:
    """The ids from the environment: they cannot be granted or revoked in the bot."""

    staff_ids: frozenset[int]
    admin_ids: frozenset[int]

    def role_of(self, user_id: int, db_role: str | None) -> str | None:
        if user_id in self.admin_ids or db_role == ADMIN:
            return ADMIN
        if user_id in self.staff_ids or db_role == STAFF:
            return STAFF
        return None

    def is_admin(self, user_id: int, user: User | None) -> bool:
        return self.role_of(user_id, _db_role(user_id, user)) == ADMIN

    def is_staff(self, user_id: int, user: User | None) -> bool:
        return self.role_of(user_id, _db_role(user_id, user)) is not None


def _db_role(user_id: int, user: User | None) -> str | None:
    return user.role if user is not None and user.id == user_id else None


class Outcome(StrEnum):
    DONE = "done"
    UNCHANGED = "unchanged"  # they already had it (or had nothing to revoke)
    UNKNOWN = "unknown"  # nobody by that id or username has written to the bot
    CONFIGURED = "configured"  # their role comes from the environment


@dataclass(frozen=True, slots=True)
class Change:
    outcome: Outcome
    user: User | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Holder:
    id: int
    name: str | None
    username: str | None
    role: str
    configured: bool


class RoleService:
    def __init__(self, session: AsyncSession, configured: Configured) -> None:
        self._session = session
        self._repo = RoleRepository(session)
        self._configured = configured

    async def find(self, ref: str) -> User | None:
        """A person by Telegram id or @username, among those who have written to the bot."""
        ref = ref.strip()
        if ref.lstrip("-").isdigit():
            return await self._repo.get(int(ref))
        match = _USERNAME.match(ref)
        return await self._repo.by_username(match[1]) if match else None

    async def grant(self, actor_id: int, ref: str, role: str) -> Change:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        user = await self.find(ref)
        if user is None:
            return Change(Outcome.UNKNOWN)
        if self._configured.role_of(user.id, None) is not None:
            return Change(Outcome.CONFIGURED, user, self._configured.role_of(user.id, None))
        if user.role == role:
            return Change(Outcome.UNCHANGED, user, role)
        previous = user.role
        user.role = role
        AuditLog(self._session).record(
            actor_id, Action.GRANT, f"user:{user.id}", role=role, previous=previous
        )
        await self._session.commit()
        return Change(Outcome.DONE, user, role)

    async def revoke(self, actor_id: int, ref: str) -> Change:
        user = await self.find(ref)
        if user is None:
            return Change(Outcome.UNKNOWN)
        if self._configured.role_of(user.id, None) is not None:
            return Change(Outcome.CONFIGURED, user, self._configured.role_of(user.id, None))
        if user.role is None:
            return Change(Outcome.UNCHANGED, user)
        previous = user.role
        user.role = None
        AuditLog(self._session).record(actor_id, Action.REVOKE, f"user:{user.id}", role=previous)
        await self._session.commit()
        return Change(Outcome.DONE, user, previous)

    async def holders(self) -> list[Holder]:
        """Admins first, then staff; configured and granted alike."""
        granted = await self._repo.holders()
        configured_ids = self._configured.admin_ids | self._configured.staff_ids
        known = {u.id: u for u in await self._repo.by_ids(configured_ids)}
        known.update({u.id: u for u in granted})
        people = []
        for user_id in sorted(configured_ids | {u.id for u in granted}):
            user = known.get(user_id)
            role = self._configured.role_of(user_id, user.role if user else None)
            if role is None:
                continue
            people.append(
                Holder(
                    id=user_id,
                    name=user.first_name if user else None,
                    username=user.username if user else None,
                    role=role,
                    configured=user_id in configured_ids,
                )
            )
        return sorted(people, key=lambda h: (h.role != ADMIN, h.id))

    async def admin_ids(self) -> set[int]:
        return set(self._configured.admin_ids) | set(await self._repo.admin_ids())
