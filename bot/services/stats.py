"""Statistics for the service's owners: what came in, how fast it was answered, what the FAQ
did. Pure computation over rows from db.repositories.reports; no aiogram here."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories.reports import StatsRepository

TOP_ENTRIES = 8
TOP_MISSES = 8
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAYS = re.compile(r"^(\d{1,3})d$")
MAX_DAYS = 366


class PeriodError(ValueError):
    """The argument of /stats is not 7d, 30d or YYYY-MM."""


@dataclass(frozen=True)
class Period:
    """Whole local days [first, last] in the service's time zone, and their UTC bounds."""

    first: date
    last: date
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    label: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def parse_period(arg: str | None, tz: tzinfo, now: datetime | None = None) -> Period:
    """`7d` (default), `30d`, any `Nd` up to a year, or a calendar month `YYYY-MM`."""
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    text = (arg or "7d").strip().lower()
    if match := _DAYS.match(text):
        days = int(match.group(1))
        if not 1 <= days <= MAX_DAYS:
            raise PeriodError(text)
        first, last = today - timedelta(days=days - 1), today
        label = text
    elif match := _MONTH.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise PeriodError(text)
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        last = following - timedelta(days=1)
        label = text
    else:
        raise PeriodError(text)

    def bound(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    return Period(first, last, bound(first), bound(last + timedelta(days=1)), label)


@dataclass
class StatsReport:
    period: Period
    tickets: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    per_day: dict[date, int] = field(default_factory=dict)
    faq_questions: Counter[str] = field(default_factory=Counter)  # by outcome
    faq_top: list[tuple[str, int]] = field(default_factory=list)
    faq_votes: dict[str, tuple[int, int]] = field(default_factory=dict)
    faq_misses: list[tuple[str, int]] = field(default_factory=list)
    users_by_language: Counter[str] = field(default_factory=Counter)
    new_users: int = 0
    first_response: list[timedelta] = field(default_factory=list)
    resolution: list[timedelta] = field(default_factory=list)
    csat: Counter[int] = field(default_factory=Counter)  # score 1-5 -> how many

    @property
    def median_first_response(self) -> float | None:
        """Seconds from filing to the first staff answer (answered tickets only)."""
        return median_seconds(self.first_response)

    @property
    def median_resolution(self) -> float | None:
        """Seconds from filing to "resolved" (resolved tickets only)."""
        return median_seconds(self.resolution)

    @property
    def csat_average(self) -> float | None:
        rated = sum(self.csat.values())
        return sum(score * n for score, n in self.csat.items()) / rated if rated else None

    @property
    def votes_total(self) -> tuple[int, int]:
        return (
            sum(up for up, _ in self.faq_votes.values()),
            sum(down for _, down in self.faq_votes.values()),
        )


def median_seconds(durations: list[timedelta]) -> float | None:
    if not durations:
        return None
    return statistics.median(d.total_seconds() for d in durations)


class StatsService:
    def __init__(self, session: AsyncSession, tz: tzinfo) -> None:
        self._repo = StatsRepository(session)
        self._tz = tz

    async def report(self, period: Period) -> StatsReport:
        report = StatsReport(period=period, per_day=dict.fromkeys(period.days, 0))
        for (
            created_at,
            status,
            kind,
            language,
            answered,
            resolved,
            score,
        ) in await self._repo.tickets(period.start, period.end):
            report.tickets += 1
            if answered is not None:
                report.first_response.append(answered - created_at)
            if resolved is not None:
                report.resolution.append(resolved - created_at)
            if score is not None:
                report.csat[int(score)] += 1
            report.by_status[status] += 1
            report.by_kind[kind] += 1
            report.by_language[language] += 1
            day = created_at.astimezone(self._tz).date()
            report.per_day[day] = report.per_day.get(day, 0) + 1
        report.faq_questions.update(await self._repo.faq_question_count(period.start, period.end))
        report.faq_top = await self._repo.faq_answered(period.start, period.end, TOP_ENTRIES)
        report.faq_votes = await self._repo.faq_votes(period.start, period.end)
        misses = Counter(
            " ".join(text.casefold().split())
            for text in await self._repo.faq_miss_texts(period.start, period.end)
        )
        report.faq_misses = sorted(misses.items(), key=lambda item: (-item[1], item[0]))[
            :TOP_MISSES
        ]
        report.users_by_language.update(await self._repo.users_by_language())
        report.new_users = await self._repo.new_users(period.start, period.end)
        return report
