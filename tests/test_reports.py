"""Statistics, charts and exports: numbers on seeded data, files read back, admins only."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import tracemalloc
import uuid
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.migrate import upgrade
from bot.services.charts import Chart, read_series, render
from bot.services.exports import ExportFormat, neutralise, write_export
from bot.services.stats import PeriodError, StatsService, parse_period
from db.engine import create_engine, create_sessionmaker
from db.models import FaqFeedback, FaqQuery, Ticket, User
from db.repositories.reports import export_statement, stream_rows
from tests.conftest import RunningBot
from tests.helpers import visible

ALMATY = ZoneInfo("Asia/Almaty")  # UTC+5
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sessionmaker(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade, sqlite_url)
    engine = create_engine(sqlite_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def ticket(n: int, created: datetime, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "draft_id": str(uuid.uuid4()),
        "user_id": None,
        "language": "ko",
        "kind": "counterfeit",
        "right": "trademark",
        "location": "Almaty, Barakholka",
        "description": f"Fake goods #{n}",
        "company": "ACME Korea",
        "contact": "+7 700 000 00 00",
        "status": "new",
        "created_at": created,
        "updated_at": created,
    }
    values.update(fields)
    return values


# --- periods ---------------------------------------------------------------------------------


def test_periods_are_whole_local_days() -> None:
    week = parse_period(None, ALMATY, NOW)
    assert (week.first, week.last, week.label) == (date(2026, 11, 19), date(2026, 11, 25), "7d")
    # Midnight in Almaty is 19:00 UTC the day before.
    assert week.start == datetime(2026, 11, 18, 19, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    assert len(parse_period("30d", ALMATY, NOW).days) == 30
    february = parse_period("2026-02", ALMATY, NOW)
    assert (february.first, february.last) == (date(2026, 2, 1), date(2026, 2, 28))
    december = parse_period("2025-12", ALMATY, NOW)
    assert december.last == date(2025, 12, 31)


@pytest.mark.parametrize("bad", ["0d", "999d", "2026-13", "yesterday", "7", "2026-1"])
def test_bad_periods_are_refused(bad: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(bad, ALMATY, NOW)


# --- statistics --------------------------------------------------------------------------------


async def test_statistics_count_what_was_seeded(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    day = timedelta(days=1)
    async with sessionmaker() as s:
        await s.execute(
            insert(User),
            [
                {"id": 1, "first_name": "Minji", "language": "ko", "created_at": NOW - 2 * day},
                {"id": 2, "first_name": "Aigerim", "language": "kk", "created_at": NOW - 40 * day},
                {"id": 3, "first_name": "Ivan", "language": "ru", "created_at": NOW},
                {"id": 4, "first_name": "Jun", "language": "ko", "created_at": NOW - day},
            ],
        )
        await s.execute(
            insert(Ticket),
            [
                ticket(
                    1,
                    NOW,
                    first_response_at=NOW + timedelta(minutes=30),
                    resolved_at=NOW + timedelta(hours=5),
                    csat_score=5,
                ),
                ticket(
                    2,
                    NOW,
                    status="closed",
                    language="kk",
                    kind="online",
                    first_response_at=NOW + timedelta(minutes=90),
                    resolved_at=NOW + timedelta(hours=25),
                    csat_score=3,
                ),
                ticket(
                    3,
                    NOW - day,
                    kind="customs",
                    language="ru",
                    first_response_at=NOW - day + timedelta(minutes=10),
                    csat_score=4,
                ),
                # 20:00 UTC on the 23rd is 01:00 on the 24th in Almaty.
                ticket(4, datetime(2026, 11, 23, 20, 0, tzinfo=UTC), kind="online"),
                ticket(5, NOW - 30 * day, csat_score=1),  # outside the week
            ],
        )
        queries = [
            ("how to register a trademark", "answer", "trademark-registration-how"),
            ("trademark registration", "answer", "trademark-registration-how"),
            ("fees for a patent", "answer", "patent-fees"),
            ("где купить пиццу", "none", None),
            ("Где купить пиццу ", "none", None),
            ("weather in astana", "none", None),
            ("trademark?", "ambiguous", "trademark-registration-how"),
        ]
        await s.execute(
            insert(FaqQuery),
            [
                {
                    "user_id": 1,
                    "text": text,
                    "lang": "en",
                    "outcome": outcome,
                    "entry_id": entry,
                    "score": 0.5,
                    "created_at": NOW,
                }
                for text, outcome, entry in queries
            ],
        )
        await s.execute(
            insert(FaqFeedback),
            [
                {"user_id": 1, "entry_id": "patent-fees", "helpful": True, "created_at": NOW},
                {"user_id": 2, "entry_id": "patent-fees", "helpful": False, "created_at": NOW},
                {"user_id": 3, "entry_id": "customs-register", "helpful": True, "created_at": NOW},
            ],
        )
        await s.commit()

        report = await StatsService(s, ALMATY).report(parse_period("7d", ALMATY, NOW))

    assert report.tickets == 4
    assert report.by_status == {"new": 3, "closed": 1}
    assert report.by_kind == {"counterfeit": 1, "online": 2, "customs": 1}
    assert report.by_language == {"ko": 2, "kk": 1, "ru": 1}
    assert report.per_day[date(2026, 11, 25)] == 2
    assert report.per_day[date(2026, 11, 24)] == 2  # one of them filed on the 23rd in UTC
    assert report.per_day[date(2026, 11, 23)] == 0
    assert sum(report.per_day.values()) == 4 and len(report.per_day) == 7
    assert report.faq_questions == {"answer": 3, "none": 3, "ambiguous": 1}
    assert report.faq_top == [("trademark-registration-how", 2), ("patent-fees", 1)]
    assert report.faq_votes == {"patent-fees": (1, 1), "customs-register": (1, 0)}
    assert report.votes_total == (2, 1)
    # Case (in any script) and spaces do not split a question in two.
    assert report.faq_misses == [("где купить пиццу", 2), ("weather in astana", 1)]
    assert report.median_first_response == 30 * 60  # of 10, 30 and 90 minutes
    assert report.median_resolution == 15 * 3600  # of 5 and 25 hours
    assert report.csat == {5: 1, 4: 1, 3: 1} and report.csat_average == 4.0
    assert report.users_by_language == {"ko": 2, "kk": 1, "ru": 1}
    assert report.new_users == 3


# --- charts --------------------------------------------------------------------------------


def test_chart_is_a_png_with_its_series_and_every_glyph() -> None:
    charts = [
        Chart("Өтініштер күн сайын", ["11-24", "11-25"], [2, 3]),
        Chart(
            "유형별 민원",
            ["위조 상품", "온라인 침해", "Кеден тізілімі"],
            [5, 2, 1],
            horizontal=True,
        ),
    ]
    # pytest turns warnings into errors: a "Glyph ... missing from font" would fail here.
    png = render(charts, "ipdesk 통계 · көрсеткіштер")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    series = read_series(png)
    assert series == [
        {"title": "Өтініштер күн сайын", "labels": ["11-24", "11-25"], "values": [2, 3]},
        {
            "title": "유형별 민원",
            "labels": ["위조 상품", "온라인 침해", "Кеден тізілімі"],
            "values": [5, 2, 1],
        },
    ]


def test_a_missing_glyph_is_caught() -> None:
    """The guard works: a script no installed font covers makes matplotlib warn."""
    with pytest.warns(UserWarning, match="missing from font"):
        render([Chart("ሀ", ["a"], [1])], "x")  # Ethiopic: no font here has it


# --- exports -------------------------------------------------------------------------------


def test_formulas_are_neutralised() -> None:
    for cell in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(cell) == "'" + cell
    assert neutralise("ACME = good") == "ACME = good"
    assert neutralise(-5) == -5 and neutralise(None) is None


async def _batches(
    rows: Sequence[Sequence[object]], size: int = 3
) -> AsyncIterator[Sequence[Sequence[object]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def test_csv_and_xlsx_hold_the_rows(tmp_path: Path) -> None:
    when = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    rows = [
        (1, when, "=cmd|' /C calc'!A0", "Қазақстан · 한국어"),
        (2, None, "plain", "-minus"),
    ]
    columns = ["id", "created_at_utc", "company", "note"]
    csv_result = await write_export("t", columns, _batches(rows), ExportFormat.CSV, tmp_path)
    xlsx_result = await write_export("t", columns, _batches(rows), ExportFormat.XLSX, tmp_path)
    assert csv_result.rows == xlsx_result.rows == 2

    (csv_zip,) = csv_result.parts
    with zipfile.ZipFile(csv_zip) as zf:
        text = zf.read("t.csv").decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        columns,
        ["1", "2026-11-25T09:30:00+00:00", "'=cmd|' /C calc'!A0", "Қазақстан · 한국어"],
        ["2", "", "plain", "'-minus"],
    ]

    (xlsx,) = xlsx_result.parts
    book = openpyxl.load_workbook(xlsx, read_only=True)
    values = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    assert values[0] == columns
    assert values[1] == [
        1,
        datetime(2026, 11, 25, 9, 30),
        "'=cmd|' /C calc'!A0",
        "Қазақстан · 한국어",
    ]
    assert values[2] == [2, None, "plain", "'-minus"]


async def test_large_export_streams_in_parts_within_a_memory_bound(
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count = 30_000
    async with sessionmaker() as s:
        for start in range(0, count, 5000):
            await s.execute(
                insert(Ticket),
                [
                    ticket(n, NOW, description=secrets.token_hex(100))
                    for n in range(start, start + 5000)
                ],
            )
        await s.commit()
    # Small parts, to see the split at work without writing 50 MB.
    monkeypatch.setattr("bot.services.exports.PART_LIMIT_BYTES", 1024 * 1024)
    monkeypatch.setattr("bot.services.exports.XLSX_MAX_ROWS", 12_000)
    columns, stmt = export_statement("tickets", None, None)

    tracemalloc.start()
    try:
        csv_result = await write_export(
            "tickets", columns, stream_rows(sessionmaker, stmt), ExportFormat.CSV, tmp_path
        )
        xlsx_result = await write_export(
            "tickets", columns, stream_rows(sessionmaker, stmt), ExportFormat.XLSX, tmp_path
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The whole data set is ~30 000 × 300 bytes ≈ 9 MB as text, far more as Python objects.
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert csv_result.rows == xlsx_result.rows == count
    assert len(xlsx_result.parts) == 3  # 12 000 + 12 000 + 6 000 rows
    seen = 0
    for part in csv_result.parts:
        with zipfile.ZipFile(part) as zf:
            (name,) = zf.namelist()
            lines = list(csv.reader(io.StringIO(zf.read(name).decode("utf-8-sig"))))
        assert lines[0] == columns  # each part stands alone
        seen += len(lines) - 1
    assert seen == count
    assert len(csv_result.parts) >= 2
    ids: list[int] = []
    for part in xlsx_result.parts:
        book = openpyxl.load_workbook(part, read_only=True)
        rows = book.active.iter_rows(min_row=2, values_only=True)
        ids += [row[0] for row in rows]
        book.close()
    assert ids == sorted(ids) and len(set(ids)) == count


# --- through the bot -------------------------------------------------------------------------


async def test_admin_gets_statistics_and_a_chart(make_app, stand) -> None:
    admin = stand.create_user("Dana", language_code="kk")
    app: RunningBot = await make_app(admin_ids=str(admin.id))
    async with app.resources.sessionmaker() as s:
        await s.execute(insert(Ticket), [ticket(1, datetime.now(UTC), language="ko")])
        await s.commit()
    await admin.send("/stats 7d")
    text = visible((await admin.expect_message())["text"])
    assert text.startswith("Статистика") and "Өтініштер: 1" in text
    assert "Әзірге бағалар жоқ" in text
    photo = await admin.expect_message()
    stored = stand.world.files.get(photo["photo"][-1]["file_id"])
    assert stored is not None
    series = read_series(stored.data)
    by_day = series[0]
    assert sum(by_day["values"]) == 1 and len(by_day["values"]) == 7

    await admin.send("/stats last-year")
    hint = visible((await admin.expect_message())["text"])
    assert "7d" in hint and "30d" in hint


async def test_admin_exports_tickets_as_csv_and_xlsx(make_app, stand) -> None:
    admin = stand.create_user("John", language_code="en")
    app: RunningBot = await make_app(admin_ids=str(admin.id))
    async with app.resources.sessionmaker() as s:
        await s.execute(
            insert(Ticket),
            [
                ticket(1, datetime.now(UTC), company='=HYPERLINK("http://evil")'),
                ticket(2, datetime.now(UTC)),
            ],
        )
        await s.commit()
    await admin.send("/export tickets")
    progress = await admin.expect_message()
    assert "Preparing the export" in progress["text"]
    first, second = await admin.expect_message(), await admin.expect_message()
    names = {first["document"]["file_name"], second["document"]["file_name"]}
    assert any(n.endswith(".csv.zip") for n in names) and any(n.endswith(".xlsx") for n in names)
    csv_doc = first if first["document"]["file_name"].endswith(".zip") else second
    data = stand.world.files.get(csv_doc["document"]["file_id"]).data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rows = list(csv.reader(io.StringIO(zf.read(zf.namelist()[0]).decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[1][7] == '\'=HYPERLINK("http://evil")'
    done = await admin.expect_edit()
    assert done["text"] == "Export ready: 2 rows in 2 file(s)."

    await admin.send("/export everything")
    usage = await admin.expect_message()
    assert "/export tickets" in visible(usage["text"])


async def test_non_admins_get_the_unknown_command_answer(make_app, stand) -> None:
    admin = stand.create_user("Dana", language_code="en")
    await make_app(admin_ids=str(admin.id))
    stranger = stand.create_user("Eve", language_code="en")
    for command in ("/stats", "/export tickets", "/stats 30d"):
        await stranger.send(command)
        reply = visible((await stranger.expect_message())["text"])
        name = command.split()[0]
        assert reply == f"I don't know the command {name}. Send /help to see what I can do."
    await stranger.expect_no_message()


def test_durations_and_ratings_read_naturally(faq_index) -> None:  # type: ignore[no-untyped-def]
    from aiogram.utils.i18n import I18n

    from bot.config import REPO_ROOT
    from handlers.reports_views import csat_line, duration

    i18n = I18n(path=REPO_ROOT / "locales", default_locale="en", domain="messages")
    with i18n.context(), i18n.use_locale("ru"):
        assert duration(None) == "—"
        assert duration(42 * 60) == "42 мин"
        assert duration(15 * 3600 + 5 * 60) == "15 ч 5 мин"
        assert duration(3 * 86400 + 7200) == "3 д 2 ч"
    from bot.services.stats import StatsReport

    seeded = StatsReport(period=parse_period("7d", ALMATY, NOW))
    seeded.csat.update({5: 3, 4: 1})
    with i18n.context(), i18n.use_locale("ko"):
        assert (
            csat_line(seeded)
            == "평가: 5점 만점에 평균 4.8점, 총 4건 (5★ 3 · 4★ 1 · 3★ 0 · 2★ 0 · 1★ 0)"
        )
