"""The SQL behind statistics and exports: aggregates for /stats, streamed rows for /export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import FaqFeedback, FaqQuery, Ticket, User

BATCH_ROWS = 2000


def _between(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


# --- exports: (header, statement) pairs, rows streamed in batches ------------------------------

TICKET_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("id", Ticket.id),
    ("created_at_utc", Ticket.created_at),
    ("status", Ticket.status),
    ("kind", Ticket.kind),
    ("right", Ticket.right),
    ("registration_number", Ticket.registration_number),
    ("language", Ticket.language),
    ("company", Ticket.company),
    ("contact", Ticket.contact),
    ("location", Ticket.location),
    ("description", Ticket.description),
    ("closed_at_utc", Ticket.closed_at),
    ("faq_topic", Ticket.faq_entry_id),
    ("taken_by", Ticket.taken_by),
    ("first_response_at_utc", Ticket.first_response_at),
    ("resolved_at_utc", Ticket.resolved_at),
    ("csat_score", Ticket.csat_score),
    ("csat_comment", Ticket.csat_comment),
    ("previous_ticket_id", Ticket.previous_ticket_id),
    ("anonymised_at_utc", Ticket.anonymised_at),
)

USER_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("id", User.id),
    ("first_name", User.first_name),
    ("username", User.username),
    ("language", User.language),
    ("telegram_language", User.telegram_language),
    ("news_opt_in", User.news_opt_in),
    ("start_payload", User.start_payload),
    ("created_at_utc", User.created_at),
    ("last_seen_at_utc", User.last_seen_at),
    ("blocked_at_utc", User.blocked_at),
)

FAQ_MISS_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("created_at_utc", FaqQuery.created_at),
    ("language", FaqQuery.lang),
    ("text", FaqQuery.text),
    ("best_entry", FaqQuery.entry_id),
    ("score", FaqQuery.score),
)


def export_statement(
    dataset: str, start: datetime | None, end: datetime | None
) -> tuple[list[str], Select[Any]]:
    if dataset == "tickets":
        columns, created, order = TICKET_COLUMNS, Ticket.created_at, Ticket.id
        extra: list[Any] = []
    elif dataset == "users":
        columns, created, order = USER_COLUMNS, User.created_at, User.id
        extra = []
    elif dataset == "faq_misses":
        columns, created, order = FAQ_MISS_COLUMNS, FaqQuery.created_at, FaqQuery.id
        extra = [FaqQuery.outcome == "none"]
    else:
        raise ValueError(dataset)
    stmt = (
        select(*(column for _, column in columns))
        .where(*_between(created, start, end), *extra)
        .order_by(order)
    )
    return [name for name, _ in columns], stmt


async def stream_rows(
    sessionmaker: async_sessionmaker[AsyncSession], stmt: Select[Any], batch: int = BATCH_ROWS
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """Rows in batches through a server-side cursor: memory stays flat however many there are."""
    async with sessionmaker() as session:
        result = await session.stream(stmt.execution_options(yield_per=batch))
        async for partition in result.partitions(batch):
            yield [tuple(row) for row in partition]


# --- statistics --------------------------------------------------------------------------------


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def tickets(self, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
        """(created_at, status, kind, language, first_response_at, resolved_at, csat_score)
        of every ticket filed in the period."""
        rows = await self._session.execute(
            select(
                Ticket.created_at,
                Ticket.status,
                Ticket.kind,
                Ticket.language,
                Ticket.first_response_at,
                Ticket.resolved_at,
                Ticket.csat_score,
            ).where(*_between(Ticket.created_at, start, end))
        )
        return [tuple(row) for row in rows]

    async def faq_answered(
        self, start: datetime, end: datetime, limit: int
    ) -> list[tuple[str, int]]:
        """The entries most often given as confident answers to typed questions."""
        n = func.count().label("n")
        rows = await self._session.execute(
            select(FaqQuery.entry_id, n)
            .where(
                FaqQuery.outcome == "answer",
                FaqQuery.entry_id.is_not(None),
                *_between(FaqQuery.created_at, start, end),
            )
            .group_by(FaqQuery.entry_id)
            .order_by(n.desc(), FaqQuery.entry_id)
            .limit(limit)
        )
        return [(str(entry), int(count)) for entry, count in rows]

    async def faq_votes(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        """Per entry: (👍, 👎) given in the period."""
        rows = await self._session.execute(
            select(FaqFeedback.entry_id, FaqFeedback.helpful, func.count())
            .where(*_between(FaqFeedback.created_at, start, end))
            .group_by(FaqFeedback.entry_id, FaqFeedback.helpful)
        )
        votes: dict[str, list[int]] = {}
        for entry, helpful, count in rows:
            votes.setdefault(entry, [0, 0])[0 if helpful else 1] += int(count)
        return {entry: (up, down) for entry, (up, down) in votes.items()}

    async def faq_miss_texts(self, start: datetime, end: datetime) -> list[str]:
        """The texts of unanswered questions (grouped by the caller, which folds case in
        every script: SQLite's lower() knows only ASCII)."""
        rows = await self._session.scalars(
            select(FaqQuery.text).where(
                FaqQuery.outcome == "none", *_between(FaqQuery.created_at, start, end)
            )
        )
        return list(rows)

    async def faq_question_count(self, start: datetime, end: datetime) -> dict[str, int]:
        rows = await self._session.execute(
            select(FaqQuery.outcome, func.count())
            .where(*_between(FaqQuery.created_at, start, end))
            .group_by(FaqQuery.outcome)
        )
        return {str(outcome): int(count) for outcome, count in rows}

    async def users_by_language(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(User.language, func.count()).group_by(User.language)
        )
        return {str(language): int(count) for language, count in rows}

    async def new_users(self, start: datetime, end: datetime) -> int:
        return int(
            await self._session.scalar(
                select(func.count()).select_from(User).where(*_between(User.created_at, start, end))
            )
            or 0
        )
