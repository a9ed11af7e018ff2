"""Users' data rights and retention: what we keep about a person, forgetting them, and purging
what is no longer needed.

/mydata is built from the schema, not from a hand-kept list: every table with a `user_id`
column contributes the person's rows, and every table with a `ticket_id` column the rows of
their tickets, so a table added later cannot be silently left out.

Forgetting keeps the case and drops the person: the user row and everything hanging on it go,
their typed FAQ questions go, and their tickets stay for staff with the contact details blanked
and the link to the person cut.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.outbox import PRIORITY_NOTICE, Outbox
from db.models import Base, Draft, FaqQuery, Ticket, User, utcnow

log = logging.getLogger("ipdesk.privacy")

RETENTION_SWEEP_SECONDS = 6 * 3600
PURGE_BATCH = 500
ANONYMISED = ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _referring(target: Table) -> list[tuple[Table, Any, Any]]:
    """(table, its column, the target's column) for every foreign key pointing at `target`."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target:
                found.append((table, fk.parent, fk.column))
    return found


class DataRights:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def everything_about(self, user_id: int) -> dict[str, Any]:
        """All rows stored about one person, as plain JSON-ready data.

        Starts from the user row and follows every foreign key that points at a collected
        row (users → tickets, drafts, votes… → attachments, relayed messages…), so the answer
        covers the schema as it is, not as it was when this was written.
        """
        users = Base.metadata.tables["users"]
        found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}

        def keep(table: Table, rows: Any) -> list[dict[str, Any]]:
            """Store rows not seen yet (by primary key); returns the new ones."""
            seen = found.setdefault(table.name, {})
            new = []
            for row in rows:
                values = dict(row._mapping)
                key = tuple(values[c.name] for c in table.primary_key.columns)
                if key not in seen:
                    seen[key] = values
                    new.append(values)
            return new

        result = await self._session.execute(select(users).where(users.c.id == user_id))
        frontier = [(users, keep(users, result))]
        while frontier:
            table, rows = frontier.pop()
            for child, column, target in _referring(table):
                keys = {row[target.name] for row in rows} - {None}
                if keys:
                    result = await self._session.execute(select(child).where(column.in_(keys)))
                    if new := keep(child, result):
                        frontier.append((child, new))
        for table in Base.metadata.sorted_tables:
            if table.name != "users" and any(
                fk.column.table.name in found for fk in table.foreign_keys
            ):
                found.setdefault(table.name, {})  # linked, but nothing stored for this person
        data: dict[str, Any] = {
            name: [{k: _jsonable(v) for k, v in row.items()} for row in rows.values()]
            for name, rows in found.items()
        }
        data["user"] = (data.pop("users") or [None])[0]
        return data

    async def export_json(self, user_id: int) -> bytes:
        data = await self.everything_about(user_id)
        return json.dumps(data, ensure_ascii=False, indent=2).encode()

    async def forget(
        self, user: User, staff_notice: Callable[[Ticket], str] | None = None
    ) -> list[Ticket]:
        """/deleteme: delete the person, anonymise their tickets; commit. Returns the tickets."""
        s = self._session
        tickets = list((await s.scalars(select(Ticket).where(Ticket.user_id == user.id))).all())
        now = utcnow()
        outbox = Outbox(s)
        for ticket in tickets:
            _anonymise(ticket, now)
            if staff_notice is not None and ticket.staff_chat_id and ticket.topic_id:
                outbox.enqueue(
                    "text",
                    ticket.staff_chat_id,
                    {"text": staff_notice(ticket)},
                    thread_id=ticket.topic_id,
                    priority=PRIORITY_NOTICE,
                    ticket_id=ticket.id,
                )
        await s.execute(delete(FaqQuery).where(FaqQuery.user_id == user.id))
        await s.delete(user)  # drafts, attachments, votes: ON DELETE CASCADE
        await s.commit()
        log.info("user forgotten", extra={"tickets": len(tickets)})
        return tickets


def _anonymise(ticket: Ticket, now: datetime) -> None:
    ticket.contact = ANONYMISED
    ticket.user_id = None
    ticket.anonymised_at = now


@dataclass
class PurgeCounts:
    tickets: int = 0
    drafts: int = 0


class RetentionSweep:
    """Closed tickets lose their personal data after `ticket_days`; drafts go after
    `draft_days` without a change."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ticket_days: int,
        draft_days: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._ticket_age = timedelta(days=ticket_days)
        self._draft_age = timedelta(days=draft_days)
        self._clock = clock

    async def run_once(self) -> PurgeCounts:
        counts = PurgeCounts()
        now = self._clock()
        async with self._sessionmaker() as session:
            while True:  # in batches: one short write transaction each
                ids = list(
                    (
                        await session.scalars(
                            select(Ticket.id)
                            .where(
                                Ticket.closed_at.is_not(None),
                                Ticket.closed_at < now - self._ticket_age,
                                Ticket.anonymised_at.is_(None),
                            )
                            .limit(PURGE_BATCH)
                        )
                    ).all()
                )
                if not ids:
                    break
                await session.execute(
                    update(Ticket)
                    .where(Ticket.id.in_(ids))
                    .values(contact=ANONYMISED, user_id=None, anonymised_at=now)
                )
                await session.commit()
                counts.tickets += len(ids)
            result = await session.execute(
                delete(Draft).where(Draft.updated_at < now - self._draft_age)
            )
            await session.commit()
            counts.drafts = result.rowcount or 0  # type: ignore[attr-defined]
        if counts.tickets or counts.drafts:
            log.info("retention purge", extra={"tickets": counts.tickets, "drafts": counts.drafts})
        return counts
