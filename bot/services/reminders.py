"""One reminder for a complaint left unfinished.

A draft that has not moved for `after` (24 h), was never filed and was never reminded about
gets one message in its author's language. The message goes through the outbox, queued in the
same transaction that sets `reminded_at`: both happen or neither, and a second sweep (or a
second replica sweeping at the same moment) finds nothing to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.outbox import PRIORITY_NOTICE, Outbox
from db.models import Draft, User, utcnow

log = logging.getLogger("ipdesk.reminders")

REMIND_AFTER = timedelta(hours=24)
SWEEP_SECONDS = 600.0
BATCH = 100

# (language, when the draft was started) -> the reminder text in that language.
RenderReminder = Callable[[str, datetime], str]


class ReminderSweep:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        render: RenderReminder,
        wake_outbox: Callable[[], None],
        *,
        after: timedelta = REMIND_AFTER,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._render = render
        self._wake = wake_outbox
        self._after = after
        self._clock = clock

    async def run_once(self) -> int:
        """Queue the reminders that are due; returns how many were queued."""
        queued = 0
        while True:
            selected, batch = await self._remind_batch()
            queued += batch
            if selected < BATCH:
                break
        if queued:
            log.info("reminders queued", extra={"count": queued})
            self._wake()
        return queued

    async def _remind_batch(self) -> tuple[int, int]:
        now = self._clock()
        async with self._sessionmaker() as session:
            due = (
                await session.execute(
                    select(Draft.id, Draft.user_id, Draft.created_at, User.language)
                    .join(User, User.id == Draft.user_id)
                    .where(
                        Draft.submitted_at.is_(None),
                        Draft.reminded_at.is_(None),
                        Draft.updated_at < now - self._after,
                        User.blocked_at.is_(None),
                    )
                    .order_by(Draft.updated_at)
                    .limit(BATCH)
                )
            ).all()
            outbox = Outbox(session)
            queued = 0
            for draft_id, user_id, created_at, language in due:
                # Claim the draft first: if another sweep got there, it sent the reminder.
                claimed = await session.execute(
                    update(Draft)
                    .where(Draft.id == draft_id, Draft.reminded_at.is_(None))
                    .values(reminded_at=now)
                )
                assert isinstance(claimed, CursorResult)
                if claimed.rowcount != 1:
                    continue
                text = self._render(language, created_at)
                outbox.enqueue("text", user_id, {"text": text}, priority=PRIORITY_NOTICE)
                queued += 1
            await session.commit()
        return len(due), queued
