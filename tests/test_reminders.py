"""A complaint left unfinished for a day gets one reminder, in its author's language."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.delivery import Delivery
from bot.services.reminders import ReminderSweep
from db.models import Draft, OutboxMessage, utcnow
from handlers import intake_views
from sandbox.driver import UserDriver
from tests.conftest import RunningBot
from tests.helpers import tr

REMINDER = (
    "You started a complaint on {date} and did not finish it. Send /complaint to continue "
    "where you left off, or /cancel to discard it."
)


def sweep_of(app: RunningBot) -> ReminderSweep:
    delivery = app.dp["delivery"]
    assert isinstance(delivery, Delivery)
    render = intake_views.reminder_renderer(app.resources.i18n, app.settings.tz)
    return ReminderSweep(app.resources.sessionmaker, render, delivery.wake)


async def start_a_complaint(user: UserDriver) -> None:
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.expect_edit()


async def age_drafts(app: RunningBot, by: timedelta) -> None:
    """Set the drafts back in time, as if `by` had passed (rather than waiting for it)."""
    async with app.resources.sessionmaker() as session:
        for draft in await session.scalars(select(Draft)):
            draft.created_at -= by
            draft.updated_at -= by
        await session.commit()


@pytest.mark.parametrize("lang", ["kk", "ko"])
async def test_an_abandoned_draft_is_reminded_once(app: RunningBot, lang: str) -> None:
    user = app.stand.create_user("Aigerim", language_code=lang)
    await start_a_complaint(user)
    # The bot runs the same sweep in the background (every 10 minutes).
    assert "reminders" in {task.get_name() for task in asyncio.all_tasks()}
    sweep = sweep_of(app)
    assert await sweep.run_once() == 0  # fresh: nothing yet

    await age_drafts(app, timedelta(hours=25))
    assert await sweep.run_once() == 1
    reminder = await user.expect_message()
    async with app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.reminded_at is not None
    date = f"{draft.created_at.astimezone(app.settings.tz):%d.%m.%Y}"
    expected = tr(app.resources.i18n, lang, REMINDER).format(date=date)
    assert expected != REMINDER.format(date=date)
    assert reminder["text"] == expected

    assert await sweep.run_once() == 0  # only one reminder, ever
    await user.expect_no_message(within=0.5)

    # The draft is still there: /complaint picks it up where it was left.
    await user.send("/complaint")
    question = await user.expect_message()
    assert "c:choose:right:trademark" in str(question.get("reply_markup"))


async def test_no_reminder_for_recent_filed_or_cancelled_drafts(app: RunningBot) -> None:
    recent = app.stand.create_user("Recent", language_code="en")
    await start_a_complaint(recent)
    cancelled = app.stand.create_user("Cancelled", language_code="en")
    await start_a_complaint(cancelled)
    await cancelled.send("/cancel")
    await cancelled.expect_message()
    await age_drafts(app, timedelta(hours=23))  # not yet a day
    assert await sweep_of(app).run_once() == 0
    await recent.expect_no_message(within=0.3)
    async with app.resources.sessionmaker() as session:
        assert await session.scalar(select(OutboxMessage)) is None


async def test_the_sweep_uses_its_clock(app: RunningBot) -> None:
    user = app.stand.create_user("Later", language_code="ru")
    await start_a_complaint(user)
    delivery = app.dp["delivery"]
    render = intake_views.reminder_renderer(app.resources.i18n, app.settings.tz)
    tomorrow = ReminderSweep(
        app.resources.sessionmaker,
        render,
        delivery.wake,
        clock=lambda: utcnow() + timedelta(hours=24, minutes=1),
    )
    assert await tomorrow.run_once() == 1
    assert "/complaint" in (await user.expect_message())["text"]
    assert await tomorrow.run_once() == 0
