"""A broadcast to 10 000 people through real processes, killed half way and restarted.

The stand-in runs in this process with Telegram's flood limits on (30 msg/s overall, 1 msg/s per
private chat; a send over them gets a real 429), and some 429s are injected besides. The bot
runs as `python -m bot run` in a child process (SQLite in a temporary directory,
`BROADCAST_RATE=30`); the admin composes the announcement through the dialog and confirms it;
when half the recipients have it the bot is SIGKILLed and started again at once.

    .venv/bin/python bench/broadcast.py [--recipients 10000] [--rate 30] [--floods 20]
                                        [--blocked 20] [--kill-at 0.5] [--database-url URL]

Prints a table, then one JSON object as the last line: `rate` (broadcast messages per second
while the bot was up: first to last delivery, less the time between the kill and the first
delivery after it), `wall_rate` (the same without leaving the outage out), `duplicates`
(messages a person got more than once), `missed` (reachable recipients who got nothing),
`resume_s` (the kill to the first delivery by the new process), `possible_duplicates` (what
the bot counted and showed), `rate_limited` (the stand-in's own 429s: pacing overshoots).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from bot.migrate import upgrade  # noqa: E402
from db.engine import create_engine, create_sessionmaker  # noqa: E402
from db.models import Broadcast, BroadcastRecipient, User  # noqa: E402
from handlers.admin_views import BroadcastCb  # noqa: E402
from sandbox.driver import UserDriver  # noqa: E402
from sandbox.limits import RateLimits  # noqa: E402
from sandbox.server import StandIn  # noqa: E402

TEXT = "Новые часы приёма: с понедельника по пятницу, 09:00–18:00 · 09:00–18:00 жұмыс уақыты"
LANGUAGES = ("kk", "ru", "ko", "en")
STEP_TIMEOUT = 60.0
DEADLINE = 1800.0


class Bot:
    """`python -m bot run` as a child process."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            for _ in range(300):
                if self.process.poll() is not None:
                    return
                await asyncio.sleep(0.1)
            self.process.kill()


class Deliveries:
    """The announcement's sends that took effect, read from the stand-in's record as it grows."""

    def __init__(self, stand: StandIn, recipients: set[int]) -> None:
        self.stand = stand
        self.recipients = recipients
        self.seen = 0
        self.times: list[tuple[float, int]] = []  # (time.time(), chat id)
        self.limited = 0  # the stand-in's own 429s to recipients (pacing overshoot)
        self.injected = 0  # injected 429s that fired

    def poll(self) -> int:
        requests = self.stand.requests
        for request in requests[self.seen :]:
            if request.method != "sendMessage":
                continue
            chat = int(request.params.get("chat_id") or 0)
            if chat not in self.recipients:
                continue
            if request.effect and request.params.get("text") == TEXT:
                self.times.append((request.at, chat))
            elif request.response.get("error_code") == 429:
                if request.fault:
                    self.injected += 1
                else:
                    self.limited += 1
        self.seen = len(requests)
        return len(self.times)


async def seed(url: str, people: list[UserDriver]) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = [
                {
                    "id": p.id,
                    "first_name": p.user.first_name,
                    "language": LANGUAGES[i % 4],
                    "telegram_language": LANGUAGES[i % 4],
                    "news_opt_in": True,
                }
                for i, p in enumerate(people)
            ]
            for start in range(0, len(rows), 1000):
                await session.execute(insert(User), rows[start : start + 1000])
            await session.commit()
    finally:
        await engine.dispose()


async def compose(admin: UserDriver) -> None:
    """The admin's dialog: one text for everyone, everyone who agreed, preview, send."""
    t = STEP_TIMEOUT
    await admin.send("/broadcast")
    menu = await admin.expect_message(t)
    await admin.press(menu, callback_data=BroadcastCb(action="mode", value="one").pack())
    await admin.expect_edit(t)
    await admin.send(TEXT)
    audience = await admin.expect_message(t)
    await admin.press(audience, callback_data=BroadcastCb(action="audience", value="all").pack())
    _preview, confirm = await admin.expect_messages(2, t)
    await admin.press(confirm, callback_data=BroadcastCb(action="send").pack())
    await admin.expect_edit(t)


async def job_state(sessionmaker: Any) -> tuple[str | None, Counter[str], int]:
    async with sessionmaker() as session:
        job = await session.scalar(select(Broadcast).order_by(Broadcast.id.desc()))
        counts: Counter[str] = Counter()
        for status, n in await session.execute(
            select(BroadcastRecipient.status, func.count()).group_by(BroadcastRecipient.status)
        ):
            counts[str(status)] = int(n)
        reclaimed = await session.scalar(
            select(func.coalesce(func.sum(BroadcastRecipient.reclaimed), 0))
        )
    return (job.status if job else None), counts, int(reclaimed or 0)


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    stand = StandIn(rate_limits=RateLimits())
    await stand.start()
    account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
    bot_account = stand.world.bots[account.id]
    admin = stand.create_user("Admin", language_code="en")
    people = [
        stand.create_user(f"R{i}", language_code=LANGUAGES[i % 4]) for i in range(args.recipients)
    ]
    for person in people:  # each has written to the bot before
        stand.world.private_chat(person.user, bot_account).started = True
    blocked = rng.sample(people, args.blocked)
    for person in blocked:
        person.block_bot()
    reachable = {p.id for p in people} - {p.id for p in blocked}
    for person in rng.sample([p for p in people if p.id in reachable], args.floods):
        stand.faults.flood("sendMessage", retry_after=rng.choice((1, 2)), chat_id=person.id)

    url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await seed(url, people)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
        "BOT_TOKEN": account.token,
        "TELEGRAM_API_BASE": stand.base_url,
        "DATABASE_URL": url,
        "ADMIN_IDS": str(admin.id),
        "BROADCAST_RATE": str(args.rate),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("STAFF_CHAT_ID", None)
    env.pop("REDIS_URL", None)
    bot = Bot(env, tmp / "bot.log")
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    deliveries = Deliveries(stand, {p.id for p in people})
    try:
        bot.start()
        await admin.send("/start")
        await admin.expect_message(STEP_TIMEOUT)
        await compose(admin)
        confirmed = time.time()

        # -- half way: SIGKILL, and start again at once --------------------------------------------
        while deliveries.poll() < args.kill_at * len(reachable):
            if time.time() - confirmed > DEADLINE:
                raise SystemExit("the broadcast did not get half way in time")
            await asyncio.sleep(0.05)
        bot.kill()
        killed = time.time()
        before_kill = deliveries.poll()
        bot.start()
        while deliveries.poll() == before_kill:
            if time.time() - killed > DEADLINE:
                raise SystemExit("the broadcast did not resume")
            await asyncio.sleep(0.02)
        resumed = deliveries.times[before_kill][0]

        # -- to the end ----------------------------------------------------------------------------
        while True:
            deliveries.poll()
            status, counts, _ = await job_state(sessionmaker)
            if status in ("done", "cancelled"):
                break
            if time.time() - confirmed > DEADLINE:
                print("deadline reached before the job finished", file=sys.stderr)
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        deliveries.poll()
        status, counts, reclaimed = await job_state(sessionmaker)
        async with sessionmaker() as session:
            marked = await session.scalar(
                select(func.count()).select_from(User).where(User.blocked_at.is_not(None))
            )
    finally:
        await bot.stop()
        await engine.dispose()
        await stand.stop()

    copies = Counter(chat for _, chat in deliveries.times)
    times = sorted(at for at, _ in deliveries.times)
    if args.verbose:  # deliveries per 5 s, to see the shape
        buckets = Counter(int((at - times[0]) // 5) for at in times)
        for n in range(max(buckets) + 1):
            print(f"{n * 5:>5} s  {buckets[n]:>4}  {'#' * (buckets[n] // 5)}", file=sys.stderr)
    last_before = max(at for at, _ in deliveries.times[:before_kill])
    first, last = times[0], times[-1]
    outage = resumed - last_before
    total = len(times)
    return {
        "recipients": args.recipients,
        "reachable": len(reachable),
        "broadcast_rate": args.rate,
        "status": status,
        "delivered": total,
        "seconds": round(last - first, 2),
        "outage_s": round(outage, 2),
        "rate": round(total / (last - first - outage), 2),
        "wall_rate": round(total / (last - first), 2),
        "resume_s": round(resumed - killed, 2),
        "killed_after": before_kill,
        "missed": sum(1 for chat in reachable if copies[chat] == 0),
        "duplicates": sum(n - 1 for n in copies.values() if n > 1),
        "possible_duplicates": reclaimed,
        "blocked_marked": int(marked or 0),
        "blocked_rows": counts.get("blocked", 0),
        "failed_rows": counts.get("failed", 0),
        "injected_429": deliveries.injected,
        "rate_limited": deliveries.limited,
    }


def table(result: dict[str, Any]) -> str:
    width = max(len(key) for key in result)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in result.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="BROADCAST_RATE")
    parser.add_argument("--floods", type=int, default=20, help="injected 429s")
    parser.add_argument("--blocked", type=int, default=20, help="recipients who blocked the bot")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share delivered at the kill")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="deliveries per 5 s on stderr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(table(result))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
