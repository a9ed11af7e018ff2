"""Who the staff are by name: remembered as they write in the staff chat, so `/assign @name`
finds them and lists can say who has a ticket. Knows nothing of aiogram.

A process remembers what it last stored for each person, so an ordinary staff message costs
no database work; a new name or username is written once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StaffHandle, utcnow
from db.repositories.staff_handles import StaffHandleRepository


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    first_name: str
    username: str | None = None

    @property
    def label(self) -> str:
        """@username, else the first name."""
        return f"@{self.username}" if self.username else self.first_name


class StaffDirectory:
    def __init__(self) -> None:
        self._known: dict[int, Person] = {}

    async def seen(self, session: AsyncSession, person: Person) -> None:
        person = Person(person.id, person.first_name[:256], (person.username or "").lower() or None)
        if self._known.get(person.id) == person:
            return
        repo = StaffHandleRepository(session)
        handle = await repo.get(person.id)
        if handle is None:
            handle = StaffHandle(id=person.id)
            repo.add(handle)
        handle.username, handle.first_name, handle.last_seen_at = (
            person.username,
            person.first_name,
            utcnow(),
        )
        try:
            await session.commit()
        except IntegrityError:  # the same person, stored at this moment by another replica
            await session.rollback()
            return
        self._known[person.id] = person

    @staticmethod
    async def find(session: AsyncSession, username: str) -> Person | None:
        handle = await StaffHandleRepository(session).by_username(username.lstrip("@"))
        return _person(handle) if handle is not None else None

    @staticmethod
    async def labels(session: AsyncSession, ids: Collection[int | None]) -> dict[int, str]:
        """How to name each of these people (unknown ones by their id)."""
        wanted = {i for i in ids if i is not None}
        known = {h.id: _person(h).label for h in await StaffHandleRepository(session).many(wanted)}
        return {i: known.get(i, f"id {i}") for i in wanted}


def _person(handle: StaffHandle) -> Person:
    return Person(handle.id, handle.first_name, handle.username)
