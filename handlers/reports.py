"""Admins' reports: /stats with charts and /export of tickets, users and unanswered questions.

The router carries the admin filter: for anyone else these commands fall through to the
unknown-command answer and reveal nothing.
"""

from __future__ import annotations

import re
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, FSInputFile, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.charts import render_async
from bot.services.exports import ExportFormat, write_export
from bot.services.faq import FaqCatalogue
from bot.services.stats import PeriodError, StatsService, parse_period
from db.models import User
from db.repositories.reports import export_statement, stream_rows
from handlers import reports_views as views
from handlers.filters import IsAdmin

DATASETS = ("tickets", "users", "faq_misses")
PROGRESS_EVERY_S = 2.0
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def create_router() -> Router:
    router = Router(name="reports")
    router.message.filter(F.chat.type == ChatType.PRIVATE, IsAdmin())
    router.message.register(stats, Command("stats"))
    router.message.register(export, Command("export"))
    return router


async def stats(
    message: Message,
    command: CommandObject,
    user: User,
    session: AsyncSession,
    settings: Settings,
    faq: FaqCatalogue,
) -> None:
    try:
        period = parse_period(command.args, settings.tz)
    except PeriodError:
        await message.answer(views.period_hint())
        return
    report = await StatsService(session, settings.tz).report(period)
    await session.close()  # the numbers are in; release the connection before Telegram
    await message.answer(views.summary(report, faq, user.language))
    charts, title = views.charts(report, faq, user.language)
    png = await render_async(charts, title)
    await message.answer_photo(BufferedInputFile(png, filename=f"stats-{period.label}.png"))


def parse_export(
    args: str | None, tz: object
) -> tuple[str, list[ExportFormat], datetime | None, datetime | None] | None:
    words = (args or "").lower().split()
    if not words or words[0] not in DATASETS:
        return None
    dataset, formats, dates = words[0], [], []
    for word in words[1:]:
        if word in {f.value for f in ExportFormat}:
            formats.append(ExportFormat(word))
        elif _DATE.match(word):
            try:
                dates.append(date.fromisoformat(word))
            except ValueError:
                return None
        else:
            return None
    if len(dates) > 2 or (len(dates) == 2 and dates[0] > dates[1]):
        return None

    def bound(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type]

    start = bound(dates[0]) if dates else None
    end = bound(dates[1] + timedelta(days=1)) if len(dates) == 2 else None
    return dataset, formats or list(ExportFormat), start, end


async def export(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    parsed = parse_export(command.args, settings.tz)
    if parsed is None:
        await message.answer(views.export_usage())
        return
    await session.close()  # the export reads through its own session, in batches
    dataset, formats, start, end = parsed
    status = await message.answer(views.export_progress(0))
    last = time.monotonic()

    async def progress(rows: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY_S:
            last = time.monotonic()
            await status.edit_text(views.export_progress(rows))

    stamp = datetime.now(UTC).astimezone(settings.tz).strftime("%Y%m%d-%H%M")
    rows = files = 0
    with tempfile.TemporaryDirectory(prefix="ipdesk-export-") as tmp:
        for fmt in formats:
            columns, stmt = export_statement(dataset, start, end)
            result = await write_export(
                f"{dataset}-{stamp}",
                columns,
                stream_rows(sessionmaker, stmt),
                fmt,
                Path(tmp),
                progress=progress,
            )
            rows = result.rows
            for part in result.parts:
                await bot.send_document(message.chat.id, FSInputFile(part, filename=part.name))
                files += 1
    await status.edit_text(views.export_done(rows, files))
