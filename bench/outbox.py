"""The outbox under fire: many messages, injected 429/5xx/timeouts before and after effect.

The stand-in runs in this process (its own throughput: bench/standin.py), rate limits off;
the worker paces itself unless `--pacing off`. Some chats get one fault each on their first
send, half of them after the call took effect (those may duplicate a message).

    .venv/bin/python bench/outbox.py [--messages 2000] [--users 200] [--faults 0.1]
                                     [--pacing off|telegram] [--workers 1] [--database-url URL]

Prints a table, then one JSON object as the last line: `rows_per_s`, `latency_p50_ms`,
`latency_p99_ms` (commit to recorded delivery), `lost` (must be 0), `duplicates` (at most
`after_effect_faults`), `after_effect_faults`, `ambiguous`, `retried`. A database given by
URL should be migrated already or empty; only this run's rows are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.messenger import TelegramMessenger  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.services.outbox import Backoff, Outbox, OutboxWorker, Pacing, Rate  # noqa: E402
from db.engine import create_engine, create_sessionmaker  # noqa: E402
from db.models import OutboxMessage  # noqa: E402
from sandbox.faults import Fault, Faults  # noqa: E402
from sandbox.server import StandIn  # noqa: E402

REQUEST_TIMEOUT = 1  # seconds: what a "timeout" fault costs


def inject(faults: Faults, chat_id: int, rng: random.Random) -> tuple[Fault, bool]:
    when = rng.choice(["before", "after"])
    kind = rng.choice(["429", "500", "502 html", "timeout", "dropped"])
    if kind == "429":
        fault = faults.flood("sendMessage", retry_after=1, when=when, chat_id=chat_id)
    elif kind == "500":
        fault = faults.server_error("sendMessage", 500, when=when, chat_id=chat_id)
    elif kind == "502 html":
        fault = faults.bad_gateway("sendMessage", when=when, chat_id=chat_id)
    elif kind == "timeout":
        fault = faults.timeout("sendMessage", when=when, chat_id=chat_id, seconds=2)
    else:
        fault = faults.drop_connection("sendMessage", when=when, chat_id=chat_id)
    return fault, when == "after"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    stand = StandIn()
    await stand.start()
    account = stand.create_bot(username="bench_bot")
    users = [stand.create_user(f"User {i}") for i in range(args.users)]
    for user in users:
        await user.send("/start")
    account.updates.clear()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessionmaker = create_sessionmaker(engine)
        faults = [
            inject(stand.faults, user.id, rng) for user in users if rng.random() < args.faults
        ]
        pacing = None if args.pacing == "off" else Pacing()
        if args.pacing == "off":
            pacing = Pacing(
                private_chat=Rate(1e6, 1e6), group=Rate(1e6, 1e6), overall=Rate(1e6, 1e6)
            )
        bots = [
            Bot(
                account.token,
                session=AiohttpSession(
                    api=TelegramAPIServer.from_base(stand.base_url), timeout=REQUEST_TIMEOUT
                ),
                default=DefaultBotProperties(parse_mode=ParseMode.HTML),
            )
            for _ in range(args.workers)
        ]
        workers = [
            OutboxWorker(
                sessionmaker,
                TelegramMessenger(bot),
                pacing=pacing,
                backoff=Backoff(base=0.2, cap=2.0),
                poll_interval=0.2,
            )
            for bot in bots
        ]
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        started = time.perf_counter()
        texts: list[tuple[int, str]] = []
        async with sessionmaker() as session:
            outbox = Outbox(session)
            enqueued = []
            for i in range(args.messages):
                user = users[i % len(users)]
                texts.append((user.id, f"message {i}"))
                enqueued.append(outbox.enqueue("text", user.id, {"text": f"message {i}"}))
            await session.commit()
        ids = [row.id for row in enqueued]
        for worker in workers:
            worker.wake()
        while True:
            async with sessionmaker() as session:
                open_rows = await session.scalar(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.status.in_(("pending", "sending")),
                        OutboxMessage.id >= min(ids),
                    )
                    .limit(1)
                )
            if open_rows is None:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        for worker in workers:
            await worker.stop()
        for task in tasks:
            await task
        async with sessionmaker() as session:
            rows = list(
                await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
            )
        for bot in bots:
            await bot.session.close()
        await engine.dispose()
    await stand.stop()

    latencies = sorted(
        (row.sent_at - row.created_at).total_seconds() * 1000 for row in rows if row.sent_at
    )
    copies = [len(stand.delivered(chat_id, text=text)) for chat_id, text in texts]
    return {
        "messages": args.messages,
        "users": args.users,
        "workers": args.workers,
        "pacing": args.pacing,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(len(rows) / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies), 1),
        "latency_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "lost": sum(1 for n in copies if n == 0),
        "duplicates": sum(n - 1 for n in copies if n > 1),
        "faults": len(faults),
        "after_effect_faults": sum(f.fired for f, after in faults if after),
        "ambiguous": sum(w.ambiguous for w in workers),
        "retried": sum(w.retried for w in workers),
        "failed_rows": sum(1 for row in rows if row.status != "done"),
    }


def table(result: dict[str, Any]) -> str:
    width = max(len(key) for key in result)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in result.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--faults", type=float, default=0.1, help="share of chats with a fault")
    parser.add_argument("--pacing", choices=["off", "telegram"], default="off")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(table(result))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
