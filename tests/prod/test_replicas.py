"""Two replicas: `python -m bot run` twice in webhook mode on one PostgreSQL database and one
Redis, the stand-in spreading one person's complaint over both (in turn) and delivering some
updates twice; then the desk's topic lock with two desks in this process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import create_bot, create_i18n
from bot.config import load_settings
from bot.locks import LocalLocks, Locks, RedisLocks
from bot.messenger import TelegramMessenger
from bot.services.desk import TicketDesk
from db.engine import create_engine, create_sessionmaker
from db.models import (
    DeadLetter,
    OutboxMessage,
    ProcessedUpdate,
    Ticket,
    TicketAttachment,
    User,
)
from handlers import staff_views
from sandbox.server import StandIn
from sandbox.webhook import Redelivery
from tests.prod.conftest import PUBLIC_URL, SECRET, BotProcess, RedisServer, free_port

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
STEP = 20.0  # seconds a person waits for each answer (two processes on a busy machine)
# Updates delivered twice: after the first answer (a lost 200), or racing it.
TWICE = {
    "Barakholka market, Almaty": Redelivery.AFTER,
    "Fake phones with our logo, since May": Redelivery.RACE,
    "c:choose:right:trademark": Redelivery.RACE,
    "c:consent:consent:": Redelivery.AFTER,
    "c:confirm::": Redelivery.RACE,
}


def twice(update: dict[str, Any]) -> Redelivery | None:
    message = update.get("message") or {}
    if message.get("media_group_id") and message.get("message_id", 0) % 2 == 0:
        return Redelivery.AFTER  # some album parts too
    key = message.get("text") or (update.get("callback_query") or {}).get("data")
    return TWICE.get(key or "")


async def test_one_complaint_over_two_replicas_files_one_ticket_with_one_topic(
    stand: StandIn,
    pg_database: str,
    private_redis: RedisServer,
    bot_processes: Callable[..., Awaitable[BotProcess]],
) -> None:
    account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
    staff = stand.create_supergroup("ipdesk staff", forum=True)
    ports = [(free_port(), free_port()) for _ in range(2)]
    stand.route_webhook(
        f"{PUBLIC_URL}/webhook",
        [f"http://127.0.0.1:{webhook}/webhook" for webhook, _ in ports],
        redeliver=twice,
    )
    common = {
        "BOT_TOKEN": account.token,
        "TELEGRAM_API_BASE": stand.base_url,
        "DATABASE_URL": pg_database,
        "REDIS_URL": private_redis.url,
        "MODE": "webhook",
        "WEBHOOK_URL": PUBLIC_URL,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "STAFF_CHAT_ID": str(staff.id),
    }
    replicas = [
        await bot_processes(
            f"replica {i + 1}", **common, WEBHOOK_PORT=str(webhook), HEALTH_PORT=str(health)
        )
        for i, (webhook, health) in enumerate(ports)
    ]

    user = stand.create_user("Jane", language_code="en")
    await user.send("/complaint")
    kinds = await user.expect_message(STEP)
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(STEP), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(STEP), callback_data="c:skip:registration:")
    await user.expect_edit(STEP)
    for answer in (
        "Barakholka market, Almaty",
        "Fake phones with our logo, since May",
        "ACME Korea",
        "legal@acme.example",
    ):
        await user.send(answer)
        question = await user.expect_message(STEP)
    await user.send_album([("photo", PNG), ("photo", PNG), ("photo", PNG), ("photo", PNG)])
    ack = await user.expect_message(STEP)
    assert ack["text"] == "Album received: 4 files (4 in total). Send more, or press Done."
    await user.press(ack, callback_data="c:skip:evidence:")
    consent = await user.expect_edit(STEP)
    await user.press(consent, callback_data="c:consent:consent:")
    summary = await user.expect_edit(STEP)
    await user.press(summary, callback_data="c:confirm::")
    receipt = await user.expect_edit(STEP)
    card = await staff.expect_message(timeout=STEP)  # in the ticket's topic
    await asyncio.sleep(2.0)  # the album collectors and both hand-off sweeps have had their go

    engine = create_engine(pg_database)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            tickets = list(await session.scalars(select(Ticket)))
            parts = await session.scalar(select(func.count()).select_from(TicketAttachment))
            dead = [(d.error, d.payload) for d in await session.scalars(select(DeadLetter))]
            marks = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    finally:
        await engine.dispose()

    assert len(tickets) == 1
    ticket = tickets[0]
    assert (ticket.kind, ticket.right, ticket.registration_number) == (
        "counterfeit",
        "trademark",
        None,
    )
    assert ticket.location == "Barakholka market, Almaty"
    assert ticket.description == "Fake phones with our logo, since May"
    assert (ticket.company, ticket.contact) == ("ACME Korea", "legal@acme.example")
    assert dead == []
    assert parts == 4 and marks
    assert ticket.number in receipt["text"] and ticket.topic_id is not None
    assert card.get("message_thread_id") == ticket.topic_id
    topics = [r for r in stand.bot_requests("createForumTopic") if r.ok]
    assert len(topics) == 1, "two replicas created two topics"
    assert len(stand.delivered(user.id, text=ack["text"])) == 1, "the album was acknowledged twice"
    assert len(stand.delivered(user.id, text=question["text"])) == 1

    # Both replicas took part, and some updates reached both.
    by_replica = {a.url for a in stand.webhook_attempts}
    assert len(by_replica) == 2
    delivered = [a.update_id for a in stand.webhook_attempts if a.status == 200]
    assert len(set(delivered)) < len(delivered)  # some updates were delivered twice

    # Each replica is ready and counts what it did; the skipped redeliveries add up.
    skipped = 0
    async with aiohttp.ClientSession() as http:
        for _, health in ports:
            async with http.get(f"http://127.0.0.1:{health}/readyz") as ready:
                assert ready.status == 200
                assert json.loads(await ready.text())["redis"] == "ok"
            async with http.get(f"http://127.0.0.1:{health}/metrics") as metrics:
                for line in (await metrics.text()).splitlines():
                    if line.startswith("ipdesk_updates_skipped_total "):
                        skipped += int(float(line.split()[1]))
    assert skipped >= 3
    for replica in replicas:
        assert await replica.stop() == 0
        assert replica.errors() == [], f"{replica.name} logged errors: {replica.errors()}"


# -- the topic lock, two desks in this process ----------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["shared lock", "no shared lock"])
async def test_a_deleted_topic_is_recreated_once_by_two_replicas(
    stand: StandIn, pg_database: str, redis_url: str, shared: bool
) -> None:
    """Two replicas' outbox workers both hit "thread not found" for the same ticket at once.
    With the shared lock one new topic is made; without it (the control) two are."""
    from redis.asyncio import Redis

    account = stand.create_bot()
    staff = stand.create_supergroup("staff", forum=True)
    settings = load_settings(
        env_file=None,
        bot_token=account.token,
        telegram_api_base=stand.base_url,
        database_url=pg_database,
    )
    engine = create_engine(pg_database)
    sessionmaker = create_sessionmaker(engine)
    bot = create_bot(settings)
    redis = Redis.from_url(redis_url)
    prefix = f"test-{id(stand)}:"
    render = staff_views.renderers(create_i18n(settings), "ru")
    try:
        old = await bot.create_forum_topic(staff.id, "IP-2026-000001")
        await bot.delete_forum_topic(staff.id, old.message_thread_id)
        async with sessionmaker() as session:
            session.add(User(id=7, first_name="Jane", language="en"))
            await session.flush()
            ticket = Ticket(
                draft_id="d", user_id=7, language="en", kind="other", right="patent",
                location="x", description="y", company="ACME", contact="a@b.kz",
                staff_chat_id=staff.id, topic_id=old.message_thread_id,
            )  # fmt: skip
            session.add(ticket)
            await session.flush()
            rows = [
                OutboxMessage(
                    kind="copy",
                    chat_id=staff.id,
                    thread_id=old.message_thread_id,
                    payload="{}",
                    ticket_id=ticket.id,
                )
                for _ in range(2)
            ]
            session.add_all(rows)
            await session.commit()
        shared_locks = RedisLocks(redis, prefix=prefix)

        def locks() -> Locks:
            return shared_locks if shared else LocalLocks()

        desks = [
            TicketDesk(
                sessionmaker,
                TelegramMessenger(bot),
                staff_chat_id=staff.id,
                render=render,
                wake_outbox=lambda: None,
                locks=locks(),
            )
            for _ in range(2)
        ]
        stand.faults.delay("createForumTopic", 0.3, times=2)  # both are mid-way at once
        new = await asyncio.gather(*(d.on_thread_lost(r) for d, r in zip(desks, rows, strict=True)))
        created = [r for r in stand.bot_requests("createForumTopic") if r.ok][1:]  # not `old`
        if shared:
            assert len(created) == 1 and new[0] == new[1]
        else:
            assert len(created) == 2 and new[0] != new[1]
    finally:
        await bot.session.close()
        await engine.dispose()
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
