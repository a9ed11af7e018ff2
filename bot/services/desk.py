"""The help desk: hands each ticket to staff, and carries the conversation both ways through
the outbox. Knows nothing of aiogram.

A ticket's *place* among staff is its own forum topic or, in a staff group without topics, its
card: the card is posted in the group and everything for the ticket (evidence, the user's
messages) is posted as a reply to it; staff answer by replying to any of them, and the reply is
routed through what was stored when those messages were sent (never by reading their text).

A ticket without a staff chat is the durable "to hand off" mark: `handoff_pending()` creates the
topic (under the ticket's topic lock, shared by every replica through `bot.locks`; on
PostgreSQL the ticket row is also locked), stores it, and queues the card (with its Take /
Resolve / Close buttons), the evidence and any messages that waited for the topic, all in one
transaction. Run after each filed ticket and on a timer, it also recovers from crashes.
No transaction stays open while Telegram is called, except PostgreSQL's row lock on the ticket
being handed off (it keeps replicas from creating a second topic and blocks nobody else).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.locks import LocalLocks, Locks
from bot.services.outbox import (
    PRIORITY_CARD,
    PRIORITY_LOW,
    PRIORITY_NOTICE,
    PRIORITY_RELAY,
    RELAY_BLOCKED,
    RELAY_DELIVERED,
    RELAY_FAILED,
    RELAY_RETRYING,
    Kind,
    Outbox,
)
from bot.services.ports import DeliveryError, Messenger, NotAForum, Permanent
from db.models import OutboxMessage, RelayedMessage, Ticket, User, utcnow
from db.repositories.tickets import TicketRepository

log = logging.getLogger("ipdesk.desk")

TO_STAFF = "to_staff"
TO_USER = "to_user"
WAITING_TOPIC = "waiting_topic"  # relayed before the ticket had its place among staff
ALBUM_PART = "album"  # a part of an album, stored, waiting for the album to go quiet
ALBUM_STALE_SECONDS = 10.0  # parts still waiting after this (a restart): the sweep sends them
TOPIC_NAME_LIMIT = 128
PREVIEW_LIMIT = 300
HISTORY_LIMIT = 30  # relayed messages listed in the summary re-posted in a re-created topic
# What a relayed message's source shows about its copy. Telegram's reactions have no check
# mark; these are among the emoji a bot may set (the card explains them to staff).
DELIVERED_MARK = "👌"
RETRYING_MARK = "⚡"
BLOCKED_MARK = "💔"
FAILED_MARK = "🤷"
UNDELIVERED_MARKS = {RELAY_BLOCKED: BLOCKED_MARK, RELAY_FAILED: FAILED_MARK}


@dataclass(frozen=True, slots=True)
class Content:
    """What a relayed message is (Telegram's content type) and the start of its text or
    caption, plain: kept for the history summary and to know which kind of edit applies."""

    kind: str = "text"
    preview: str | None = None
    album: str | None = None  # the media_group_id of an album's part

    @property
    def is_text(self) -> bool:
        return self.kind == "text"


@dataclass(frozen=True, slots=True)
class Renderers:
    """Texts the desk posts, rendered in the staff language by the caller's i18n."""

    topic_name: Callable[[Ticket], str]
    card: Callable[[Ticket, int], str]  # ticket, number of attachments
    topic_recreated: Callable[[Ticket], str]
    user_blocked: Callable[[Ticket], str]
    # ticket, its last relayed messages (oldest first), how many there are in all
    history: Callable[[Ticket, Sequence[RelayedMessage], int], str]
    # The card's buttons (Take / Resolve / Close) as Bot API JSON; None: no buttons.
    card_markup: Callable[[Ticket], dict[str, Any] | None] = lambda _ticket: None


@dataclass(frozen=True, slots=True)
class Place:
    """Where a ticket's messages go in the staff chat: its topic, or replying to its card."""

    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None

    def enqueue(
        self,
        outbox: Outbox,
        kind: str,
        params: dict[str, object],
        *,
        priority: int,
        ticket_id: int | None,
        relay_id: int | None = None,
    ) -> None:
        """Queue a message for this place: in the topic, or as a reply to the card."""
        if self.reply_to is not None:
            params = {**params, "reply_to": self.reply_to}
        outbox.enqueue(
            kind,
            self.chat_id,
            params,
            thread_id=self.thread_id,
            priority=priority,
            ticket_id=ticket_id,
            relay_id=relay_id,
        )


def place_of(ticket: Ticket) -> Place | None:
    """None while the ticket has no topic yet (or, without topics, no delivered card)."""
    if ticket.staff_chat_id is None:
        return None
    if ticket.topic_id is not None:
        return Place(ticket.staff_chat_id, thread_id=ticket.topic_id)
    if ticket.card_message_id is not None:
        return Place(ticket.staff_chat_id, reply_to=ticket.card_message_id)
    return None


class TicketDesk:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        *,
        staff_chat_id: int | None,
        render: Renderers,
        wake_outbox: Callable[[], None],
        locks: Locks | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._messenger = messenger
        self._staff_chat_id = staff_chat_id
        self._render = render
        self._wake_outbox = wake_outbox
        self._lock = asyncio.Lock()
        self._forum: bool | None = None  # asked once (getChat), again after a surprise
        self._locks = locks or LocalLocks()  # across replicas: one topic per ticket

    @property
    def staff_chat_id(self) -> int | None:
        return self._staff_chat_id

    # -- hand-off ---------------------------------------------------------------------------

    async def handoff_pending(self) -> int:
        """Give every ticket without a place among staff its topic (or card); how many."""
        if self._staff_chat_id is None:
            return 0
        done = 0
        async with self._lock:
            while await self._handoff_one():
                done += 1
            released = await self._release_waiting()
            released += await self._flush_stale_albums()
        if done or released:
            self._wake_outbox()
        return done

    async def _has_topics(self) -> bool | None:
        """Whether the staff chat is a forum (None: Telegram could not say now)."""
        assert self._staff_chat_id is not None
        if self._forum is None:
            try:
                self._forum = await self._messenger.is_forum(self._staff_chat_id)
            except DeliveryError as error:
                log.warning("hand-off: cannot tell whether the staff chat has topics: %r", error)
                return None
            if not self._forum:
                log.warning("the staff chat has no topics: tickets are posted as cards in it")
        return self._forum

    async def _handoff_one(self) -> bool:
        chat_id = self._staff_chat_id
        assert chat_id is not None
        forum = await self._has_topics()
        if forum is None:
            return False
        async with self._sessionmaker() as session:
            ticket_id = await TicketRepository(session).next_to_hand_off()
        if ticket_id is None:
            return False
        # Read again under the lock, in a new transaction: another replica may have done it.
        async with self._locks.hold(topic_lock(ticket_id)), self._sessionmaker() as session:
            tickets = TicketRepository(session)
            ticket = await tickets.to_hand_off(ticket_id)
            if ticket is None:
                return True  # handed off meanwhile: look for the next one
            if session.bind is not None and session.bind.dialect.name != "postgresql":
                await session.commit()  # SQLite: the writer lock is not held across the call
            thread_id = None
            if forum:
                name = self._render.topic_name(ticket)[:TOPIC_NAME_LIMIT]
                try:
                    thread_id = await self._messenger.create_topic(chat_id, name)
                except NotAForum:
                    log.warning("the staff chat has no topics any more: posting cards")
                    self._forum = False
                except DeliveryError as error:
                    log.warning("hand-off: topic for ticket %s not created: %r", ticket.id, error)
                    return False
            if not await tickets.place(ticket.id, chat_id, thread_id):
                log.warning("hand-off: ticket %s was handed off meanwhile", ticket.id)
                return True
            await self._queue_card(session, ticket, Place(chat_id, thread_id=thread_id))
            await session.commit()
            log.info("ticket handed off", extra={"ticket": ticket.id, "thread_id": thread_id})
            return True

    async def _queue_card(
        self, session: AsyncSession, ticket: Ticket, place: Place, *, history: bool = False
    ) -> None:
        """The card, and in a topic at once the evidence, the history summary (`history`) and
        the messages that waited; in a plain group these follow when the card is delivered,
        as replies to it (`_card_delivered`)."""
        outbox = Outbox(session)
        parts = await TicketRepository(session).attachments(ticket.id)
        card: dict[str, Any] = {"text": self._render.card(ticket, len(parts))}
        if (markup := self._render.card_markup(ticket)) is not None:
            card["reply_markup"] = markup
        outbox.enqueue(
            Kind.CARD,
            place.chat_id,
            card,
            thread_id=place.thread_id,
            priority=PRIORITY_CARD,
            ticket_id=ticket.id,
        )
        if place.thread_id is not None:
            await self._queue_after_card(session, ticket, place, history=history)

    async def _queue_after_card(
        self, session: AsyncSession, ticket: Ticket, place: Place, *, history: bool
    ) -> None:
        outbox = Outbox(session)
        tickets = TicketRepository(session)
        for part in await tickets.attachments(ticket.id):
            if part.source_message_id is not None and ticket.user_id is not None:
                place.enqueue(
                    outbox,
                    Kind.COPY,
                    {"from_chat_id": ticket.user_id, "message_id": part.source_message_id},
                    priority=PRIORITY_CARD,
                    ticket_id=ticket.id,
                )
        if history:
            entries, total = await tickets.history(ticket.id, HISTORY_LIMIT)
            if entries:
                self._post(outbox, ticket, place, self._render.history(ticket, entries, total))
        for relay in await tickets.waiting(WAITING_TOPIC, ticket.id):
            self._release(outbox, relay, place)

    async def _release_waiting(self) -> int:
        """Messages left waiting although their ticket has its place now (a race with the
        hand-off or a crash): queue them."""
        async with self._sessionmaker() as session:
            tickets = TicketRepository(session)
            waiting = await tickets.waiting(WAITING_TOPIC)
            outbox = Outbox(session)
            for relay in waiting:
                ticket = await session.get(Ticket, relay.ticket_id)
                place = place_of(ticket) if ticket is not None else None
                if place is not None:
                    self._release(outbox, relay, place)
            await session.commit()
        return len(waiting)

    def _release(self, outbox: Outbox, relay: RelayedMessage, place: Place) -> None:
        relay.status = "pending"
        relay.target_chat_id = place.chat_id
        self._queue_copy(outbox, relay, place)

    # -- relay ------------------------------------------------------------------------------

    async def relay_to_staff(
        self,
        session: AsyncSession,
        ticket: Ticket,
        chat_id: int,
        message_id: int,
        content: Content | None = None,
    ) -> bool:
        """Queue a user's message for the ticket's place; False if it was relayed already."""
        place = place_of(ticket)
        relay = self._relay(ticket, TO_STAFF, chat_id, message_id, content)
        relay.target_chat_id = ticket.staff_chat_id or self._staff_chat_id or 0
        relay.status = "pending" if place is not None else WAITING_TOPIC
        if relay.media_group_id is not None and place is not None and place.reply_to is None:
            relay.status = ALBUM_PART  # flush_album() sends the parts together
        if not await self._add(session, relay):
            return False
        if relay.status == "pending" and place is not None:
            self._queue_copy(Outbox(session), relay, place)
        ticket.updated_at = utcnow()
        await session.commit()
        self._wake_outbox()
        return True

    async def relay_to_user(
        self,
        session: AsyncSession,
        ticket: Ticket,
        chat_id: int,
        message_id: int,
        content: Content | None = None,
    ) -> bool:
        """Queue a staff message for the user; False if relayed already."""
        if ticket.user_id is None:
            return False
        relay = self._relay(ticket, TO_USER, chat_id, message_id, content)
        relay.target_chat_id = ticket.user_id
        relay.status = "pending" if relay.media_group_id is None else ALBUM_PART
        if not await self._add(session, relay):
            return False
        if relay.status == "pending":
            self._queue_copy(Outbox(session), relay, Place(ticket.user_id))
        ticket.updated_at = utcnow()
        await session.commit()
        self._wake_outbox()
        return True

    @staticmethod
    def _relay(
        ticket: Ticket, direction: str, chat_id: int, message_id: int, content: Content | None
    ) -> RelayedMessage:
        content = content or Content()
        return RelayedMessage(
            ticket_id=ticket.id,
            direction=direction,
            source_chat_id=chat_id,
            source_message_id=message_id,
            content=content.kind[:16],
            preview=(content.preview or "")[:PREVIEW_LIMIT] or None,
            media_group_id=content.album,
        )

    async def flush_album(self, chat_id: int, media_group_id: str) -> None:
        """An album has gone quiet: copy its stored parts together, as one album (one part,
        or a place that needs replies to a card: one by one; no place yet: they wait)."""
        async with self._sessionmaker() as session:
            tickets = TicketRepository(session)
            parts = await tickets.album_parts(chat_id, media_group_id, ALBUM_PART)
            if not parts:
                return  # flushed already (the sweep, or another replica)
            ticket = await session.get(Ticket, parts[0].ticket_id)
            if ticket is None:
                return
            place = Place(parts[0].target_chat_id) if parts[0].direction == TO_USER else None
            place = place or place_of(ticket)
            outbox = Outbox(session)
            if place is None:
                for part in parts:
                    part.status = WAITING_TOPIC
            elif len(parts) == 1 or place.reply_to is not None:
                for part in parts:
                    self._release(outbox, part, place)
            else:
                for part in parts:
                    part.status, part.target_chat_id = "pending", place.chat_id
                outbox.enqueue(
                    Kind.ALBUM,
                    place.chat_id,
                    {"from_chat_id": chat_id, "message_ids": [p.source_message_id for p in parts]},
                    thread_id=place.thread_id,
                    priority=PRIORITY_RELAY,
                    ticket_id=ticket.id,
                    relay_id=parts[0].id,
                )
            await session.commit()
        self._wake_outbox()

    async def _flush_stale_albums(self) -> int:
        """Albums whose quiet period passed unseen (the process stopped meanwhile)."""
        async with self._sessionmaker() as session:
            groups = await TicketRepository(session).stale_albums(
                ALBUM_PART, utcnow() - timedelta(seconds=ALBUM_STALE_SECONDS)
            )
        for chat_id, media_group_id in groups:
            await self.flush_album(chat_id, media_group_id)
        return len(groups)

    async def ticket_of_staff_message(
        self,
        session: AsyncSession,
        chat_id: int,
        *,
        thread_id: int | None,
        reply_to: int | None,
    ) -> Ticket | None:
        """The ticket a staff message is about: its topic's, or (a group without topics) that
        of the message it replies to."""
        tickets = TicketRepository(session)
        if thread_id is not None:
            return await tickets.of_topic(chat_id, thread_id)
        if reply_to is not None:
            return await tickets.of_staff_message(chat_id, reply_to)
        return None

    async def ticket_of_topic(
        self, session: AsyncSession, chat_id: int, thread_id: int
    ) -> Ticket | None:
        return await TicketRepository(session).of_topic(chat_id, thread_id)

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
    def _queue_copy(outbox: Outbox, relay: RelayedMessage, place: Place) -> None:
        place.enqueue(
            outbox,
            Kind.COPY,
            {"from_chat_id": relay.source_chat_id, "message_id": relay.source_message_id},
            priority=PRIORITY_RELAY,
            ticket_id=relay.ticket_id,
            relay_id=relay.id,
        )

    @staticmethod
    def _post(
        outbox: Outbox, ticket: Ticket, place: Place, text: str, priority: int = PRIORITY_CARD
    ) -> None:
        place.enqueue(outbox, Kind.TEXT, {"text": text}, priority=priority, ticket_id=ticket.id)

    # -- outbox hooks -----------------------------------------------------------------------

    async def on_thread_lost(self, row: OutboxMessage) -> int | None:
        """Staff deleted the topic: open a new one, say so there, post the card and the
        conversation so far again, and carry on in it."""
        if row.ticket_id is None or self._staff_chat_id is None:
            return None
        async with self._lock, self._locks.hold(topic_lock(row.ticket_id)):
            async with self._sessionmaker() as session:
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
            except (NotAForum, Permanent):
                return None
            async with self._sessionmaker() as session:
                ticket = await session.get(Ticket, row.ticket_id)
                if ticket is None:
                    return None
                ticket.topic_id = thread_id
                place = Place(self._staff_chat_id, thread_id=thread_id)
                # All at the card's priority, in this order, before the rows that follow.
                self._post(Outbox(session), ticket, place, self._render.topic_recreated(ticket))
                await self._queue_card(session, ticket, place, history=True)
                await session.commit()
            return thread_id

    async def on_blocked(self, row: OutboxMessage) -> None:
        """The user blocked the bot: mark them, and tell staff in the ticket's place."""
        async with self._sessionmaker() as session:
            user = await session.get(User, row.chat_id)
            already_known = user is not None and user.blocked_at is not None
            if user is not None:
                user.blocked_at = utcnow()
            ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
            place = place_of(ticket) if ticket is not None else None
            if not already_known and ticket is not None and place is not None:
                self._post(
                    Outbox(session),
                    ticket,
                    place,
                    self._render.user_blocked(ticket),
                    PRIORITY_NOTICE,
                )
            await session.commit()
        self._wake_outbox()

    async def on_chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        if old_chat_id == self._staff_chat_id:
            self._staff_chat_id = new_chat_id
            self._forum = None  # a new chat: ask again
        async with self._sessionmaker() as session:
            tickets = await session.scalars(
                select(Ticket).where(Ticket.staff_chat_id == old_chat_id)
            )
            for ticket in tickets:
                ticket.staff_chat_id = new_chat_id
            await session.commit()

    async def on_delivered(self, row: OutboxMessage, message_ids: Sequence[int]) -> None:
        """A card arrived: the ticket keeps its message id (in a group without topics the
        evidence and waiting messages follow as replies to it). A relayed message arrived:
        mark its source with a reaction, so the sender sees it, and apply an edit of the
        source that came before the copy existed."""
        if row.kind == Kind.CARD and row.ticket_id is not None:
            await self._card_delivered(row)
            return
        if row.relay_id is None or row.kind not in (Kind.COPY, Kind.ALBUM):
            return
        async with self._sessionmaker() as session:
            relays = await self._relays_of(session, row)
            outbox = Outbox(session)
            for relay, copy_id in zip(relays, message_ids, strict=False):
                relay.status, relay.target_message_id = RELAY_DELIVERED, copy_id
                self._mark(outbox, relay, DELIVERED_MARK)
                if relay.pending_edit is not None:
                    self._queue_edit(outbox, relay, relay.pending_edit)
                    relay.pending_edit = None
            await session.commit()
        self._wake_outbox()

    @staticmethod
    async def _relays_of(session: AsyncSession, row: OutboxMessage) -> list[RelayedMessage]:
        """The relayed messages a copy row carries: one, or an album's parts in order."""
        assert row.relay_id is not None
        relay = await session.get(RelayedMessage, row.relay_id)
        if relay is None:
            return []
        if row.kind != Kind.ALBUM or relay.media_group_id is None:
            return [relay]
        return await TicketRepository(session).album_parts(
            relay.source_chat_id, relay.media_group_id
        )

    async def _card_delivered(self, row: OutboxMessage) -> None:
        assert row.ticket_id is not None
        async with self._sessionmaker() as session:
            ticket = await session.get(Ticket, row.ticket_id)
            if ticket is None or row.result_message_id is None:
                return
            first = ticket.card_message_id is None
            ticket.card_message_id = row.result_message_id
            await session.flush()  # the waiting messages are found by their ticket's place
            place = place_of(ticket)
            if first and ticket.topic_id is None and place is not None:
                await self._queue_after_card(session, ticket, place, history=False)
            await session.commit()
        self._wake_outbox()

    async def on_undelivered(self, row: OutboxMessage, status: str, *, first: bool) -> None:
        """Staff see on their message what became of its copy: ⚡ retrying (once), 💔 the
        user blocked the bot, 🤷 refused."""
        mark = UNDELIVERED_MARKS.get(status)
        if status == RELAY_RETRYING and first:
            mark = RETRYING_MARK
        if row.relay_id is None:
            return
        async with self._sessionmaker() as session:
            relays = await self._relays_of(session, row)
            outbox = Outbox(session)
            for relay in relays:
                relay.status = status  # an album's other parts too
                if mark is not None and relay.direction == TO_USER:
                    self._mark(outbox, relay, mark)
            await session.commit()
        self._wake_outbox()

    @staticmethod
    def _mark(outbox: Outbox, relay: RelayedMessage, emoji: str) -> None:
        outbox.enqueue(
            Kind.REACT,
            relay.source_chat_id,
            {"message_id": relay.source_message_id, "emoji": emoji},
            priority=PRIORITY_LOW,
            ticket_id=relay.ticket_id,
        )

    async def mirror_edit(
        self,
        session: AsyncSession,
        chat_id: int,
        message_id: int,
        html_text: str,
        preview: str | None = None,
    ) -> bool:
        """An edited source message: edit its copy too (its text, or a media's caption).

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
        relay.preview = (preview or "")[:PREVIEW_LIMIT] or None
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
        if relay.content in (None, "text"):
            kind, params = Kind.EDIT, {"message_id": relay.target_message_id, "text": html_text}
        else:
            kind, params = (
                Kind.CAPTION,
                {"message_id": relay.target_message_id, "caption": html_text},
            )
        outbox.enqueue(
            kind,
            relay.target_chat_id,
            params,
            priority=PRIORITY_RELAY,
            ticket_id=relay.ticket_id,
        )


def topic_lock(ticket_id: int) -> str:
    """The lock every replica takes before creating or re-creating a ticket's topic."""
    return f"ticket:{ticket_id}:topic"


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
