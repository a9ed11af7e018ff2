"""Oversize input: Telegram caps texts at 4096 and captions at 1024 (UTF-16 code units, after
parsing). The bot must never try to send more: what it echoes is cut or fits by construction."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import create_i18n
from bot.config import LANGUAGES, load_settings
from bot.services.intake import MAX_ATTACHMENTS, TEXT_LIMITS, Kind, Right, Step
from db.models import Draft, RelayedMessage, Ticket
from handlers import intake_views, staff_views
from sandbox.driver import GroupDriver, UserDriver
from sandbox.tghtml import parse_html
from tests.abuse.support import (
    TEXT_LIMIT,
    dead_letters,
    file_ticket,
    fill_complaint,
    settle,
    utf16_len,
)
from tests.conftest import RunningBot
from tests.helpers import eventually
from tests.test_intake_dialog import PNG


def longest(step: Step, unit: str = "Ж") -> str:
    """The longest answer a step accepts, made of `unit` (a letter, or an emoji)."""
    text = unit * TEXT_LIMITS[step].max
    while utf16_len(text) > TEXT_LIMITS[step].max:
        text = text[:-1]
    return text


def longest_answers(unit: str = "Ж") -> dict[str, str]:
    email = "@acme.example"
    return {
        "location": longest(Step.LOCATION, unit),
        "description": longest(Step.DESCRIPTION, unit),
        "company": longest(Step.COMPANY, unit),
        "contact": "a" * (TEXT_LIMITS[Step.CONTACT].max - len(email)) + email,
    }


SENDING = ("sendMessage", "editMessageText", "copyMessage", "copyMessages", "createForumTopic")


def no_failed_sends(app: RunningBot) -> list[str]:
    return [
        f"{r.method}: {r.response.get('description')}"
        for r in app.stand.requests
        if not r.ok and r.method in SENDING
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_summary_and_card_fit_in_every_language_with_the_longest_labels(lang: str) -> None:
    """Without the bot: every kind and right, every field at its maximum, 20 files."""
    i18n = create_i18n(load_settings(env_file=None))
    answers = longest_answers("😀")
    fields = {**answers, "registration_number": "7" * TEXT_LIMITS[Step.REGISTRATION].max}
    for kind, right in itertools.product(Kind, Right):
        draft = Draft(id="d", user_id=1, step="summary", kind=kind, right=right, **fields)
        ticket = Ticket(
            id=999_999, draft_id="d", user_id=1, language=lang, kind=kind, right=right,
            created_at=datetime.now(UTC), **fields,
        )  # fmt: skip
        with i18n.context(), i18n.use_locale(lang):
            texts = [intake_views.summary(draft, MAX_ATTACHMENTS)[0], staff_views.card(ticket, 20)]
        for html in texts:
            assert utf16_len(parse_html(html).text) <= TEXT_LIMIT - 200  # room for translators


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("unit", ["Ж", "😀"], ids=["letters", "emoji"])
async def test_the_longest_answers_still_fit_the_summary(
    app: RunningBot, lang: str, unit: str
) -> None:
    user = app.stand.create_user("Tester", language_code=lang)
    answers = longest_answers(unit)
    summary = await fill_complaint(app, user, answers, registration="KZ " + "7" * 61)
    assert utf16_len(summary["text"]) <= TEXT_LIMIT
    assert no_failed_sends(app) == []
    assert await dead_letters(app) == []


@pytest.mark.parametrize("unit", ["Ж", "😀"], ids=["letters", "emoji"])
async def test_the_longest_complaint_reaches_staff_whole(
    desk_app: RunningBot, staff_chat: GroupDriver, unit: str
) -> None:
    user = desk_app.stand.create_user("Tester", language_code="kk")
    answers = longest_answers(unit)
    ticket = await file_ticket(desk_app, user, answers, registration="KZ " + "7" * 61)
    card = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert card["text"].startswith(f"🆕 {ticket.number}")
    assert utf16_len(card["text"]) <= TEXT_LIMIT
    for value in answers.values():  # staff see every answer in full
        assert value in card["text"]
    assert no_failed_sends(desk_app) == []
    assert await dead_letters(desk_app) == []


async def test_a_4096_character_question_is_answered(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send(("how do I register a trademark " * 200)[:TEXT_LIMIT])
    reply = await user.expect_message()
    assert utf16_len(reply["text"]) <= TEXT_LIMIT
    await user.send("/" + "x" * (TEXT_LIMIT - 1))
    unknown = await user.expect_message()
    assert unknown["text"].startswith("I don't know the command /xxxx")
    assert utf16_len(unknown["text"]) < 200
    assert await dead_letters(app) == []


async def test_a_long_name_is_greeted(app: RunningBot) -> None:
    user = app.stand.create_user("<b>" + "Ж" * 58 + "</b>", language_code="ru")
    await user.send("/start")
    welcome = await user.expect_message()
    assert welcome["text"].startswith("Здравствуйте, <b>ЖЖЖ")
    assert await dead_letters(app) == []


async def test_longest_texts_and_captions_are_relayed_both_ways(
    desk_app: RunningBot, staff_chat: GroupDriver, specialist: UserDriver
) -> None:
    user = desk_app.stand.create_user("Jane", language_code="en")
    ticket = await file_ticket(desk_app, user)
    await staff_chat.expect_message(thread_id=ticket.topic_id)  # the card
    text, caption = "𝕏" * (TEXT_LIMIT // 2), "Ж" * 1024
    await user.send(text)
    await user.send_photo(PNG, caption=caption)
    relayed = await staff_chat.expect_messages(2, thread_id=ticket.topic_id)
    assert [m.get("text") or m.get("caption") for m in relayed] == [text, caption]
    await specialist.send("Я" * TEXT_LIMIT, chat=staff_chat, thread_id=ticket.topic_id)
    assert (await user.expect_message())["text"] == "Я" * TEXT_LIMIT

    async def relays() -> list[RelayedMessage]:
        async with desk_app.resources.sessionmaker() as session:
            return list(await session.scalars(select(RelayedMessage)))

    done = await eventually(relays, lambda rows: all(r.status == "delivered" for r in rows))
    assert len(done) == 3
    await settle(desk_app)
    assert no_failed_sends(desk_app) == []


async def test_a_too_long_answer_gets_a_hint_and_is_not_stored(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message()
    await user.press(kinds, callback_data="c:choose:kind:online")
    await user.press(await user.expect_edit(), callback_data="c:choose:right:copyright")
    await user.press(await user.expect_edit(), callback_data="c:skip:registration:")
    await user.expect_edit()
    await user.send("Ж" * (TEXT_LIMITS[Step.LOCATION].max + 1))
    hint = await user.expect_message()
    assert hint["text"] == (
        f"That is too long: please keep it under {TEXT_LIMITS[Step.LOCATION].max} characters."
    )
    assert await dead_letters(app) == []
    async with app.resources.sessionmaker() as session:
        assert await session.scalar(select(Ticket)) is None
