"""A second, independent client drives the stand-in: python-telegram-bot 22.

The bot itself is built on aiogram; these tests make sure the stand-in answers what Telegram
answers, not what aiogram happens to accept: PTB's own `Application` polls, handles a command
and a button, and the PTB `Bot` copies, files, topics, webhooks and errors go through it too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import telegram
from aiohttp import web
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from sandbox.server import StandIn
from sandbox.state import BotAccount
from sandbox.webhook import SECRET_HEADER
from tests.sandbox.test_http import PNG_1x1


def ptb_bot(stand: StandIn, account: BotAccount) -> telegram.Bot:
    return telegram.Bot(
        account.token,
        base_url=f"{stand.base_url}/bot",
        base_file_url=f"{stand.base_url}/file/bot",
    )


@pytest.fixture
async def bot(stand: StandIn, account: BotAccount) -> AsyncIterator[telegram.Bot]:
    async with ptb_bot(stand, account) as bot:
        yield bot


async def test_application_polls_and_handles_a_button(stand: StandIn, account: BotAccount) -> None:
    app = (
        Application.builder()
        .token(account.token)
        .base_url(f"{stand.base_url}/bot")
        .base_file_url(f"{stand.base_url}/file/bot")
        .build()
    )

    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Қазақша", callback_data="lang:kk")]]
        )
        await update.effective_message.reply_text("Тілді таңдаңыз", reply_markup=keyboard)

    async def pressed(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data == "lang:kk"
        await query.answer("Сақталды")
        await query.edit_message_text("Тіл: қазақша")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    user = stand.create_user("Aru", language_code="kk")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            await user.send("/start")
            menu = await user.expect_message()
            assert menu["text"] == "Тілді таңдаңыз"
            await user.press(menu, "Қазақша")
            assert await user.expect_callback_answer() == "Сақталды"
            edited = await user.expect_edit()
            assert edited["text"] == "Тіл: қазақша" and "reply_markup" not in edited
        finally:
            await app.updater.stop()
            await app.stop()
    # Stopping, PTB abandons its long poll and confirms the offset with a new getUpdates,
    # which terminates the abandoned one: Telegram answers that one 409, as here.
    [abandoned] = [r for r in stand.requests if not r.ok]
    assert (abandoned.method, abandoned.error_code) == ("getUpdates", 409)
    assert "terminated by other getUpdates request" in abandoned.response["description"]
    assert not account.updates.pending  # PTB confirmed every update it handled
    assert stand.violations == []


async def test_copy_topic_and_files(bot: telegram.Bot, stand: StandIn) -> None:
    forum = stand.create_supergroup("IP staff", forum=True)
    user = stand.create_user("Minji", language_code="ko")
    question = await user.send("상표 등록 문의")
    topic = await bot.create_forum_topic(forum.id, "IP-2026-000001")
    thread = topic.message_thread_id
    card = await bot.send_message(forum.id, "<b>New ticket</b>", "HTML", message_thread_id=thread)
    assert card.is_topic_message and card.message_thread_id == thread
    copied = await bot.copy_message(
        forum.id, user.id, question["message_id"], caption="ignored", message_thread_id=thread
    )
    assert [m["message_id"] for m in forum.messages(thread)[-2:]] == [
        card.message_id,
        copied.message_id,
    ]
    assert forum.messages(thread)[-1]["text"] == "상표 등록 문의"  # a text keeps no caption
    assert "caption" not in forum.messages(thread)[-1]

    document = await bot.send_document(
        forum.id, b"%PDF-1.4 claim", filename="claim.pdf", message_thread_id=thread
    )
    assert document.document is not None and document.document.file_name == "claim.pdf"
    file = await bot.get_file(document.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 claim"
    photo = await user.send_photo(PNG_1x1)
    file = await bot.get_file(photo["photo"][-1]["file_id"])
    assert bytes(await file.download_as_bytearray()) == PNG_1x1
    downloads = [r.params["file_path"] for r in stand.bot_requests("file")]
    assert downloads == [r.result["file_path"] for r in stand.bot_requests("getFile")]
    assert len(downloads) == 2

    await bot.delete_forum_topic(forum.id, thread)
    with pytest.raises(telegram.error.BadRequest, match="Message thread not found"):
        await bot.send_message(forum.id, "late", message_thread_id=thread)
    assert stand.violations == []


async def test_webhook_delivery_to_a_ptb_receiver(bot: telegram.Bot, stand: StandIn) -> None:
    received: asyncio.Queue[telegram.Update] = asyncio.Queue()
    secrets: list[str | None] = []

    async def hook(request: web.Request) -> web.Response:
        secrets.append(request.headers.get(SECRET_HEADER))
        if request.headers.get(SECRET_HEADER) != "ptb-secret":
            return web.Response(status=403)
        if len(secrets) == 1:
            return web.Response(status=500)  # the first delivery fails: Telegram tries again
        await received.put(telegram.Update.de_json(await request.json(), bot))
        return web.Response()

    app = web.Application()
    app.router.add_post("/ptb", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/ptb"
        assert await bot.set_webhook(url, secret_token="ptb-secret")
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        user = stand.create_user("Aru")
        await user.send("first")
        await user.send("second")
        updates = [await asyncio.wait_for(received.get(), 3) for _ in range(2)]
        assert [u.message.text for u in updates if u.message] == ["first", "second"]
        assert secrets == ["ptb-secret"] * 3
        with pytest.raises(telegram.error.Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook()
    finally:
        await runner.cleanup()
    assert stand.violations == []


PTB_FAULTS = {
    "429": (
        lambda f, c: f.flood("sendMessage", 7, chat_id=c),
        telegram.error.RetryAfter,
        "Retry in",
    ),
    "403": (lambda f, c: f.blocked("sendMessage", chat_id=c), telegram.error.Forbidden, "blocked"),
    "thread": (
        lambda f, c: f.thread_not_found("sendMessage", when="after", chat_id=c),
        telegram.error.BadRequest,
        "Message thread not found",
    ),
    "reply": (
        lambda f, c: f.reply_not_found("sendMessage", chat_id=c),
        telegram.error.BadRequest,
        "Message to be replied not found",
    ),
    "500": (
        lambda f, c: f.server_error("sendMessage", 500, chat_id=c),
        telegram.error.NetworkError,
        "Internal Server Error",
    ),
    "502 json": (
        lambda f, c: f.bad_gateway("sendMessage", html=False, when="after", chat_id=c),
        telegram.error.NetworkError,
        "^Bad Gateway$",
    ),
    # PTB turns a proxy's HTML 502 into a NetworkError (aiogram: ClientDecodeError).
    "502 html": (
        lambda f, c: f.bad_gateway("sendMessage", when="after", chat_id=c),
        telegram.error.NetworkError,
        r"Bad Gateway \(502\)\. Parsing the server response b'<html>",
    ),
    "dropped": (
        lambda f, c: f.drop_connection("sendMessage", when="before", chat_id=c),
        telegram.error.NetworkError,
        "Server disconnected",
    ),
    "timeout": (
        lambda f, c: f.timeout("sendMessage", when="after", chat_id=c),
        telegram.error.TimedOut,
        "Timed out",
    ),
}


@pytest.mark.parametrize("name", list(PTB_FAULTS))
async def test_faults_reach_ptb(
    bot: telegram.Bot, stand: StandIn, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject, error, message = PTB_FAULTS[name]
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta, no warning
    user = stand.create_user("Aru")
    await user.send("/start")
    inject(stand.faults, user.id)
    with pytest.raises(error, match=message) as caught:
        await bot.send_message(user.id, "x", read_timeout=0.3)
    if isinstance(caught.value, telegram.error.RetryAfter):
        assert caught.value.retry_after == dt.timedelta(seconds=7)
    record = stand.requests[-1]
    assert record.fault is not None
    assert len(stand.delivered(user.id)) == (1 if record.fault.endswith("after") else 0)
