"""Round trips with two real, independent clients: aiogram and python-telegram-bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputMediaVideo,
)

from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.sandbox.test_http import PNG_1x1


@pytest.fixture
async def ptb_bot(stand: StandIn, account: BotAccount) -> AsyncIterator[telegram.Bot]:
    bot = telegram.Bot(
        account.token,
        base_url=f"{stand.base_url}/bot",
        base_file_url=f"{stand.base_url}/file/bot",
    )
    async with bot:
        yield bot


async def test_aiogram_round_trip(aiogram_bot: Bot, stand: StandIn) -> None:
    me = await aiogram_bot.get_me()
    assert (me.username, me.is_bot) == ("ipdesk_bot", True)
    user = stand.create_user("Minji", language_code="ko")
    await user.send("/start")
    [update] = await aiogram_bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "/start"

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="English", callback_data="lang:en")]]
    )
    sent = await aiogram_bot.send_message(
        user.id, "<b>안녕하세요</b> 👋", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.text == "안녕하세요 👋"
    menu = await user.expect_message()
    await user.press(menu, "English")
    [update] = await aiogram_bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert update.callback_query is not None and update.callback_query.data == "lang:en"
    await aiogram_bot.answer_callback_query(update.callback_query.id, text="English")
    assert await user.expect_callback_answer() == "English"

    photo = await aiogram_bot.send_photo(
        user.id, BufferedInputFile(PNG_1x1, "pixel.png"), caption="<i>pixel</i>", parse_mode="HTML"
    )
    assert photo.photo is not None and photo.caption == "pixel"
    file = await aiogram_bot.get_file(photo.photo[-1].file_id)
    assert file.file_path is not None
    downloaded = await aiogram_bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == PNG_1x1

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await aiogram_bot.send_message(user.id, "1 < 2", parse_mode="HTML")
    user.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await aiogram_bot.send_message(user.id, "hello?")
    assert stand.violations == []


async def test_python_telegram_bot_round_trip(ptb_bot: telegram.Bot, stand: StandIn) -> None:
    me = await ptb_bot.get_me()
    assert me.username == "ipdesk_bot"
    user = stand.create_user("Aru", language_code="kk")
    await user.send("Сәлем")
    [update] = await ptb_bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "Сәлем"

    sent = await ptb_bot.send_message(user.id, "<i>Қош</i> келдіңіз", parse_mode="HTML")
    assert sent.text == "Қош келдіңіз"
    assert (await user.expect_message())["entities"] == [
        {"type": "italic", "offset": 0, "length": 3}
    ]

    photo = await ptb_bot.send_photo(user.id, photo=PNG_1x1, caption="pixel")
    file = await ptb_bot.get_file(photo.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == PNG_1x1
    with pytest.raises(telegram.error.BadRequest, match="Message to be replied not found"):
        await ptb_bot.send_message(
            user.id, "x", reply_parameters=telegram.ReplyParameters(message_id=999)
        )
    assert stand.violations == []


async def test_aiogram_mixed_album(aiogram_bot: Bot, stand: StandIn) -> None:
    user = stand.create_user("Aru")
    await user.send("/start")
    album = await aiogram_bot.send_media_group(
        user.id,
        media=[
            InputMediaPhoto(media=BufferedInputFile(PNG_1x1, "p.png"), caption="<b>proof</b>"),
            InputMediaVideo(media=BufferedInputFile(b"\0\0\0\x18ftypmp42", "v.mp4")),
        ],
    )
    assert [bool(m.photo) for m in album] == [True, False]
    assert album[0].media_group_id == album[1].media_group_id
    assert stand.violations == []
