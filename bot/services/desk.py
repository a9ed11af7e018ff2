"""The help desk: hands each ticket to staff in its own forum topic, and carries the
conversation both ways through the outbox. Knows nothing of aiogram.

A ticket without a topic is the durable "to hand off" mark: `handoff_pending()` creates the
topic (one at a time per process; on PostgreSQL the ticket row is locked with SKIP LOCKED),
stores it, and queues the card, the evidence and any messages that waited for the topic, all
in one transaction. Run after each filed ticket and on a timer, it also recovers from crashes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.outbox import (
    PRIORITY_CARD,
    PRIORITY_LOW,
    PRIORITY_NOTICE,
    PRIORITY_RELAY,
    Kind,
    Outbox,
)
from bot.services.ports import DeliveryError, Messenger, Permanent
from db.models import OutboxMessage, RelayedMessage, Ticket, TicketAttachment, User, utcnow

log = logging.getLogger("ipdesk.desk")

TO_STAFF = "to_staff"
TO_USER = "to_user"
WAITING_TOPIC = "waiting_topic"  # relayed before the ticket had its topic
TOPIC_NAME_LIMIT = 128
DELIVERED_MARK = "👌"  # Telegram's reactions have no check mark; 👌 is the closest


@dataclass(frozen=True, slots=True)
class Renderers:
    """Texts the desk posts, rendered in the staff language by the caller's i18n."""

    topic_name: Callable[[Ticket], str]
    card: Callable[[Ticket, int], str]  # ticket, number of attachments
    topic_recreated: Callable[[Ticket], str]
    user_blocked: Callable[[Ticket], str]


class TicketDesk:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        *,
        staff_chat_id: int | None,
        render: Renderers,
        wake_outbox: Callable[[], None],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._messenger = messenger
        self._staff_chat_id = staff_chat_id
        self._render = render
        self._wake_outbox = wake_outbox
        self._lock = asyncio.Lock()

    @property
    def staff_chat_id(self) -> int | None:
        return self._staff_chat_id

    # -- hand-off ---------------------------------------------------------------------------

    async def handoff_pending(self) -> int:
        """Give every ticket without a topic its topic and card; returns how many."""
        if self._staff_chat_id is None:
            return 0
        done = 0
        async with self._lock:
            while await self._handoff_one():
                done += 1
        if done:
            self._wake_outbox()
        return done

    async def _handoff_one(self) -> bool:
        assert self._staff_chat_id is not None
        async with self._sessionmaker() as session:
            query = select(Ticket).where(Ticket.topic_id.is_(None)).order_by(Ticket.id).limit(1)
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ticket = await session.scalar(query)
            if ticket is None:
                return False
            name = self._render.topic_name(ticket)[:TOPIC_NAME_LIMIT]
            try:
                thread_id = await self._messenger.create_topic(self._staff_chat_id, name)
            except DeliveryError as error:
                log.warning("hand-off: topic for ticket %s not created: %r", ticket.id, error)
                return False
            ticket.staff_chat_id, ticket.topic_id = self._staff_chat_id, thread_id
            await self._queue_card(session, ticket, thread_id)
            await session.commit()
            log.info("ticket handed off", extra={"ticket": ticket.id, "topic": thread_id})
            return True

    async def _queue_card(self, session: AsyncSession, ticket: Ticket, thread_id: int) -> None:
        assert self._staff_chat_id is not None
        outbox = Outbox(session)
        parts = list(
            await session.scalars(
                select(TicketAttachment)
                .where(TicketAttachment.ticket_id == ticket.id)
                .order_by(TicketAttachment.id)
            )
        )
        outbox.enqueue(
            Kind.TEXT,
            self._staff_chat_id,
            {"text": self._render.card(ticket, len(parts))},
            thread_id=thread_id,
            priority=PRIORITY_CARD,
            ticket_id=ticket.id,
        )
        for part in parts:
            if part.source_message_id is not None and ticket.user_id is not None:
                outbox.enqueue(
                    Kind.COPY,
                    self._staff_chat_id,
                    {"from_chat_id": ticket.user_id, "message_id": part.source_message_id},
                    thread_id=thread_id,
                    priority=PRIORITY_CARD,
                    ticket_id=ticket.id,
                )
        waiting = await session.scalars(
            select(RelayedMessage)
            .where(RelayedMessage.ticket_id == ticket.id, RelayedMessage.status == WAITING_TOPIC)
            .order_by(RelayedMessage.id)
        )
        for relay in waiting:
            relay.status = "pending"
            relay.target_chat_id = self._staff_chat_id
            self._queue_copy(outbox, relay, thread_id)

    # -- relay ------------------------------------------------------------------------------

    async def relay_to_staff(
        self, session: AsyncSession, ticket: Ticket, chat_id: int, message_id: int
    ) -> bool:
        """Queue a user's message for the ticket's topic; False if it was relayed already."""
        relay = RelayedMessage(
            ticket_id=ticket.id,
            direction=TO_STAFF,
            source_chat_id=chat_id,
            source_message_id=message_id,
            target_chat_id=ticket.staff_chat_id or self._staff_chat_id or 0,
            status="pending" if ticket.topic_id is not None else WAITING_TOPIC,
        )
        if not await self._add(session, relay):
            return False
        if ticket.topic_id is not None:
            self._queue_copy(Outbox(session), relay, ticket.topic_id)
        ticket.updated_at = utcnow()
        await session.commit()
        self._wake_outbox()
        return True

    async def relay_to_user(
        self, session: AsyncSession, ticket: Ticket, chat_id: int, message_id: int
    ) -> bool:
        """Queue a staff message from the topic for the user; False if relayed already."""
        if ticket.user_id is None:
            return False
        relay = RelayedMessage(
            ticket_id=ticket.id,
            direction=TO_USER,
            source_chat_id=chat_id,
            source_message_id=message_id,
            target_chat_id=ticket.user_id,
            status="pending",
        )
        if not await self._add(session, relay):
            return False
        self._queue_copy(Outbox(session), relay, None)
        ticket.updated_at = utcnow()
        await session.commit()
        self._wake_outbox()
        return True

    async def ticket_of_topic(
        self, session: AsyncSession, chat_id: int, thread_id: int
    ) -> Ticket | None:
        return await session.scalar(
            select(Ticket).where(Ticket.staff_chat_id == chat_id, Ticket.topic_id == thread_id)
        )

    @staticmethod
    async def tickets_of(session: AsyncSession, user: User, limit: int = 10) -> list[Ticket]:
        """The person's tickets, open ones first, newest first."""
        rows = await session.scalars(
            select(Ticket)
            .where(Ticket.user_id == user.id)
            .order_by(Ticket.closed_at.is_not(None), Ticket.id.desc())
            .limit(limit)
        )
        return list(rows)

    @staticmethod
    async def enter(session: AsyncSession, user: User, ticket: Ticket) -> bool:
        """Make one of the person's open tickets the one their messages go to."""
        if ticket.user_id != user.id or ticket.closed_at is not None:
            return False
        user.active_ticket_id = ticket.id
        await session.commit()
        return True

    @staticmethod
    async def leave(session: AsyncSession, user: User) -> None:
        """The person's messages go back to the FAQ; staff replies still reach them."""
        user.active_ticket_id = None
        await session.commit()

    async def close(self, session: AsyncSession, ticket: Ticket, notice: str) -> bool:
        """Close the ticket, release its user's chat and tell them; False if already closed."""
        if ticket.closed_at is not None:
            return False
        ticket.status, ticket.closed_at = "closed", utcnow()
        if ticket.user_id is not None:
            user = await session.get(User, ticket.user_id)
            if user is not None and user.active_ticket_id == ticket.id:
                user.active_ticket_id = None
            Outbox(session).enqueue(
                Kind.TEXT,
                ticket.user_id,
                {"text": notice},
                priority=PRIORITY_NOTICE,
                ticket_id=ticket.id,
            )
        await session.commit()
        self._wake_outbox()
        return True

    @staticmethod
    async def active_ticket(session: AsyncSession, user: User) -> Ticket | None:
        if user.active_ticket_id is None:
            return None
        ticket = await session.get(Ticket, user.active_ticket_id)
        return ticket if ticket is not None and ticket.closed_at is None else None

    @staticmethod
    async def _add(session: AsyncSession, relay: RelayedMessage) -> bool:
        try:
            async with session.begin_nested():
                session.add(relay)
        except IntegrityError:  # the same source message again (a redelivered update)
            return False
        return True

    @staticmethod
    def _queue_copy(outbox: Outbox, relay: RelayedMessage, thread_id: int | None) -> None:
        outbox.enqueue(
            Kind.COPY,
            relay.target_chat_id,
            {"from_chat_id": relay.source_chat_id, "message_id": relay.source_message_id},
            thread_id=thread_id,
            priority=PRIORITY_RELAY,
            ticket_id=relay.ticket_id,
            relay_id=relay.id,
        )

    # -- outbox hooks -----------------------------------------------------------------------

    async def on_thread_lost(self, row: OutboxMessage) -> int | None:
        """Staff deleted the topic: open a new one, say so there, and carry on in it."""
        if row.ticket_id is None or self._staff_chat_id is None:
            return None
        async with self._lock, self._sessionmaker() as session:
            ticket = await session.get(Ticket, row.ticket_id)
            if ticket is None:
                return None
            if ticket.topic_id is not None and ticket.topic_id != row.thread_id:
                return ticket.topic_id  # already re-created for an earlier message
            # A 429 or 5xx here propagates: the worker retries the row later.
            try:
                thread_id = await self._messenger.create_topic(
                    self._staff_chat_id, self._render.topic_name(ticket)[:TOPIC_NAME_LIMIT]
                )
            except Permanent:
                return None
            ticket.topic_id = thread_id
            outbox = Outbox(session)
            outbox.enqueue(
                Kind.TEXT,
                self._staff_chat_id,
                {"text": self._render.topic_recreated(ticket)},
                thread_id=thread_id,
                priority=PRIORITY_NOTICE,
                ticket_id=ticket.id,
            )
            await session.commit()
            return thread_id

    async def on_blocked(self, row: OutboxMessage) -> None:
        """The user blocked the bot: mark them, and tell staff in the topic."""
        async with self._sessionmaker() as session:
            user = await session.get(User, row.chat_id)
            already_known = user is not None and user.blocked_at is not None
            if user is not None:
                user.blocked_at = utcnow()
            ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
            if (
                not already_known
                and ticket is not None
                and ticket.topic_id is not None
                and ticket.staff_chat_id
            ):
                Outbox(session).enqueue(
                    Kind.TEXT,
                    ticket.staff_chat_id,
                    {"text": self._render.user_blocked(ticket)},
                    thread_id=ticket.topic_id,
                    priority=PRIORITY_NOTICE,
                    ticket_id=ticket.id,
                )
            await session.commit()
        self._wake_outbox()

    async def on_chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        if old_chat_id == self._staff_chat_id:
            self._staff_chat_id = new_chat_id
        async with self._sessionmaker() as session:
            tickets = await session.scalars(
                select(Ticket).where(Ticket.staff_chat_id == old_chat_id)
            )
            for ticket in tickets:
                ticket.staff_chat_id = new_chat_id
            await session.commit()

    async def on_delivered(self, row: OutboxMessage) -> None:
        """A relayed message arrived: mark its source with a reaction, so the sender sees it,
        and apply an edit of the source that came before the copy existed."""
        if row.relay_id is None or row.kind != Kind.COPY:
            return
        async with self._sessionmaker() as session:
            relay = await session.get(RelayedMessage, row.relay_id)
            if relay is None:
                return
            outbox = Outbox(session)
            outbox.enqueue(
                Kind.REACT,
                relay.source_chat_id,
                {"message_id": relay.source_message_id, "emoji": DELIVERED_MARK},
                priority=PRIORITY_LOW,
                ticket_id=relay.ticket_id,
            )
            if relay.pending_edit is not None and relay.target_message_id is not None:
                self._queue_edit(outbox, relay, relay.pending_edit)
                relay.pending_edit = None
            await session.commit()
        self._wake_outbox()

    async def mirror_edit(
        self, session: AsyncSession, chat_id: int, message_id: int, html_text: str
    ) -> bool:
        """An edited source message: edit its copy too (text messages; captions stay).

        An edit that comes before the copy is delivered waits on the relay row and is applied
        on delivery; both paths may queue it, and a repeated edit changes nothing."""
        relay = await session.scalar(
            select(RelayedMessage).where(
                RelayedMessage.source_chat_id == chat_id,
                RelayedMessage.source_message_id == message_id,
            )
        )
        if relay is None:
            return False
        if relay.target_message_id is None:
            relay.pending_edit = html_text
            await session.commit()
            await session.refresh(relay)
            if relay.target_message_id is None:
                return True  # on_delivered applies it
        self._queue_edit(Outbox(session), relay, html_text)
        await session.commit()
        self._wake_outbox()
        return True

    @staticmethod
    def _queue_edit(outbox: Outbox, relay: RelayedMessage, html_text: str) -> None:
        assert relay.target_message_id is not None
        outbox.enqueue(
            Kind.EDIT,
            relay.target_chat_id,
            {"message_id": relay.target_message_id, "text": html_text},
            priority=PRIORITY_RELAY,
            ticket_id=relay.ticket_id,
        )


async def run_every(
    interval: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event
) -> None:
    """Run `job` now and then every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            await job()
        except (SQLAlchemyError, OSError):  # a database outage: try again next round
            log.warning("background job failed; retrying", exc_info=True)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            continue
