"""The outbox on PostgreSQL: replicas share the table and never send the same row twice."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.messenger import TelegramMessenger
from bot.services.outbox import Outbox, OutboxWorker
from db.engine import create_engine, create_sessionmaker
from db.repositories.outbox import OutboxRepository
from sandbox.server import StandIn
from tests.test_outbox import FakeClock, PlainHttpSession

USERS = 20
PER_USER = 10


async def test_two_workers_send_each_row_exactly_once(stand: StandIn, pg_database: str) -> None:
    account = stand.create_bot(username="ipdesk_bot")
    users = [stand.create_user(f"user{i}") for i in range(USERS)]
    for user in users:
        await user.send("/start")
    engine = create_engine(pg_database)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        outbox = Outbox(session)
        for n in range(PER_USER):
            for user in users:
                outbox.enqueue("text", user.id, {"text": f"{user.id}:{n}"})
        await session.commit()

    clock = FakeClock()
    bots = [
        Bot(
            account.token,
            session=PlainHttpSession(api=TelegramAPIServer.from_base(stand.base_url)),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        for _ in range(2)
    ]
    # Two replicas, each with its own connection pool and HTTP session; no pacing, small
    # batches, so they claim side by side for the whole run.
    workers = [
        OutboxWorker(
            sessionmaker if i == 0 else create_sessionmaker(engine),
            TelegramMessenger(bot),
            clock=clock.monotonic,
            now=clock.now,
            pacing=None,
            batch=10,
            concurrency=8,
        )
        for i, bot in enumerate(bots)
    ]
    try:
        handled = await asyncio.gather(*(worker.drain(timeout=30) for worker in workers))
    finally:
        for bot in bots:
            await bot.session.close()

    assert sum(handled) == USERS * PER_USER
    assert all(worker.sent > 0 for worker in workers), "one replica did all the work"
    assert sum(worker.sent for worker in workers) == USERS * PER_USER
    for user in users:
        texts = [m["text"] for m in stand.delivered(user.id)]
        assert sorted(texts) == sorted(f"{user.id}:{n}" for n in range(PER_USER))
    assert len(stand.bot_requests("sendMessage")) == USERS * PER_USER
    async with sessionmaker() as session:
        assert await OutboxRepository(session).count_by_status() == {"done": USERS * PER_USER}
    assert await workers[0].next_wake_in() is None
    await engine.dispose()


async def test_a_retried_row_holds_back_its_conversation_on_postgresql(
    stand: StandIn, pg_database: str
) -> None:
    account = stand.create_bot(username="ipdesk_bot")
    user = stand.create_user("Aigerim")
    await user.send("/start")
    engine = create_engine(pg_database)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        for n in range(3):
            Outbox(session).enqueue("text", user.id, {"text": f"m{n}"})
        await session.commit()
    stand.faults.server_error("sendMessage", 500)
    clock = FakeClock()
    bot = Bot(
        account.token,
        session=PlainHttpSession(api=TelegramAPIServer.from_base(stand.base_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    worker = OutboxWorker(
        sessionmaker, TelegramMessenger(bot), clock=clock.monotonic, now=clock.now
    )
    try:
        assert await worker.drain() == 1  # m0 failed; m1, m2 are not due behind it
        wait = await worker.next_wake_in()
        assert wait is not None and 0.5 <= wait <= 1.0
        for _ in range(10):
            clock.advance(1)
            await worker.drain()
    finally:
        await bot.session.close()
        await engine.dispose()
    assert [m["text"] for m in stand.delivered(user.id)] == ["m0", "m1", "m2"]
