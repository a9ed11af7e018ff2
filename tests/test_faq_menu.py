"""FAQ browsing through the stand-in: topics → questions → answer, votes, deep links."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.languages import LANGUAGES
from bot.services.faq import PAGE_SIZE
from db.models import FaqFeedback
from handlers import faq_views
from tests.conftest import RunningBot
from tests.helpers import buttons, render, tr

CODES = {"kk": "kk", "ru": "ru", "ko": "ko", "en": "en"}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_browse_to_an_answer_and_back(app: RunningBot, lang: str) -> None:
    faq = app.resources.faq
    i18n = app.resources.i18n
    category = faq.base.category("trademarks")
    entry = category.entries[0]
    user = app.stand.create_user("Tester", language_code=CODES[lang])
    await user.send("/start")
    home = await user.expect_message()
    await user.press(home, tr(i18n, lang, "📚 Questions and answers"))
    topics = await user.expect_edit()
    assert buttons(topics)[: len(faq.base.categories)] == [
        c.title(lang) for c in faq.base.categories
    ]
    await user.press(topics, category.title(lang))
    questions = await user.expect_edit()
    assert buttons(questions)[0] == entry.text(lang).title
    await user.press(questions, entry.text(lang).title)
    answer = await user.expect_edit()
    with i18n.context(), i18n.use_locale(lang):
        expected = faq_views.entry_text(entry, lang)
    assert answer["text"] == render(i18n, lang, lambda: expected)
    assert any(e["type"] == "text_link" for e in answer.get("entities", []))
    await user.press(answer, tr(i18n, lang, "⬅️ Back"))
    again = await user.expect_edit()
    assert buttons(again)[0] == entry.text(lang).title


async def test_pagination_beyond_eight_entries(app: RunningBot) -> None:
    faq = app.resources.faq
    big = max(faq.base.categories, key=lambda c: len(c.entries))
    if len(big.entries) <= PAGE_SIZE:
        pytest.skip(f"no category has more than {PAGE_SIZE} entries yet")
    user = app.stand.create_user("Tester", language_code="en")
    await user.send("/faq")
    topics = await user.expect_message()
    await user.press(topics, big.title("en"))
    first = await user.expect_edit()
    assert len([b for b in buttons(first) if b in {e.text("en").title for e in big.entries}]) == 8
    await user.press(first, "▶️")
    second = await user.expect_edit()
    assert buttons(second)[0] == big.entries[PAGE_SIZE].text("en").title


async def test_deep_link_opens_the_entry(app: RunningBot) -> None:
    user = app.stand.create_user("민지", language_code="ko")
    await user.send("/start faq-trademark-fees")
    answer = await user.expect_message()
    entry = app.resources.faq.find("trademark-fees")
    assert entry is not None
    assert answer["text"].startswith(entry.text("ko").title)


async def test_unknown_deep_link_shows_the_welcome(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start faq-no-such-entry")
    reply = await user.expect_message()
    assert reply["text"].startswith("Hello, Jane!")


async def test_votes_are_stored_once_per_user_and_entry(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start faq-customs-register")
    answer = await user.expect_message()
    await user.press(answer, "👍 Helpful")
    assert await user.expect_callback_answer() == "Thank you! Glad it helped."
    await user.press(answer, "👎 Not helpful")
    await user.expect_callback_answer()
    async with app.resources.sessionmaker() as session:
        votes = list(await session.scalars(select(FaqFeedback)))
    assert [(v.user_id, v.entry_id, v.helpful) for v in votes] == [
        (user.id, "customs-register", False)
    ]


async def test_forged_entry_id_is_refused(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/faq")
    topics = await user.expect_message()
    await user.press(topics, forged="fa:../../etc/passwd")
    toast = await user.expect_callback_answer()
    assert toast.startswith("This button is no longer valid")
    await user.press(topics, forged="fv:trademark-fees:maybe")
    assert (await user.expect_callback_answer()).startswith("This button is no longer valid")
    async with app.resources.sessionmaker() as session:
        assert list(await session.scalars(select(FaqFeedback))) == []


async def test_double_tap_is_harmless(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/faq")
    topics = await user.expect_message()
    await user.press(topics, forged="fq:trademarks:0")
    await user.expect_edit()
    await user.press(topics, forged="fq:trademarks:0")  # the same screen again
    await user.expect_callback_answer()
    await user.expect_no_message(within=0.5)
    assert app.stand.violations == []


async def test_ask_our_staff_opens_a_question_to_staff(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start faq-trademark-fees")
    answer = await user.expect_message()
    await user.press(answer, "💬 Ask our staff")
    question = await user.expect_edit()
    assert question["text"] == "Which right is concerned?"  # the kind is set: a question


async def test_without_a_staff_chat_ask_our_staff_shows_the_contacts(make_app) -> None:
    app = await make_app(complaints=False)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start faq-trademark-fees")
    answer = await user.expect_message()
    await user.press(answer, "💬 Ask our staff")
    reply = await user.expect_message()
    assert reply["text"].startswith("Questions to our staff through this bot are not open")
