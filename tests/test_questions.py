"""Typed questions through the stand-in: the right entry in the question's language, the
ambiguous and the "not sure" paths, greetings, and the offer to switch language."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.services.faq import FaqQueryLog
from db.models import FaqQuery, User
from handlers import faq_views
from tests.conftest import RunningBot
from tests.helpers import buttons, logged, render, tr

QUESTIONS = {
    "ko": ("상표 등록 얼마나 걸려요?", "trademark-register"),
    "kk": ("тауар белгісін қалай тіркеймін", "trademark-register"),
    "ru": ("что делать если нашли контрафакт на рынке", "counterfeit-report"),
    "en": ("how do we get our brand into the customs register", "customs-register"),
}


@pytest.mark.parametrize("lang", sorted(QUESTIONS))
async def test_a_question_gets_its_answer(app: RunningBot, lang: str) -> None:
    text, expected = QUESTIONS[lang]
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send(text)
    reply = await user.expect_message()
    entry = app.resources.faq.find(expected)
    assert entry is not None
    i18n = app.resources.i18n
    with i18n.context(), i18n.use_locale(lang):
        expected_text = faq_views.entry_text(entry, lang)
    assert reply["text"] == render(i18n, lang, lambda: expected_text)
    assert tr(i18n, lang, "🌐 Continue in English") not in buttons(reply)
    [row] = await logged(app)
    assert (row.user_id, row.text, row.lang, row.outcome, row.entry_id) == (
        user.id,
        text,
        lang,
        "answer",
        expected,
    )


async def test_the_answer_goes_out_while_the_question_is_logged(
    app: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer does not wait for the log's batch; the update ends only once both are done
    (a crash before that has Telegram deliver the question again)."""
    faq_log: FaqQueryLog = app.dp["faq_log"]
    write = faq_log._insert
    release = asyncio.Event()

    async def held(rows: list[dict[str, Any]]) -> None:
        await release.wait()
        await write(rows)

    monkeypatch.setattr(faq_log, "_insert", held)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("how do I register a trademark")
    reply = await user.expect_message()
    assert reply["text"]
    assert not await app.resources.tracker.wait_idle(0.2)  # still in flight: the row waits
    async with app.resources.sessionmaker() as session:
        assert list(await session.scalars(select(FaqQuery))) == []
    release.set()
    [row] = await logged(app)
    assert (row.user_id, row.text) == (user.id, "how do I register a trademark")


async def test_the_answer_follows_the_questions_language(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("상표 등록 얼마나 걸려요?")
    reply = await user.expect_message()
    entry = app.resources.faq.find("trademark-register")
    assert entry is not None and reply["text"].startswith(entry.text("ko").title)
    await user.press(reply, "🌐 한국어로 계속하기")
    assert await user.expect_callback_answer() == "이제부터 한국어로 안내해 드리겠습니다."
    edited = await user.expect_edit()
    assert "🌐 한국어로 계속하기" not in buttons(edited)
    assert edited["text"] == reply["text"]
    async with app.resources.sessionmaker() as session:
        stored = await session.get(User, user.id)
    assert stored is not None and stored.language == "ko"


async def test_nothing_good_says_so_and_offers_a_way_on(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("what will the weather be like in Almaty tomorrow?")
    reply = await user.expect_message()
    assert reply["text"].startswith("I'm not sure I understood.")
    assert buttons(reply) == ["📚 Questions and answers", "💬 Ask our staff"]
    [row] = await logged(app)
    assert row.outcome == "none" and row.entry_id is None


async def test_an_ambiguous_question_offers_the_top_three(app: RunningBot) -> None:
    matcher = app.resources.faq_matcher
    question = next(
        (
            q
            for q in ("patent", "trademark", "register", "fees", "court", "customs")
            if matcher.match(q, "en").outcome == "ambiguous"
        ),
        None,
    )
    if question is None:
        pytest.fail("none of the short probes is ambiguous any more; pick a new one")
    result = matcher.match(question, "en")
    user = app.stand.create_user("Jane", language_code="en")
    await user.send(question)
    reply = await user.expect_message()
    assert reply["text"] == "I found several answers that may fit. Which one do you mean?"
    titles = [app.resources.faq.find(i).text("en").title for i in result.top]  # type: ignore[union-attr]
    assert buttons(reply)[:3] == titles
    await user.press(reply, titles[0])
    answer = await user.expect_edit()
    assert answer["text"].startswith(titles[0])


@pytest.mark.parametrize(
    ("text", "lang"), [("Привет!", "ru"), ("рахмет", "kk"), ("안녕하세요", "ko"), ("thanks!", "en")]
)
async def test_greetings_get_a_friendly_reply(app: RunningBot, text: str, lang: str) -> None:
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send(text)
    reply = await user.expect_message()
    msgid = (
        "👋 Glad to help. Type your question about protecting intellectual property in "
        "Kazakhstan, or choose a topic below."
    )
    assert reply["text"] == tr(app.resources.i18n, lang, msgid)


async def test_a_huge_question_is_answered_and_logged_truncated(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("trademark " * 400)
    await user.expect_message()
    [row] = await logged(app)
    assert len(row.text) == 1000


async def test_html_in_a_question_is_not_interpreted(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("<b>hello</b> <script>alert(1)</script> what is the weather")
    reply = await user.expect_message()
    assert "<script>" not in reply["text"]
    assert app.stand.violations == []
