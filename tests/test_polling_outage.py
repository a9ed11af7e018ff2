"""Long polling cannot have an update delivered again: one that meets a database outage is
run again by the bot itself until the database answers, and reaches the person once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from db.models import DeadLetter, Draft
from handlers import intake, texts
from tests.conftest import RunningBot


def outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionError("the database is restarting"))


async def test_a_question_during_an_outage_is_answered_once_it_ends(
    app: RunningBot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    render = texts.help_text
    failures = [outage(), outage(), outage()]

    def help_text(*args: object) -> str:
        if failures:
            raise failures.pop()
        return render(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(texts, "help_text", help_text)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/help")
    reply = await user.expect_message(timeout=10)
    assert reply["text"].startswith("What I can do")
    await user.expect_no_message(within=0.3)
    async with app.resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0
    # Each repeated run is counted for /metrics.
    assert "ipdesk_update_outage_retries_total 3" in app.resources.metrics.render(None)


async def test_an_answer_committed_before_the_outage_is_not_given_twice(
    desk_app: RunningBot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The answer is stored, then the outage: the run again finds it stored (processed
    updates) and shows the next question instead of answering the next one with it."""
    user = desk_app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    render, failures = intake.screen, [outage()]

    async def screen(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "screen", screen)
    await user.send("Barakholka market, Almaty")
    assert (await user.expect_message(timeout=10))["text"].startswith("Describe what happened")
    await user.expect_no_message(within=0.3)
    async with desk_app.resources.sessionmaker() as session:
        draft = await session.scalar(select(Draft))
    assert draft is not None and draft.location == "Barakholka market, Almaty"
    assert draft.description is None and draft.step == "description"
