"""FAQ flows through the stand-in, in each of the four languages: deep links, menu pages,
typed questions that reach the right entry, ambiguous questions (the top 3 as buttons) and
questions the bot is not sure about ("I'm not sure", menu and staff buttons). Every typed
question is logged with its outcome."""

from __future__ import annotations

import pytest

from bot.faq.match import Outcome
from bot.languages import LANGUAGES
from bot.services.faq import PAGE_SIZE
from handlers import faq_views
from tests.conftest import RunningBot
from tests.helpers import buttons, logged, render, tr

# Questions as users type them, each clearly about one entry.
QUESTIONS = [
    ("дистрибьютор зарегистрировал наш бренд на себя, что делать?", "ru", "trademark-squatting"),
    ("таможня задержала партию с нашим знаком, какие сроки?", "ru", "customs-goods-suspended"),
    ("бот қандай деректерімді сақтайды?", "kk", "bot-privacy"),
    ("шетелдік компанияға патенттік өкіл керек пе?", "kk", "patent-attorney"),
    ("마드리드로 카자흐스탄을 지정할 수 있나요?", "ko", "trademark-madrid"),
    ("우리 로고 붙은 짝퉁을 시장에서 팔아요", "ko", "counterfeit-report"),
    ("someone took our brand.kz domain", "en", "domain-disputes"),
    ("how long does a trademark registration last?", "en", "trademark-term-renewal"),
]
# One word naming a subject several entries cover: which of them is meant?
AMBIGUOUS = {"ru": "регистрация", "kk": "тіркеу", "ko": "등록", "en": "register"}
NOT_SURE = {
    "ru": "какая завтра погода в Алматы?",
    "kk": "ертең Алматыда ауа райы қандай болады?",
    "ko": "내일 알마티 날씨 어때요?",
    "en": "what will the weather be like in Almaty tomorrow?",
}
NOT_SURE_TEXT = (
    "I'm not sure I understood. Try putting the question differently, choose a topic, "
    "or ask our staff."
)
AMBIGUOUS_TEXT = "I found several answers that may fit. Which one do you mean?"


def entry_screen(app: RunningBot, entry_id: str, lang: str) -> str:
    """The entry's answer screen as the user sees it in `lang`."""
    entry = app.resources.faq.find(entry_id)
    assert entry is not None
    i18n = app.resources.i18n
    with i18n.context(), i18n.use_locale(lang):
        html = faq_views.entry_text(entry, lang)
    return render(i18n, lang, lambda: html)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_deep_link_opens_the_entry_in_the_users_language(
    app: RunningBot, lang: str
) -> None:
    faq, i18n = app.resources.faq, app.resources.i18n
    entry = faq.find("customs-register")
    assert entry is not None
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send(f"/start faq-{entry.id}")
    answer = await user.expect_message()
    assert answer["text"] == entry_screen(app, entry.id, lang)
    labels = buttons(answer)
    assert labels[:2] == [tr(i18n, lang, "👍 Helpful"), tr(i18n, lang, "👎 Not helpful")]
    assert [f"↪️ {e.text(lang).title}" for e in faq.related(entry)] == labels[2:5]
    assert tr(i18n, lang, "💬 Ask our staff") in labels
    await user.press(answer, f"↪️ {faq.related(entry)[0].text(lang).title}")
    related = await user.expect_edit()
    assert related["text"] == entry_screen(app, faq.related(entry)[0].id, lang)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_menu_pages_in_every_language(app: RunningBot, lang: str) -> None:
    faq, i18n = app.resources.faq, app.resources.i18n
    big = max(faq.base.categories, key=lambda c: len(c.entries))
    assert len(big.entries) > PAGE_SIZE, "a category with a second page"
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send("/faq")
    topics = await user.expect_message()
    await user.press(topics, big.title(lang))
    first = await user.expect_edit()
    titles = [e.text(lang).title for e in big.entries]
    assert buttons(first)[:PAGE_SIZE] == titles[:PAGE_SIZE]
    await user.press(first, "▶️")
    second = await user.expect_edit()
    assert buttons(second)[0] == titles[PAGE_SIZE]
    await user.press(second, titles[PAGE_SIZE])
    answer = await user.expect_edit()
    assert answer["text"] == entry_screen(app, big.entries[PAGE_SIZE].id, lang)
    await user.press(answer, tr(i18n, lang, "⬅️ Back"))
    back = await user.expect_edit()
    assert buttons(back)[0] == titles[PAGE_SIZE]  # back to the page the entry is on


@pytest.mark.parametrize(("text", "lang", "entry_id"), QUESTIONS)
async def test_a_typed_question_reaches_its_entry(
    app: RunningBot, text: str, lang: str, entry_id: str
) -> None:
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send(text)
    reply = await user.expect_message()
    assert reply["text"] == entry_screen(app, entry_id, lang)
    [row] = await logged(app)
    assert (row.text, row.lang, row.outcome, row.entry_id) == (text, lang, "answer", entry_id)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_an_ambiguous_question_offers_three_entries(app: RunningBot, lang: str) -> None:
    faq, i18n = app.resources.faq, app.resources.i18n
    text = AMBIGUOUS[lang]
    result = app.resources.faq_matcher.match(text, lang)
    if result.outcome is not Outcome.AMBIGUOUS:
        pytest.fail(f"{text!r} is no longer ambiguous ({result}); pick another probe")
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send(text)
    reply = await user.expect_message()
    assert reply["text"] == tr(i18n, lang, AMBIGUOUS_TEXT)
    titles = [faq.find(i).text(lang).title for i in result.top]  # type: ignore[union-attr]
    assert buttons(reply) == [
        *titles,
        tr(i18n, lang, "💬 Ask our staff"),
        tr(i18n, lang, "📚 Questions and answers"),
    ]
    await user.press(reply, titles[1])  # the second guess was the one meant
    answer = await user.expect_edit()
    assert answer["text"] == entry_screen(app, result.top[1], lang)
    [row] = await logged(app)
    assert (row.lang, row.outcome, row.entry_id) == (lang, "ambiguous", None)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_not_sure_says_so_and_offers_the_menu_and_staff(app: RunningBot, lang: str) -> None:
    i18n = app.resources.i18n
    user = app.stand.create_user("Tester", language_code=lang)
    await user.send(NOT_SURE[lang])
    reply = await user.expect_message()
    assert reply["text"] == tr(i18n, lang, NOT_SURE_TEXT)
    assert buttons(reply) == [
        tr(i18n, lang, "📚 Questions and answers"),
        tr(i18n, lang, "💬 Ask our staff"),
    ]
    await user.press(reply, tr(i18n, lang, "📚 Questions and answers"))
    topics = await user.expect_edit()
    assert buttons(topics)[0] == app.resources.faq.base.categories[0].title(lang)
    [row] = await logged(app)
    assert (row.lang, row.outcome, row.entry_id) == (lang, "none", None)
