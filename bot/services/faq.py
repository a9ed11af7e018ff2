"""FAQ browsing and answering: the entries, votes, and the log of typed questions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.faq.content import FaqBase, FaqCategory, FaqEntry
from db.engine import end_read_transaction
from db.models import utcnow
from db.repositories import FaqRepository

log = logging.getLogger("ipdesk.faq")

PAGE_SIZE = 8
# Where "how do I reach someone" points when staff cannot be asked through the bot.
CONTACTS_ENTRY = "contacts"
MAX_LOGGED_QUESTION = 1000
MAX_LOG_BATCH = 500  # typed questions written in one INSERT at most


@dataclass(frozen=True, slots=True)
class Page:
    category: FaqCategory
    entries: tuple[FaqEntry, ...]
    number: int
    count: int


class FaqCatalogue:
    """Read-only navigation over the loaded FAQ base."""

    def __init__(self, base: FaqBase) -> None:
        self.base = base

    def __repr__(self) -> str:
        return f"FaqCatalogue({len(self.base)} entries)"

    def find(self, entry_id: str) -> FaqEntry | None:
        return self.base.by_id.get(entry_id)

    def title(self, entry_id: str | None, lang: str) -> str | None:
        """An entry's title in `lang`, or None for no entry (or one no longer in the base)."""
        entry = self.base.by_id.get(entry_id) if entry_id else None
        return entry.text(lang).title if entry is not None else None

    def find_category(self, category_id: str) -> FaqCategory | None:
        return next((c for c in self.base.categories if c.id == category_id), None)

    def page(self, category: FaqCategory, number: int) -> Page:
        count = max(1, -(-len(category.entries) // PAGE_SIZE))
        number = min(max(number, 0), count - 1)
        start = number * PAGE_SIZE
        return Page(category, category.entries[start : start + PAGE_SIZE], number, count)

    def page_of(self, entry: FaqEntry) -> int:
        category = self.base.category(entry.category)
        return category.entries.index(entry) // PAGE_SIZE

    def related(self, entry: FaqEntry, limit: int = 3) -> tuple[FaqEntry, ...]:
        found = (self.base.by_id.get(i) for i in entry.related)
        return tuple(e for e in found if e is not None)[:limit]


class FaqFeedbackService:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._repo = FaqRepository(session)

    async def vote(self, user_id: int, entry_id: str, helpful: bool) -> None:
        await self._repo.upsert_vote(user_id, entry_id, helpful)
        await self._session.commit()


class FaqQueryLog:
    """The log of typed questions, written by group commit.

    A question's row is queued and its update waits until the row is committed (the answer
    goes out meanwhile: `add`), but the rows of every question that arrives while one batch
    is being written go together in the next: one connection, one INSERT and one commit for
    all of them instead of a transaction each. One writer task
    runs while rows are pending and ends when none are. Should a batch fail (the database is
    away, or one row is refused), its rows are written one by one, each update hearing only
    about its own row.

    The row is no longer in the update's own transaction, so an answered question leaves no
    processed-update mark (`bot.middlewares.once`): delivered again, it is answered again.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(
        self,
        session: AsyncSession,
        user_id: int | None,
        text: str,
        lang: str,
        outcome: str,
        entry_id: str | None,
        score: float,
        *,
        meanwhile: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Store one typed question; returns once it is committed, and once `meanwhile` (the
        answer being sent), started as soon as the row is queued, is done as well.

        The answer tells the person nothing was received, so it need not wait for the row:
        the two overlap, and the update is acknowledged only when both are done (a crash
        before then has Telegram deliver the question again). Waiting for the batch before
        answering was most of an answered question's time in the bot under load. The answer's
        error is raised first; should only the row fail (the database away), the error is
        raised too, and the redelivered question is answered again.

        `session` is the update's: its read-only transaction ends first, so that its
        connection is back in the pool for the batch (forty updates waiting for a batch while
        holding the pool's every connection would wait for ever).
        """
        await end_read_transaction(session, "the FAQ query log")
        row = {
            "user_id": user_id,
            "text": text[:MAX_LOGGED_QUESTION],
            "lang": lang,
            "outcome": outcome,
            "entry_id": entry_id,
            "score": round(score, 4),
            "created_at": utcnow(),
        }
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Read even when its update was cancelled meanwhile (no "never retrieved" warning).
        written.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending.append((row, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="faq-query-log")
        # Shielded: an update cancelled meanwhile does not take its row out of a batch.
        if meanwhile is None:
            await asyncio.shield(written)
            return
        logged, answered = await asyncio.gather(
            asyncio.shield(written), meanwhile(), return_exceptions=True
        )
        for error in (answered, logged):
            if isinstance(error, BaseException):
                raise error

    async def _write(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_LOG_BATCH]
            del self._pending[:MAX_LOG_BATCH]
            try:
                await self._insert([row for row, _ in batch])
            except Exception as error:  # raised again in the updates that wait for these rows
                if len(batch) == 1:
                    _settle(batch[0][1], error)
                    continue
                log.warning("a batch of typed questions failed; writing them one by one")
                for row, written in batch:
                    _settle(written, await self._insert_alone(row))
            else:
                for _, written in batch:
                    _settle(written, None)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self._sessionmaker() as session:
            await FaqRepository(session).add_queries(rows)
            await session.commit()

    async def _insert_alone(self, row: dict[str, Any]) -> Exception | None:
        try:
            await self._insert([row])
        except Exception as error:  # for the one update that waits for this row
            return error
        return None


def _settle(written: asyncio.Future[None], error: Exception | None) -> None:
    """Wake the update waiting for its row: done, or the error (raised in its handler)."""
    if written.done():
        return
    if error is None:
        written.set_result(None)
    else:
        written.set_exception(error)
