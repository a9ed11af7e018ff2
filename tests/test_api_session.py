"""Bot API requests as JSON bodies (bot/api_session.py), checked on what the stand-in receives."""

from __future__ import annotations

import json

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, MessageId

from bot.api_session import JsonBodySession, SendMessageForEffect
from sandbox.render import buttons
from sandbox.server import StandIn


def keyboard(label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=f"cb:{label}")]]
    )


def body(session: JsonBodySession, bot: Bot, method: SendMessage) -> dict[str, object]:
    payload = session.build_form_data(bot, method)
    return json.loads(payload._value)  # type: ignore[union-attr]


async def test_a_keyboard_is_prepared_once_and_never_confused_with_another() -> None:
    session = JsonBodySession()
    bot = Bot("42:TEST", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    try:
        first, second = keyboard("one"), keyboard("two")
        expected = {"inline_keyboard": [[{"text": "one", "callback_data": "cb:one"}]]}
        sent = body(session, bot, SendMessage(chat_id=1, text="<b>a</b>", reply_markup=first))
        assert sent == {
            "chat_id": 1,
            "text": "<b>a</b>",
            "parse_mode": "HTML",
            "reply_markup": expected,
        }
        again = body(session, bot, SendMessage(chat_id=2, text="b", reply_markup=first))
        assert again["reply_markup"] == expected and again["chat_id"] == 2
        other = body(session, bot, SendMessage(chat_id=1, text="c", reply_markup=second))
        assert other["reply_markup"] == {
            "inline_keyboard": [[{"text": "two", "callback_data": "cb:two"}]]
        }
        for n in range(600):  # more keyboards than are kept: each one still its own
            label = f"k{n}"
            sent = body(
                session, bot, SendMessage(chat_id=1, text="x", reply_markup=keyboard(label))
            )
            assert sent["reply_markup"] == {
                "inline_keyboard": [[{"text": label, "callback_data": f"cb:{label}"}]]
            }
    finally:
        await session.close()


async def test_a_message_sent_for_its_effect_reaches_the_chat(stand: StandIn) -> None:
    account = stand.create_bot(username="ipdesk_bot")
    person = stand.create_user("Aigerim")
    await person.send("/start", bot=account)  # a bot cannot write first
    session = JsonBodySession(api=TelegramAPIServer.from_base(stand.base_url))
    bot = Bot(
        account.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    try:
        sent = await bot(
            SendMessageForEffect(
                chat_id=person.id, text="<b>Hello</b>", reply_markup=keyboard("ok")
            )
        )
        assert isinstance(sent, MessageId)
        shown = await person.expect_message(bot=account)
        assert shown["message_id"] == sent.message_id
        assert shown["text"] == "Hello"
        assert [b["text"] for b in buttons(shown)] == ["ok"]
    finally:
        await session.close()
