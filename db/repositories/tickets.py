"""The tickets' lifecycle SQL: conditional status changes, staff listings, search, sweeps.

A status change is one compare-and-set UPDATE (`... WHERE status IN (...)`): of two
specialists pressing Take at once, the database lets exactly one match; the other's UPDATE
finds nothing to change. ORM objects in the session are not touched by it (the caller
refreshes the ticket it holds).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RelayedMessage, Ticket, TicketEvent, User

LIKE_ESCAPE = "\\"


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def move(self, ticket_id: int, from_statuses: Collection[str], **values: Any) -> bool:
        """Set `values` if the ticket's status is one of `from_statuses`; True if it was."""
        return await self._update(
            Ticket.id == ticket_id, Ticket.status.in_(list(from_statuses)), **values
        )

    async def set(self, ticket_id: int, *where: ColumnElement[bool], **values: Any) -> bool:
        """Set `values` on the ticket if `where` holds; True if it did."""
        return await self._update(Ticket.id == ticket_id, *where, **values)

    async def _update(self, *where: ColumnElement[bool], **values: Any) -> bool:
        result = await self._session.execute(
            update(Ticket)
            .where(*where)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def release_user(self, ticket_id: int) -> None:
        """Whoever has this ticket as their active one goes back to the FAQ."""
        await self._session.execute(
            update(User)
            .where(User.active_ticket_id == ticket_id)
            .values(active_ticket_id=None)
            .execution_options(synchronize_session=False)
        )

    def add_event(
        self, ticket_id: int, kind: str, actor_id: int | None, detail: str | None, at: datetime
    ) -> None:
        self._session.add(
            TicketEvent(
                ticket_id=ticket_id, kind=kind, actor_id=actor_id, detail=detail, created_at=at
            )
        )

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        rows = await self._session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return list(rows)

    async def message_counts(self, ticket_id: int) -> dict[str, int]:
        """How many messages went each way (`to_staff`, `to_user`)."""
        rows = await self._session.execute(
            select(RelayedMessage.direction, func.count())
            .where(RelayedMessage.ticket_id == ticket_id)
            .group_by(RelayedMessage.direction)
        )
        return {direction: int(count) for direction, count in rows.all()}

    # -- staff views ------------------------------------------------------------------------

    async def listing(
        self, *where: ColumnElement[bool], limit: int, newest_first: bool = False
    ) -> list[Ticket]:
        order = Ticket.updated_at.desc() if newest_first else Ticket.created_at
        rows = await self._session.scalars(
            select(Ticket).where(*where).order_by(order).limit(limit)
        )
        return list(rows)

    async def search(self, text: str, limit: int) -> list[Ticket]:
        """Tickets whose company, contact, place, description or registration number holds
        `text` (any case), newest first."""
        pattern = "%" + _escape_like(text.lower()) + "%"
        fields = (
            Ticket.company,
            Ticket.contact,
            Ticket.location,
            Ticket.description,
            Ticket.registration_number,
        )
        match = or_(*(func.lower(f).like(pattern, escape=LIKE_ESCAPE) for f in fields))
        rows = await self._session.scalars(
            select(Ticket).where(match).order_by(Ticket.id.desc()).limit(limit)
        )
        return list(rows)

    # -- sweeps -----------------------------------------------------------------------------

    async def unanswered(
        self, open_statuses: Collection[str], created_before: datetime, limit: int
    ) -> list[Ticket]:
        """Open tickets with a topic, no first answer, not flagged yet, filed before then."""
        rows = await self._session.scalars(
            select(Ticket)
            .where(
                Ticket.status.in_(list(open_statuses)),
                Ticket.first_response_at.is_(None),
                Ticket.waiting_alert_at.is_(None),
                Ticket.topic_id.is_not(None),
                Ticket.created_at <= created_before,
            )
            .order_by(Ticket.id)
            .limit(limit)
        )
        return list(rows)

    async def topics_behind(self, synced_before: datetime, limit: int) -> list[Ticket]:
        """Tickets whose topic title does not show their status yet, not renamed recently."""
        rows = await self._session.scalars(
            select(Ticket)
            .where(
                Ticket.topic_id.is_not(None),
                Ticket.staff_chat_id.is_not(None),
                func.coalesce(Ticket.topic_status, "new") != Ticket.status,
                or_(Ticket.topic_synced_at.is_(None), Ticket.topic_synced_at <= synced_before),
            )
            .order_by(Ticket.updated_at)
            .limit(limit)
        )
        return list(rows)

    async def awaiting_comment(self, user_id: int, rated_after: datetime) -> Ticket | None:
        """The person's ticket rated most recently (after then) that has no comment yet."""
        return await self._session.scalar(
            select(Ticket)
            .where(
                Ticket.user_id == user_id,
                Ticket.rated_at >= rated_after,
                Ticket.csat_comment.is_(None),
            )
            .order_by(Ticket.rated_at.desc())
            .limit(1)
        )


def _escape_like(text: str) -> str:
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
