"""Broadcasts on PostgreSQL: two replicas share one job and one token bucket; every row is
sent exactly once, and together they keep to the one rate."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy import select

from bot.services.broadcast import BroadcastWorker
from db.engine import create_engine, create_sessionmaker
from db.models import BroadcastRecipient
from tests.test_broadcast_worker import RENDER, FakeAnnouncer, job_for

PEOPLE = 120
RATE = 60.0


async def test_two_replicas_send_each_row_once_at_one_rate(pg_database: str) -> None:
    engines = [create_engine(pg_database) for _ in range(2)]
    makers = [create_sessionmaker(engine) for engine in engines]
    await job_for(makers[0], PEOPLE)
    delivered: Counter[int] = Counter()
    announcers = [FakeAnnouncer(delivered) for _ in makers]
    workers = [
        BroadcastWorker(maker, announcer, RENDER, rate=RATE, burst=2, concurrency=4)
        for maker, announcer in zip(makers, announcers, strict=True)
    ]
    started = time.monotonic()
    await asyncio.gather(*(worker.drain(timeout=30) for worker in workers))
    elapsed = time.monotonic() - started
    try:
        assert sorted(delivered) == list(range(10, 10 + PEOPLE))
        assert set(delivered.values()) == {1}  # no row sent twice
        assert all(a.delivered for a in announcers)  # both replicas took part
        assert min(w.counters.sent for w in workers) > 0
        assert elapsed >= (PEOPLE - 2) / RATE * 0.95  # one bucket for both
        async with makers[0]() as session:
            statuses = Counter(await session.scalars(select(BroadcastRecipient.status)))
        assert statuses == Counter({"sent": PEOPLE})
    finally:
        for engine in engines:
            await engine.dispose()
