"""No secret in the logs of a whole run: start-up, FAQ, a complaint with evidence, relay both
ways, a failing handler, Telegram failures (a proxy's 502 page, a dropped connection, a 500).
Logged as in production (JSON lines), but at DEBUG, so a leak at any level is caught."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.app import create_bot, create_dispatcher, create_resources
from bot.config import load_settings
from bot.logs import JsonFormatter
from bot.migrate import upgrade
from db.models import DeadLetter, Ticket
from handlers import texts
from sandbox.server import StandIn
from tests.abuse.support import file_ticket
from tests.conftest import RunningBot
from tests.helpers import eventually

DB_PASSWORD = "Db-Pa55word-7f3a9c"
WEBHOOK_SECRET = "whk_Secret_0d6e2b8f41"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def secret_app(
    stand: StandIn,
    pg_database: str,
    faq_index: object,
) -> AsyncIterator[RunningBot]:
    """The bot on PostgreSQL with a password in its URL and a webhook secret configured."""
    url = make_url(pg_database).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    staff_chat = stand.create_supergroup("ipdesk staff", forum=True)
    specialist = stand.create_user("Aigul", language_code="ru")
    staff_chat.add_member(specialist, status="administrator")
    account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
    staff_chat.add_bot(account)
    settings = load_settings(
        env_file=None,
        bot_token=account.token,
        telegram_api_base=stand.base_url,
        database_url=url,
        webhook_secret=WEBHOOK_SECRET,
        staff_chat_id=staff_chat.id,
        staff_ids=str(specialist.id),
    )
    resources = create_resources(settings, faq=faq_index)  # type: ignore[arg-type]
    bot = create_bot(settings)
    dp = create_dispatcher(settings, resources)
    started = asyncio.Event()

    async def mark_started() -> None:
        started.set()

    dp.startup.register(mark_started)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    await asyncio.wait_for(started.wait(), 10)
    app = RunningBot(settings, resources, bot, dp, stand, polling)
    app.staff_chat, app.specialist = staff_chat, specialist  # type: ignore[attr-defined]
    try:
        yield app
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 30)
        await resources.close()


async def test_no_secret_in_the_logs_of_a_whole_run(
    secret_app: RunningBot, captured_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, stand = secret_app, secret_app.stand
    staff_chat, specialist = app.staff_chat, app.specialist  # type: ignore[attr-defined]
    user = stand.create_user("Jane", language_code="en")
    await user.send("/start")
    await user.expect_message()
    await user.send("how do I register a trademark")
    await user.expect_message()

    stand.faults.bad_gateway("getUpdates")  # a proxy's HTML page instead of JSON
    stand.faults.drop_connection("getUpdates")
    ticket: Ticket = await file_ticket(app, user)
    card = await staff_chat.expect_message(thread_id=ticket.topic_id)
    assert card["text"].startswith("🆕")
    stand.faults.server_error("copyMessage", 500)  # the outbox retries it
    await user.send("Any news?")
    assert (await staff_chat.expect_message(thread_id=ticket.topic_id, timeout=15))[
        "text"
    ] == "Any news?"
    await specialist.send("We are on it", chat=staff_chat, thread_id=ticket.topic_id)
    assert (await user.expect_message(timeout=10))["text"] == "We are on it"

    def broken(*_: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(texts, "help_text", broken)
    await user.send("/help")
    assert (await user.expect_message())["text"].startswith("Sorry, something went wrong")

    async def letters() -> list[DeadLetter]:
        async with app.resources.sessionmaker() as session:
            return list(await session.scalars(select(DeadLetter)))

    [letter] = await eventually(letters, lambda found: len(found) == 1)

    log = captured_logs.getvalue()
    lines = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    messages = {entry["msg"] for entry in lines}
    assert {"handler failed", "ticket handed off"} <= messages  # the run was logged
    assert any(m.startswith("getUpdates failed") for m in messages)  # and its failures
    token = app.settings.bot_token.get_secret_value()  # type: ignore[union-attr]
    for secret in (token, token.split(":", 1)[1], DB_PASSWORD, WEBHOOK_SECRET):
        assert secret not in log
        assert secret not in letter.payload and secret not in letter.error
