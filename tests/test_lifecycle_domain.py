"""The lifecycle's pure parts, without aiogram or a database: working time, the next opening,
and how a saved reply is written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import WorkingHours
from bot.services.canned import MAX_TEXT, CannedError, Problem, parse
from bot.services.working_hours import next_opening, working_time
from tests.lifecycle_support import ALMATY, almaty

WEEKDAYS = WorkingHours.parse("Mon-Fri 09:00-18:00")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (almaty(23, 10), almaty(23, 12, 30), timedelta(hours=2, minutes=30)),  # within a day
        (almaty(23, 7), almaty(23, 9, 30), timedelta(minutes=30)),  # from before opening
        (almaty(20, 17), almaty(23, 12, 1), timedelta(hours=4, minutes=1)),  # over a weekend
        (almaty(21, 10), almaty(22, 18), timedelta(0)),  # all weekend
        (almaty(23, 17), almaty(24, 10), timedelta(hours=2)),  # overnight
        (almaty(16, 9), almaty(23, 9), timedelta(hours=45)),  # a whole week
        (almaty(23, 12), almaty(23, 11), timedelta(0)),  # backwards
    ],
)
def test_working_time(start, end, expected) -> None:  # type: ignore[no-untyped-def]
    assert working_time(WEEKDAYS, ALMATY, start, end) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (almaty(23, 10), almaty(23, 10)),  # at work now
        (almaty(23, 8), almaty(23, 9)),  # before opening
        (almaty(23, 18), almaty(24, 9)),  # at closing time
        (almaty(20, 19), almaty(23, 9)),  # Friday evening
        (almaty(22, 23, 59), almaty(23, 9)),  # Sunday night
    ],
)
def test_next_opening(moment, expected) -> None:  # type: ignore[no-untyped-def]
    assert next_opening(WEEKDAYS, ALMATY, moment) == expected


def test_next_opening_of_a_one_day_week() -> None:
    saturdays = WorkingHours.parse("Sat 10:00-14:00")
    assert next_opening(saturdays, ALMATY, almaty(21, 15)) == almaty(28, 10)


def test_a_saved_reply_is_parsed_by_language_blocks() -> None:
    name, texts = parse(
        "Docs  kk: Көшірмесін жіберіңіз\n"
        "RU: Пришлите копию.\nВторая строка.\n"
        "ko： 사본을 보내 주십시오\n"
        "en:Please send a copy"
    )
    assert name == "docs"
    assert texts == {
        "kk": "Көшірмесін жіберіңіз",
        "ru": "Пришлите копию.\nВторая строка.",
        "ko": "사본을 보내 주십시오",
        "en": "Please send a copy",
    }


@pytest.mark.parametrize(
    ("args", "problem"),
    [("", Problem.BAD_NAME), ("шаблон\nen: x", Problem.BAD_NAME), ("a" * 33, Problem.BAD_NAME)],
)
def test_bad_names_are_refused(args: str, problem: Problem) -> None:
    with pytest.raises(CannedError) as caught:
        parse(args)
    assert caught.value.problem is problem


def test_a_text_too_long_for_a_message_is_refused() -> None:
    with pytest.raises(CannedError) as caught:
        parse("long\nen: " + "x" * (MAX_TEXT + 1))
    assert caught.value.problem is Problem.TOO_LONG


def test_lines_before_any_language_are_ignored_and_empty_blocks_dropped() -> None:
    assert parse("docs\nhello\nru:\nen: text") == ("docs", {"en": "text"})
