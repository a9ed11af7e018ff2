"""Texts and charts of /stats, /export and /mydata, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from aiogram.utils.i18n import gettext as _

from bot.services.charts import Chart
from bot.services.faq import FaqCatalogue
from bot.services.stats import StatsReport
from handlers.intake_views import kind_label
from handlers.keyboards import LANGUAGE_NAMES

MAX_MISS_CHARS = 80


def status_label(status: str) -> str:
    labels: dict[str, Callable[[], str]] = {
        "new": lambda: _("new"),
        "in_progress": lambda: _("in progress"),
        "resolved": lambda: _("resolved"),
        "closed": lambda: _("closed"),
    }
    render = labels.get(status)
    return render() if render else status


def _counts(counter: dict[str, int], label: Callable[[str], str]) -> str:
    if not counter:
        return "—"
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{escape(label(key))}: {count}" for key, count in ordered)


def _language(code: str) -> str:
    """The language's own name, without the flag (charts have no emoji font)."""
    name = LANGUAGE_NAMES.get(code)
    return name.split(" ", 1)[1] if name else code


def entry_title(faq: FaqCatalogue, entry_id: str, language: str) -> str:
    entry = faq.find(entry_id)
    return entry.title(language) if entry is not None else entry_id


def summary(report: StatsReport, faq: FaqCatalogue, language: str) -> str:
    p = report.period
    answered = report.faq_questions.get("answer", 0)
    asked = sum(report.faq_questions.values())
    up, down = report.votes_total
    lines = [
        _("<b>Statistics</b> · {first} – {last}").format(first=p.first, last=p.last),
        "",
        _("<b>Tickets:</b> {count}").format(count=report.tickets),
        _("By status: {counts}").format(counts=_counts(report.by_status, status_label)),
        _("By type: {counts}").format(counts=_counts(report.by_kind, kind_label)),
        _("By language: {counts}").format(counts=_counts(report.by_language, _language)),
        _("Median time to the first answer: {first}; to resolution: {resolved}").format(
            first=duration(report.median_first_response),
            resolved=duration(report.median_resolution),
        ),
        csat_line(report),
        "",
        _("<b>FAQ:</b> {asked} typed questions, {answered} answered at once").format(
            asked=asked, answered=answered
        ),
        _("Helpful: 👍 {up} · 👎 {down}").format(up=up, down=down),
    ]
    if report.faq_top:
        lines.append(_("Most given answers:"))
        lines += [
            f"• {escape(entry_title(faq, entry, language))} — {count}"
            for entry, count in report.faq_top[:5]
        ]
    if report.faq_misses:
        lines.append(_("Asked most often without an answer:"))
        lines += [f"• «{escape(_clip(text))}» — {count}" for text, count in report.faq_misses[:5]]
    lines += [
        "",
        _("<b>Users:</b> {new} new in the period; all by language: {counts}").format(
            new=report.new_users, counts=_counts(report.users_by_language, _language)
        ),
    ]
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    """A median time as people say it: minutes, hours and minutes, or days and hours."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return _("{days} d {hours} h").format(days=days, hours=hours)


def csat_line(report: StatsReport) -> str:
    average = report.csat_average
    if average is None:
        return _("Ratings: none yet")
    spread = " · ".join(f"{score}★ {report.csat.get(score, 0)}" for score in range(5, 0, -1))
    return _("Ratings: {average} of 5 from {count} ({spread})").format(
        average=f"{average:.1f}", count=sum(report.csat.values()), spread=spread
    )


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MISS_CHARS else text[: MAX_MISS_CHARS - 1] + "…"


def charts(report: StatsReport, faq: FaqCatalogue, language: str) -> tuple[list[Chart], str]:
    days = sorted(report.per_day)
    result = [
        Chart(
            _("Tickets per day"),
            [day.strftime("%m-%d") for day in days],
            [report.per_day[day] for day in days],
        ),
        Chart(
            _("Tickets by type"),
            [kind_label(kind) for kind, _n in report.by_kind.most_common()],
            [n for _kind, n in report.by_kind.most_common()],
            horizontal=True,
        ),
        Chart(
            _("Ratings (1–5)"),
            [str(score) for score in range(1, 6)],
            [report.csat.get(score, 0) for score in range(1, 6)],
        ),
        Chart(
            _("Most given FAQ answers"),
            [entry_title(faq, entry, language) for entry, _n in report.faq_top],
            [n for _entry, n in report.faq_top],
            horizontal=True,
        ),
        Chart(
            _("Users by language"),
            [_language(code) for code, _n in report.users_by_language.most_common()],
            [n for _code, n in report.users_by_language.most_common()],
        ),
    ]
    title = _("ipdesk statistics · {first} – {last}").format(
        first=report.period.first, last=report.period.last
    )
    return result, title


def period_hint() -> str:
    return _(
        "Send /stats with a period: <code>7d</code>, <code>30d</code> or a month such as "
        "<code>2026-11</code>."
    )


def export_usage() -> str:
    return _(
        "Send /export with what to export and, if you like, a period and a format:\n"
        "<code>/export tickets 2026-01-01 2026-06-30</code>\n"
        "<code>/export users xlsx</code>\n"
        "<code>/export faq_misses</code>\n"
        "Without a format you get both CSV and XLSX; dates are YYYY-MM-DD, the last day included."
    )


def export_progress(rows: int) -> str:
    return _("Preparing the export… {rows} rows so far.").format(rows=rows)


def export_done(rows: int, files: int) -> str:
    return _("Export ready: {rows} rows in {files} file(s).").format(rows=rows, files=files)


def mydata_caption() -> str:
    return _(
        "Everything I store about you, as JSON. Your messages themselves live in Telegram; "
        "here are your settings, complaints, questions and the ids of your files. To delete "
        "your personal data, send /deleteme."
    )


def staff_user_forgotten(number: str) -> str:
    return _(
        "The user of ticket {number} deleted their personal data. The case stays; replies "
        "can no longer reach them."
    ).format(number=number)
