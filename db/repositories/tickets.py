"""Tickets and what was carried for them: which ticket a staff message belongs to, the messages
waiting for a ticket's place among staff, a ticket's conversation so far; and the lifecycle's SQL:
conditional status changes, staff listings, search, sweeps.

A status change is one compare-and-set UPDATE (`... WHERE status IN (...)`): of two
specialists pressing Take at once, the database lets exactly one match; the other's UPDATE
finds nothing to change. ORM objects in the session are not touched by it (the caller
refreshes the ticket it holds).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage, RelayedMessage, Ticket, TicketAttachment, TicketEvent, User

LIKE_ESCAPE = "\\"


def _unplaced() -> ColumnElement[bool]:
    """Tickets not yet handed to staff: no group stored (the durable "to hand off" mark)."""
    return Ticket.staff_chat_id.is_(None)


def _placed() -> ColumnElement[bool]:
    """Tickets with a place among staff: a topic, or a delivered card in a plain group."""
    return and_(
        Ticket.staff_chat_id.is_not(None),
        or_(Ticket.topic_id.is_not(None), Ticket.card_message_id.is_not(None)),
    )


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _postgres(self) -> bool:
        return self._session.bind is not None and self._session.bind.dialect.name == "postgresql"

    async def next_to_hand_off(self) -> int | None:
        """The id of the oldest ticket not handed to staff (read without a lock: the caller
        takes the ticket's topic lock, then `to_hand_off`)."""
        return await self._session.scalar(
            select(Ticket.id).where(_unplaced()).order_by(Ticket.id).limit(1)
        )

    async def to_hand_off(self, ticket_id: int) -> Ticket | None:
        """The ticket, if it is still not handed to staff; on PostgreSQL its row is locked until
        the caller's transaction ends, so two replicas never hand off one ticket."""
        query = select(Ticket).where(Ticket.id == ticket_id, _unplaced())
        if self._postgres:
            query = query.with_for_update()
        return await self._session.scalar(query)

    async def place(self, ticket_id: int, chat_id: int, topic_id: int | None) -> bool:
        """Store where the ticket went, unless someone stored it first."""
        result = await self._session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, _unplaced())
            .values(staff_chat_id=chat_id, topic_id=topic_id)
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0))

    async def of_topic(self, chat_id: int, thread_id: int) -> Ticket | None:
        return await self._session.scalar(
            select(Ticket).where(Ticket.staff_chat_id == chat_id, Ticket.topic_id == thread_id)
        )

    async def of_staff_message(self, chat_id: int, message_id: int) -> Ticket | None:
        """The ticket a message in the staff chat belongs to, from what was stored when it was
        sent or relayed: its card, a copy of the user's message, a staff message relayed to the
        user, or anything else the bot posted for the ticket (evidence, notices)."""
        card = await self._session.scalar(
            select(Ticket).where(
                Ticket.staff_chat_id == chat_id, Ticket.card_message_id == message_id
            )
        )
        if card is not None:
            return card
        relayed = await self._session.scalar(
            select(RelayedMessage.ticket_id)
            .where(
                or_(
                    and_(
                        RelayedMessage.target_chat_id == chat_id,
                        RelayedMessage.target_message_id == message_id,
                    ),
                    and_(
                        RelayedMessage.source_chat_id == chat_id,
                        RelayedMessage.source_message_id == message_id,
                    ),
                )
            )
            .limit(1)
        )
        if relayed is None:
            relayed = await self._session.scalar(
                select(OutboxMessage.ticket_id)
                .where(
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.result_message_id == message_id,
                    OutboxMessage.ticket_id.is_not(None),
                )
                .limit(1)
            )
        return await self._session.get(Ticket, relayed) if relayed is not None else None

    async def attachments(self, ticket_id: int) -> list[TicketAttachment]:
        rows = await self._session.scalars(
            select(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket_id)
            .order_by(TicketAttachment.id)
        )
        return list(rows)

    async def waiting(self, status: str, ticket_id: int | None = None) -> list[RelayedMessage]:
        """Messages with `status` (waiting for their ticket's place) whose ticket has one now;
        all tickets' when `ticket_id` is None."""
        query = (
            select(RelayedMessage)
            .join(Ticket, Ticket.id == RelayedMessage.ticket_id)
            .where(RelayedMessage.status == status, _placed())
            .order_by(RelayedMessage.id)
        )
        if ticket_id is not None:
            query = query.where(RelayedMessage.ticket_id == ticket_id)
        return list(await self._session.scalars(query))

    async def album_parts(
        self, chat_id: int, media_group_id: str, status: str | None = None
    ) -> list[RelayedMessage]:
        """An album's relayed parts (with `status`, if given), in the order they were sent."""
        query = select(RelayedMessage).where(
            RelayedMessage.source_chat_id == chat_id,
            RelayedMessage.media_group_id == media_group_id,
        )
        if status is not None:
            query = query.where(RelayedMessage.status == status)
        return list(await self._session.scalars(query.order_by(RelayedMessage.source_message_id)))

    async def stale_albums(self, status: str, before: datetime) -> list[tuple[int, str]]:
        """Albums with parts still in `status` since before `before`."""
        rows = await self._session.execute(
            select(RelayedMessage.source_chat_id, RelayedMessage.media_group_id)
            .where(
                RelayedMessage.status == status,
                RelayedMessage.media_group_id.is_not(None),
                RelayedMessage.created_at < before,
            )
            .distinct()
        )
        return [(int(chat), str(group)) for chat, group in rows]

    async def history(self, ticket_id: int, limit: int) -> tuple[Sequence[RelayedMessage], int]:
        """The ticket's last `limit` relayed messages, oldest first, and how many there are."""
        total = await self._session.scalar(
            select(func.count())
            .select_from(RelayedMessage)
            .where(RelayedMessage.ticket_id == ticket_id)
        )
        rows = await self._session.scalars(
            select(RelayedMessage)
            .where(RelayedMessage.ticket_id == ticket_id)
            .order_by(RelayedMessage.id.desc())
            .limit(limit)
        )
        return list(reversed(list(rows))), int(total or 0)

    # -- lifecycle ---------------------------------------------------------------------------

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
        """Open tickets handed to staff (a topic, or a card in a group without topics), with no
        first answer, not flagged yet, filed before then."""
        rows = await self._session.scalars(
            select(Ticket)
            .where(
                Ticket.status.in_(list(open_statuses)),
                Ticket.first_response_at.is_(None),
                Ticket.waiting_alert_at.is_(None),
                Ticket.staff_chat_id.is_not(None),
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
