"""/start, /help, /language, /privacy and unknown input, in all four languages, through the
real dispatcher long-polling the stand-in over HTTP."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.languages import LANGUAGES
from db.models import DeadLetter, User
from handlers import texts
from tests.conftest import RunningBot
from tests.helpers import buttons, render, tr

TELEGRAM_CODES = {"kk": "kk", "ru": "ru-RU", "ko": "ko", "en": "en-US"}
NAMES = {"kk": "Айгерим", "ru": "Иван", "ko": "민지", "en": "Jane"}


async def stored_user(app: RunningBot, user_id: int) -> User | None:
    async with app.resources.sessionmaker() as session:
        return await session.get(User, user_id)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_start_greets_in_the_users_language(app: RunningBot, lang: str) -> None:
    user = app.stand.create_user(NAMES[lang], language_code=TELEGRAM_CODES[lang])
    await user.send("/start")
    reply = await user.expect_message()
    i18n = app.resources.i18n
    assert reply["text"] == render(i18n, lang, texts.welcome, NAMES[lang])
    assert buttons(reply) == [
        tr(i18n, lang, msgid)
        for msgid in (
            "📚 Questions and answers",
            "📝 File a complaint",
            "🌐 Language",
            "ℹ️ Help",
            "🔒 Privacy",
        )
    ]
    stored = await stored_user(app, user.id)
    assert stored is not None and stored.language == lang


async def test_unknown_language_code_gets_english(app: RunningBot) -> None:
    user = app.stand.create_user("Hans", language_code="de")
    await user.send("/start")
    reply = await user.expect_message()
    assert reply["text"].startswith("Hello, Hans!")


async def test_names_are_escaped_not_interpreted(app: RunningBot) -> None:
    user = app.stand.create_user("<b>Evil</b> & <3", language_code="en")
    await user.send("/start")
    reply = await user.expect_message()
    assert reply["text"].startswith("Hello, <b>Evil</b> & <3!")
    assert not any(e["type"] == "bold" and e["offset"] < 10 for e in reply.get("entities", []))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("command", "screen"), [("/help", texts.help_text), ("/privacy", texts.privacy_text)]
)
async def test_help_and_privacy(app: RunningBot, lang: str, command: str, screen) -> None:
    user = app.stand.create_user(NAMES[lang], language_code=TELEGRAM_CODES[lang])
    await user.send(command)
    reply = await user.expect_message()
    features = app.dp["features"]  # /help lists the commands this deployment offers
    expected = (lambda: screen(features)) if screen is texts.help_text else screen
    assert reply["text"] == render(app.resources.i18n, lang, expected)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_language_switch_is_stored_and_used(app: RunningBot, lang: str) -> None:
    target = "ko" if lang != "ko" else "kk"
    user = app.stand.create_user(NAMES[lang], language_code=TELEGRAM_CODES[lang])
    await user.send("/language")
    menu = await user.expect_message()
    assert menu["text"] == tr(app.resources.i18n, lang, "Choose your language:")
    await user.press(menu, callback_data=f"l:{target}")
    toast = await user.expect_callback_answer()
    assert toast == tr(app.resources.i18n, target, "I will speak English with you now.")
    stored = await stored_user(app, user.id)
    assert stored is not None and stored.language == target
    await user.send("/help")
    reply = await user.expect_message()
    help_here = lambda: texts.help_text(app.dp["features"])  # noqa: E731
    assert reply["text"] == render(app.resources.i18n, target, help_here)


async def test_language_from_the_main_menu(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start")
    welcome = await user.expect_message()
    await user.press(welcome, "🌐 Language")
    edited = await user.expect_edit()
    assert edited["text"] == "Choose your language:"
    await user.press(edited, "🇷🇺 Русский")
    await user.expect_callback_answer()
    edited = await user.expect_edit()
    assert edited["text"].startswith("Здравствуйте, Jane!")


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_unknown_command(app: RunningBot, lang: str) -> None:
    user = app.stand.create_user(NAMES[lang], language_code=TELEGRAM_CODES[lang])
    await user.send("/frobnicate <now>")
    reply = await user.expect_message()
    expected = tr(
        app.resources.i18n,
        lang,
        "I don't know the command {command}. Send /help to see what I can do.",
    ).format(command="/frobnicate")
    assert reply["text"] == expected


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_unsupported_message_types(app: RunningBot, lang: str) -> None:
    user = app.stand.create_user(NAMES[lang], language_code=TELEGRAM_CODES[lang])
    await user.send_raw(location={"latitude": 43.24, "longitude": 76.89})
    reply = await user.expect_message()
    assert reply["text"] == tr(
        app.resources.i18n,
        lang,
        "I can't work with this kind of message. Please send text or use the menu.",
    )


async def test_forged_button_is_refused_and_changes_nothing(app: RunningBot) -> None:
    user = app.stand.create_user("Minji", language_code="ko")
    await user.send("/language")
    menu = await user.expect_message()
    await user.press(menu, forged="l:xx")
    toast = await user.expect_callback_answer()
    assert toast == tr(
        app.resources.i18n,
        "ko",
        "This button is no longer valid. Please open the menu again: /start",
    )
    stored = await stored_user(app, user.id)
    assert stored is not None and stored.language == "ko"


async def test_deleteme_removes_the_user(app: RunningBot) -> None:
    user = app.stand.create_user("Ivan", language_code="ru")
    await user.send("/deleteme")
    ask = await user.expect_message()
    await user.press(ask, "🗑 Да, удалить мои данные")
    await user.expect_callback_answer()
    done = await user.expect_edit()
    assert done["text"].startswith("Готово")
    assert await stored_user(app, user.id) is None


async def test_deep_link_payload_is_kept(app: RunningBot) -> None:
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/start faq-trademark-fees")
    await user.expect_message()
    await user.send("/start other-campaign")
    await user.expect_message()
    stored = await stored_user(app, user.id)
    assert stored is not None and stored.start_payload == "faq-trademark-fees"


async def test_a_failing_handler_leaves_a_dead_letter(
    app: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(texts, "help_text", broken)
    user = app.stand.create_user("Jane", language_code="en")
    await user.send("/help")
    reply = await user.expect_message()
    assert reply["text"].startswith("Sorry, something went wrong")
    async with app.resources.sessionmaker() as session:
        letters = list(await session.scalars(select(DeadLetter)))
    assert len(letters) == 1 and "RuntimeError: boom" in letters[0].error
    assert '"text":"/help"' in letters[0].payload
    monkeypatch.undo()
    await user.send("/help")  # the bot goes on
    assert (await user.expect_message())["text"].startswith("What I can do")


async def test_profile_is_published_per_language(app: RunningBot) -> None:
    calls = [
        c
        for c in app.stand.bot_requests("setMyCommands")
        if "all_private_chats" in str(c.params.get("scope"))  # staff commands have their own
    ]
    langs = sorted(c.params.get("language_code") or "" for c in calls)
    assert langs == ["", "en", "kk", "ko", "ru"]
    ko = next(
        c
        for c in app.stand.bot_requests("setMyDescription")
        if c.params.get("language_code") == "ko"
    )
    assert "카자흐스탄" in ko.params["description"]


@pytest.mark.parametrize("lang", ["kk", "ko"])
async def test_help_lists_every_command_of_the_menu(desk_app: RunningBot, lang: str) -> None:
    """With complaints open, /help names /complaint and /mytickets too, as the menu does."""
    user = desk_app.stand.create_user(NAMES[lang], language_code=TELEGRAM_CODES[lang])
    await user.send("/help")
    listed = [
        line.split(" — ")[0]
        for line in (await user.expect_message())["text"].splitlines()
        if line.startswith("/")
    ]
    assert listed == [
        "/start", "/complaint", "/mytickets", "/language", "/settings", "/privacy", "/mydata",
        "/help",
    ]  # fmt: skip
    published = next(
        c
        for c in desk_app.stand.bot_requests("setMyCommands")
        if "all_private_chats" in str(c.params.get("scope"))
        and c.params.get("language_code") == lang
    )
    commands = published.params["commands"]
    if isinstance(commands, str):
        commands = json.loads(commands)
    assert [f"/{c['command']}" for c in commands] == listed
