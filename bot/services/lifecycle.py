"""A ticket's life: new → in progress → resolved → closed, and back again. Knows nothing of aiogram.

Every transition is one conditional UPDATE (`... WHERE status IN (...)`), never a read and
then a write: when two specialists press Take at once, the database lets exactly one of the
updates match, and the other learns who won. What the user (or the topic) is told goes into
the outbox in the same transaction as the change, so both happen or neither.

    new ──take/assign/first answer──▶ in_progress ──resolve──▶ resolved ──close──▶ closed
     └──────────────resolve / close────────┘                      │   ▲               │
                                        the user writes ≤ 7 days ◀┘   └── /reopen ◀───┘

A user who writes to a resolved ticket within the reopen window reopens it; later, the
message starts a new ticket linked to the old one (which is closed). Times are stored per
ticket for statistics: first response, resolution, closing, and the user's rating (CSAT).

Two sweeps run beside the handlers: `alert_waiting` flags, once, a ticket left without a first
answer for longer than the alert time (counted in working hours), and `sync_topics` renames
topics to show their status, a few at a time and each at most every few minutes, because
Telegram limits topic edits.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import WorkingHours
from bot.services.desk import place_of
from bot.services.outbox import PRIORITY_NOTICE, PRIORITY_RELAY, Kind, Outbox
from bot.services.ports import DeliveryError, Messenger, Permanent, RetryLater, ThreadNotFound
from bot.services.working_hours import is_open, next_opening, working_time
from db.models import Ticket, User, utcnow
from db.repositories.tickets import TicketRepository

log = logging.getLogger("ipdesk.lifecycle")

REOPEN_WINDOW = timedelta(days=7)
ALERT_AFTER = timedelta(hours=4)  # of working time (WAITING_ALERT_HOURS)
COMMENT_WINDOW = timedelta(hours=24)  # a comment after a rating is taken this long
ALERT_SWEEP_SECONDS = 300.0
TOPIC_SWEEP_SECONDS = 30.0
TOPIC_RENAMES_PER_SWEEP = 2  # a forum's topic edits share one small budget
TOPIC_RENAME_GAP = timedelta(minutes=2)  # one topic is renamed at most this often
BATCH = 100
LIST_LIMIT = 20
NUMBER = re.compile(r"^IP-(?P<year>\d{4})-(?P<id>\d{1,9})$", re.IGNORECASE)
BARE_NUMBER = re.compile(r"^#?(?P<id>\d{1,9})$")
_FOLLOW_UP = uuid.UUID("6a1f3a4e-77a0-4d3c-9a8e-2f3c1f0b9e11")  # namespace of follow-up drafts


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN = (Status.NEW, Status.IN_PROGRESS)
NOT_CLOSED = (*OPEN, Status.RESOLVED)


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # it was so already: nothing changed
    TAKEN = "taken"  # someone else has it (Take lost the race, or it was taken before)
    REFUSED = "refused"  # not from its present status (e.g. resolving a closed ticket)


class EventKind(StrEnum):
    TAKEN = "taken"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    FOLLOWED_UP = "followed_up"
    RATED = "rated"
    NOTE = "note"


class View(StrEnum):
    """What `/tickets` lists."""

    OPEN = "open"
    NEW = "new"
    MINE = "mine"
    WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    ticket: Ticket

    @property
    def done(self) -> bool:
        return self.outcome is Outcome.DONE


@dataclass(frozen=True, slots=True)
class History:
    """What the user's summary of a ticket shows."""

    from_user: int
    from_staff: int


Markup = dict[str, Any]


@dataclass(frozen=True, slots=True)
class UserTexts:
    """What the user is told, each rendered by the caller in the language given."""

    taken: Callable[[str, Ticket], str]
    resolved: Callable[[str, Ticket], tuple[str, Markup]]  # with the 1-5 rating buttons
    closed: Callable[[str, Ticket], str]
    reopened: Callable[[str, Ticket], str]
    followed_up: Callable[[str, Ticket, Ticket], str]  # (old, new)
    off_hours: Callable[[str, datetime], str]  # when staff are back, in the service's zone


@dataclass(frozen=True, slots=True)
class StaffTexts:
    """What the staff chat is told, rendered by the caller in the staff language."""

    user_reopened: Callable[[Ticket], str]
    user_followed_up: Callable[[Ticket, Ticket], str]  # in the old topic: (old, new)
    user_closed: Callable[[Ticket], str]
    rated: Callable[[Ticket], str]  # the user's score, and their comment once given
    waiting: Callable[[Ticket, timedelta], str]  # in the general topic: working time waited
    topic_name: Callable[[Ticket], str]  # showing the status


class Lifecycle:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        user_texts: UserTexts,
        staff_texts: StaffTexts,
        staff_chat_id: int | None,
        hours: WorkingHours,
        tz: tzinfo,
        wake_outbox: Callable[[], None],
        alert_after: timedelta = ALERT_AFTER,
        reopen_window: timedelta = REOPEN_WINDOW,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._user = user_texts
        self._staff = staff_texts
        self._staff_chat_id = staff_chat_id
        self._hours = hours
        self._tz = tz
        self._wake = wake_outbox
        self.alert_after = alert_after
        self.reopen_window = reopen_window
        # Aware UTC "now"; tests replace it to move time.
        self.clock = clock

    # -- staff actions ----------------------------------------------------------------------

    async def take(self, session: AsyncSession, ticket: Ticket, staff_id: int) -> Result:
        """A new ticket becomes this specialist's; the user hears someone is on it."""
        if await self._take(session, ticket, staff_id):
            await self._tell_user(session, ticket, self._user.taken)
            return await self._done(session, ticket)
        await session.commit()  # ends the transaction the failed UPDATE began
        if ticket.status == Status.IN_PROGRESS:
            mine = ticket.taken_by == staff_id
            return Result(Outcome.ALREADY if mine else Outcome.TAKEN, ticket)
        return Result(Outcome.REFUSED, ticket)

    async def assign(
        self, session: AsyncSession, ticket: Ticket, staff_id: int, actor_id: int
    ) -> Result:
        """Give an open ticket to a specialist (a new one is taken on their behalf)."""
        now = self.clock()
        repo = TicketRepository(session)
        if await self._take(session, ticket, staff_id, event=None):
            await self._tell_user(session, ticket, self._user.taken)
        elif not await repo.move(
            ticket.id, (Status.IN_PROGRESS,), taken_by=staff_id, taken_at=now, updated_at=now
        ):
            return await self._not_moved(session, ticket, already=())
        else:
            await session.refresh(ticket)
        repo.add_event(ticket.id, EventKind.ASSIGNED, actor_id, str(staff_id), now)
        return await self._done(session, ticket)

    async def resolve(self, session: AsyncSession, ticket: Ticket, actor_id: int) -> Result:
        """Solved: the user is told and asked to rate the help (1-5)."""
        now = self.clock()
        moved = await TicketRepository(session).move(
            ticket.id,
            OPEN,
            status=Status.RESOLVED,
            resolved_at=now,
            taken_by=func.coalesce(Ticket.taken_by, actor_id),
            taken_at=func.coalesce(Ticket.taken_at, now),
            updated_at=now,
        )
        if not moved:
            return await self._not_moved(session, ticket, already=(Status.RESOLVED,))
        TicketRepository(session).add_event(ticket.id, EventKind.RESOLVED, actor_id, None, now)
        await session.refresh(ticket)
        await self._tell_user(session, ticket, self._user.resolved)
        return await self._done(session, ticket)

    async def close(
        self, session: AsyncSession, ticket: Ticket, actor_id: int, *, by_user: bool = False
    ) -> Result:
        """Closed for good: the user's messages go back to the FAQ. Staff close it and the user
        is told; the user closes it and the topic is told."""
        now = self.clock()
        repo = TicketRepository(session)
        if not await repo.move(
            ticket.id, NOT_CLOSED, status=Status.CLOSED, closed_at=now, updated_at=now
        ):
            return await self._not_moved(session, ticket, already=(Status.CLOSED,))
        await repo.release_user(ticket.id)
        repo.add_event(ticket.id, EventKind.CLOSED, actor_id, "user" if by_user else None, now)
        await session.refresh(ticket)
        if by_user:
            self._tell_topic(session, ticket, self._staff.user_closed(ticket))
        else:
            await self._tell_user(session, ticket, self._user.closed)
        return await self._done(session, ticket)

    async def reopen(self, session: AsyncSession, ticket: Ticket, actor_id: int) -> Result:
        """Back to work (staff): the user's messages go to it again, and they are told."""
        if not await self._reopen(session, ticket, actor_id):
            return await self._not_moved(session, ticket, already=OPEN)
        if ticket.user_id is not None:
            user = await session.get(User, ticket.user_id)
            if user is not None:
                user.active_ticket_id = ticket.id
        await self._tell_user(session, ticket, self._user.reopened)
        return await self._done(session, ticket)

    async def note(self, session: AsyncSession, ticket: Ticket, actor_id: int, text: str) -> None:
        """An internal note: kept in the ticket's history, never sent to the user."""
        if not text:
            return
        TicketRepository(session).add_event(
            ticket.id, EventKind.NOTE, actor_id, text[:4000], self.clock()
        )
        await session.commit()

    async def on_staff_answer(self, session: AsyncSession, ticket: Ticket, staff_id: int) -> None:
        """Staff answered in the topic (or with a saved reply): the first answer is timed and
        a new ticket is taken by whoever answered. Not committed: the caller commits it with
        the relayed message (and a relayed-already message changes nothing)."""
        now = self.clock()
        if ticket.status == Status.NEW:
            await self._take(session, ticket, staff_id)
        # Flushed with the relay's own update of the ticket: no extra statement per message.
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        ticket.last_staff_message_at = now

    # -- the user ---------------------------------------------------------------------------

    async def on_user_message(
        self, session: AsyncSession, user: User, ticket: Ticket, source: tuple[int, int]
    ) -> Ticket:
        """The person wrote to their active ticket: the ticket the message belongs to.

        A resolved ticket is reopened within the window, and after it a new ticket linked to
        it starts (without a topic yet: the caller hands it off). Off working hours the person
        gets one auto-reply per off-hours stretch. Not committed: the caller commits it with
        the relayed message."""
        now = self.clock()
        if ticket.status == Status.RESOLVED:
            resolved_at = ticket.resolved_at or now
            if now - resolved_at <= self.reopen_window:
                if await self._reopen(session, ticket, user.id):
                    self._tell_topic(session, ticket, self._staff.user_reopened(ticket))
                    await self._tell_user(session, ticket, self._user.reopened)
            else:
                ticket = await self._follow_up(session, user, ticket, source, now)
        ticket.last_user_message_at = now  # flushed with the relay's update of the ticket
        if self._off_hours_reply_due(ticket, now):
            ticket.off_hours_reply_at = now
            back = next_opening(self._hours, self._tz, now)
            Outbox(session).enqueue(
                Kind.TEXT,
                user.id,
                {"text": self._user.off_hours(user.language, back)},
                priority=PRIORITY_RELAY,
                ticket_id=ticket.id,
            )
        return ticket

    async def rate(self, session: AsyncSession, ticket: Ticket, user: User, score: int) -> bool:
        """The person's rating (1-5) of a resolved or closed ticket of theirs; the last counts.
        The topic hears it."""
        if not 1 <= score <= 5:
            return False
        now = self.clock()
        repo = TicketRepository(session)
        rated = await repo.set(
            ticket.id,
            Ticket.user_id == user.id,
            Ticket.status.in_((Status.RESOLVED, Status.CLOSED)),
            csat_score=score,
            csat_comment=None,
            rated_at=now,
        )
        if not rated:
            await session.commit()
            return False
        repo.add_event(ticket.id, EventKind.RATED, user.id, str(score), now)
        await session.refresh(ticket)
        self._tell_topic(session, ticket, self._staff.rated(ticket))
        await self._done(session, ticket)
        return True

    async def comment(self, session: AsyncSession, user: User, text: str) -> Ticket | None:
        """A comment on the rating the person just gave; None if there is no such rating."""
        ticket = await TicketRepository(session).awaiting_comment(
            user.id, self.clock() - COMMENT_WINDOW
        )
        if ticket is None:
            return None
        ticket.csat_comment = text.strip()[:2000]
        self._tell_topic(session, ticket, self._staff.rated(ticket))
        await self._done(session, ticket)
        return ticket

    @staticmethod
    async def history(session: AsyncSession, ticket: Ticket) -> History:
        counts = await TicketRepository(session).message_counts(ticket.id)
        return History(from_user=counts.get("to_staff", 0), from_staff=counts.get("to_user", 0))

    # -- staff views ------------------------------------------------------------------------

    @staticmethod
    async def listing(session: AsyncSession, view: View, staff_id: int) -> list[Ticket]:
        where: list[ColumnElement[bool]] = [Ticket.status.in_(OPEN)]
        if view is View.NEW:
            where = [Ticket.status == Status.NEW]
        elif view is View.MINE:
            where.append(Ticket.taken_by == staff_id)
        elif view is View.WAITING:
            where.append(
                or_(
                    Ticket.first_response_at.is_(None),
                    and_(
                        Ticket.last_user_message_at.is_not(None),
                        Ticket.last_user_message_at > Ticket.last_staff_message_at,
                    ),
                )
            )
        return await TicketRepository(session).listing(*where, limit=LIST_LIMIT)

    @staticmethod
    async def find(session: AsyncSession, query: str) -> list[Ticket]:
        """By number (IP-2026-000123, or the bare 000123), or by text in the complaint (3
        characters at least)."""
        query = query.strip()
        number = NUMBER.match(query) or BARE_NUMBER.match(query)
        if number:
            ticket = await session.get(Ticket, int(number["id"]))
            year = number.groupdict().get("year")
            found = ticket is not None and (year is None or ticket.created_at.year == int(year))
            return [ticket] if found and ticket is not None else []
        if len(query) < 3:
            return []
        return await TicketRepository(session).search(query, LIST_LIMIT)

    # -- sweeps -----------------------------------------------------------------------------

    async def alert_waiting(self) -> int:
        """Flag, once, every open ticket without a first answer after the alert time (working
        hours); returns how many were flagged."""
        if self._staff_chat_id is None:
            return 0
        now = self.clock()
        flagged = 0
        async with self._sessionmaker() as session:
            repo = TicketRepository(session)
            for ticket in await repo.unanswered(OPEN, now - self.alert_after, BATCH):
                waited = working_time(self._hours, self._tz, ticket.created_at, now)
                if waited < self.alert_after:
                    continue
                # Claimed first: another replica's sweep may be at the same ticket.
                if not await repo.set(
                    ticket.id, Ticket.waiting_alert_at.is_(None), waiting_alert_at=now
                ):
                    continue
                Outbox(session).enqueue(
                    Kind.TEXT,
                    ticket.staff_chat_id or self._staff_chat_id,
                    {"text": self._staff.waiting(ticket, waited)},
                    priority=PRIORITY_NOTICE,
                    ticket_id=ticket.id,
                )
                flagged += 1
            await session.commit()
        if flagged:
            log.info("tickets waiting for a first answer flagged", extra={"count": flagged})
            self._wake()
        return flagged

    async def sync_topics(self, messenger: Messenger) -> int:
        """Rename a few topics whose title does not show their ticket's status yet (and close
        or reopen them with the ticket); returns how many were brought up to date."""
        now = self.clock()
        async with self._sessionmaker() as session:
            behind = await TicketRepository(session).topics_behind(
                now - TOPIC_RENAME_GAP, TOPIC_RENAMES_PER_SWEEP
            )
            await session.commit()
        synced = 0
        for ticket in behind:
            try:
                await self._show_status(messenger, ticket)
            except RetryLater:
                break  # the forum's budget is spent: the rest wait for the next sweep
            except ThreadNotFound:
                pass  # the topic is gone; the desk re-creates it, named with the status
            except Permanent as error:
                log.warning("topic of ticket %s not renamed: %s", ticket.id, error)
            except DeliveryError as error:
                log.info("topic of ticket %s not renamed yet: %s", ticket.id, error)
                continue
            async with self._sessionmaker() as session:
                await TicketRepository(session).set(
                    ticket.id, topic_status=ticket.status, topic_synced_at=now
                )
                await session.commit()
            synced += 1
        return synced

    async def _show_status(self, messenger: Messenger, ticket: Ticket) -> None:
        assert ticket.staff_chat_id is not None and ticket.topic_id is not None
        shown = ticket.topic_status or Status.NEW
        await messenger.edit_topic(
            ticket.staff_chat_id, ticket.topic_id, self._staff.topic_name(ticket)
        )
        if (ticket.status == Status.CLOSED) != (shown == Status.CLOSED):
            closed = ticket.status == Status.CLOSED
            await messenger.set_topic_closed(ticket.staff_chat_id, ticket.topic_id, closed)

    # -- the parts --------------------------------------------------------------------------

    async def _take(
        self,
        session: AsyncSession,
        ticket: Ticket,
        staff_id: int,
        *,
        event: EventKind | None = EventKind.TAKEN,
    ) -> bool:
        now = self.clock()
        repo = TicketRepository(session)
        won = await repo.move(
            ticket.id,
            (Status.NEW,),
            status=Status.IN_PROGRESS,
            taken_by=staff_id,
            taken_at=now,
            updated_at=now,
        )
        if won and event is not None:
            repo.add_event(ticket.id, event, staff_id, None, now)
        await session.refresh(ticket)
        return won

    async def _reopen(self, session: AsyncSession, ticket: Ticket, actor_id: int) -> bool:
        now = self.clock()
        repo = TicketRepository(session)
        moved = await repo.move(
            ticket.id,
            (Status.RESOLVED, Status.CLOSED),
            status=case((Ticket.taken_by.is_(None), Status.NEW), else_=Status.IN_PROGRESS),
            resolved_at=None,
            closed_at=None,
            reopened_at=now,
            updated_at=now,
        )
        if moved:
            repo.add_event(ticket.id, EventKind.REOPENED, actor_id, None, now)
        await session.refresh(ticket)
        return moved

    async def _follow_up(
        self,
        session: AsyncSession,
        user: User,
        old: Ticket,
        source: tuple[int, int],
        now: datetime,
    ) -> Ticket:
        """A new ticket for a message that came after the reopen window; the old one closes.
        Its draft id comes from the message, so a redelivered update files it once."""
        repo = TicketRepository(session)
        new = Ticket(
            draft_id=str(uuid.uuid5(_FOLLOW_UP, f"{old.id}:{source[0]}:{source[1]}")),
            user_id=user.id,
            language=user.language,
            kind=old.kind,
            right=old.right,
            registration_number=old.registration_number,
            location=old.location,
            description=old.description,
            company=old.company,
            contact=old.contact,
            status=Status.NEW,
            previous_ticket_id=old.id,
            created_at=now,
            updated_at=now,
        )
        session.add(new)
        await session.flush()
        await repo.move(old.id, (Status.RESOLVED,), status=Status.CLOSED, closed_at=now)
        repo.add_event(old.id, EventKind.FOLLOWED_UP, user.id, str(new.id), now)
        await session.refresh(old)
        user.active_ticket_id = new.id
        self._tell_topic(session, old, self._staff.user_followed_up(old, new))
        language = user.language
        Outbox(session).enqueue(
            Kind.TEXT,
            user.id,
            {"text": self._user.followed_up(language, old, new)},
            priority=PRIORITY_RELAY,
            ticket_id=new.id,
        )
        return new

    def _off_hours_reply_due(self, ticket: Ticket, now: datetime) -> bool:
        """Outside working hours, and not told yet in this stretch of off-hours (a ticket filed
        off-hours was told so by its receipt)."""
        if is_open(self._hours, now.astimezone(self._tz)):
            return False
        last = ticket.off_hours_reply_at
        if last is None and not is_open(self._hours, ticket.created_at.astimezone(self._tz)):
            last = ticket.created_at
        return last is None or next_opening(self._hours, self._tz, last) <= now

    async def _not_moved(
        self, session: AsyncSession, ticket: Ticket, *, already: tuple[str, ...]
    ) -> Result:
        await session.commit()  # ends the transaction the failed UPDATE began
        await session.refresh(ticket)
        return Result(Outcome.ALREADY if ticket.status in already else Outcome.REFUSED, ticket)

    async def _done(self, session: AsyncSession, ticket: Ticket) -> Result:
        await session.commit()
        self._wake()
        return Result(Outcome.DONE, ticket)

    async def _tell_user(
        self,
        session: AsyncSession,
        ticket: Ticket,
        render: Callable[[str, Ticket], str | tuple[str, Markup]],
    ) -> None:
        """Queued at the conversation's own priority, so it never overtakes a staff answer
        written before it."""
        if ticket.user_id is None:
            return
        user = await session.get(User, ticket.user_id)
        rendered = render(user.language if user is not None else ticket.language, ticket)
        text, markup = rendered if isinstance(rendered, tuple) else (rendered, None)
        params: dict[str, Any] = {"text": text}
        if markup is not None:
            params["reply_markup"] = markup
        Outbox(session).enqueue(
            Kind.TEXT, ticket.user_id, params, priority=PRIORITY_RELAY, ticket_id=ticket.id
        )

    def _tell_topic(self, session: AsyncSession, ticket: Ticket, text: str) -> None:
        """In the ticket's topic or, in a group without topics, under its card."""
        place = place_of(ticket)
        if place is None:
            return  # not handed off yet: its card will show where it stands
        place.enqueue(
            Outbox(session), Kind.TEXT, {"text": text}, priority=PRIORITY_RELAY, ticket_id=ticket.id
        )
