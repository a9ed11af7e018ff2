"""The fault suite's world: the bot as `python -m bot run` webhook processes (production's shape)
on a PostgreSQL database and a Redis server of the test's own, behind the stand-in, with people
who file complaints and talk to staff while something breaks.

Every test ends by counting what the people were told against what the desk holds and what
reached the other side, and records one row per fault in `test-output/faults.json` (the table
of the closing note is made from it):

    fault, complaints accepted (a receipt reached the person) / stored (exactly once),
    relayed sent (their update was answered 200) / delivered / duplicated / refused (a
    blocked bot: staff told), after-effect faults (a send took effect but the bot never
    heard, or was in flight when the process died: duplicates allowed up to it)

Counts are taken once the outbox is empty, so that late retries (and their duplicates) are in.
The suite brings its own backend: it runs in `make test`'s first pass only (it does not use
`app_backend`, so the PostgreSQL pass deselects it).

The process, Redis and PostgreSQL fixtures are the production suite's (`tests/prod/conftest.py`).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import REPO_ROOT
from db.engine import create_engine, create_sessionmaker
from db.models import BroadcastRecipient, DeadLetter, OutboxMessage, Ticket, User, utcnow
from sandbox.driver import GroupDriver, UserDriver
from sandbox.server import StandIn
from sandbox.state import BotAccount
from tests.prod.conftest import (  # noqa: F401 - fixtures, shared with the production suite
    PUBLIC_URL,
    SECRET,
    BotProcess,
    bot_processes,
    free_port,
    private_redis,
)

STEP = 20.0  # seconds a person waits for an answer (processes on a busy two-core machine)
RESULTS = REPO_ROOT / "test-output" / "faults.json"
NUMBER = re.compile(r"IP-\d{4}-\d{6}")
COMPLAINT = ("Barakholka market, Almaty", "Fake phones with our logo", "ACME", "legal@acme.kz")


# -- the record -----------------------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    accepted: int = 0  # complaints whose receipt reached the person
    stored: int = 0  # of those, stored exactly once
    relayed_sent: int = 0  # messages carried between a person and staff, answered 200
    delivered: int = 0  # of those, found on the other side
    duplicated: int = 0  # extra copies on the other side
    refused: int = 0  # refused by Telegram for good (a blocked bot), and staff were told
    after_effect: int = 0  # faults where the send took effect but the bot heard nothing
    test: str = ""

    def check(self) -> None:
        """The suite's promise: nothing accepted lost, duplicates only after-effect faults."""
        assert self.stored == self.accepted, f"{self.fault}: a complaint was lost or doubled"
        assert self.delivered + self.refused == self.relayed_sent, f"{self.fault}: message lost"
        assert self.duplicated <= self.after_effect, f"{self.fault}: unexplained duplicates"


class Results:
    """The rows of this run, written as they come (a crashed run still leaves its table).

    `make test` runs the suite in several xdist workers: each adds its rows to the one file
    under a lock, and rows of an earlier run (another run id) are dropped."""

    def __init__(self, path: Path, run: str) -> None:
        self.path = path
        self.run = run
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, row: Row) -> None:
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                rows = json.loads(self.path.read_text())
            except (OSError, ValueError):
                rows = []
            rows = [r for r in rows if isinstance(r, dict) and r.get("run") == self.run]
            rows.append({**asdict(row), "run": self.run})
            self.path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def results() -> Results:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    return Results(RESULTS, run)


@pytest.fixture
def record(results: Results, request: pytest.FixtureRequest) -> Callable[[Row], None]:
    """Check a fault's counts and keep them (checked first: a failing row is kept too)."""

    def add(row: Row) -> None:
        row.test = request.node.name
        results.add(row)
        row.check()

    return add


# -- the desk: bot processes, their database, their Redis --------------------------------------


@dataclass
class Desk:
    stand: StandIn
    account: BotAccount
    staff: GroupDriver
    specialist: UserDriver
    env: dict[str, str]
    redis_url: str
    spawn: Callable[..., Awaitable[BotProcess]]
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    ports: list[int] = field(default_factory=list)
    processes: list[BotProcess] = field(default_factory=list)

    async def start(self, replica: int = 0) -> BotProcess:
        """Start (or start again) replica `replica` on its own webhook port."""
        process = await self.spawn(
            f"replica {replica + 1}", **self.env, WEBHOOK_PORT=str(self.ports[replica])
        )
        if replica < len(self.processes):
            self.processes[replica] = process
        else:
            self.processes.append(process)
        return process

    async def kill(self, replica: int = 0) -> None:
        """SIGKILL: no shutdown, nothing flushed, connections cut."""
        process = self.processes[replica].process
        assert process is not None and process.returncode is None
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def restart(self, replica: int = 0) -> BotProcess:
        """SIGKILL, then start again, once the dead process's locks and leases have run out
        (see below; before the start, so that the new process's own are not touched)."""
        await self.kill(replica)
        return await self.start_after_crash(replica)

    async def start_after_crash(self, replica: int = 0) -> BotProcess:
        await self.expire_locks()
        await self.expire_leases()
        return await self.start(replica)

    async def expire_locks(self) -> None:
        """Let the Redis locks a killed process held run out now rather than after their TTL
        (60 s for a person's update lock: until then that person's updates wait, which is the
        cost of a crash, not a loss)."""
        client = Redis.from_url(self.redis_url)
        try:
            keys = [key async for key in client.scan_iter(match="*lock*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    async def answered(self, within: float = STEP) -> None:
        """Every update delivered to the webhook and answered."""
        queue = self.account.updates
        assert await queue.changed.wait_until(lambda: not queue.pending, within), "updates stuck"

    async def tickets(self) -> list[Ticket]:
        async with self.sessionmaker() as session:
            return list(await session.scalars(select(Ticket).order_by(Ticket.id)))

    async def topic_ready(self) -> bool:
        """Every ticket has its place among staff: its card was delivered (in its topic)."""
        tickets = await self.tickets()
        return bool(tickets) and all(t.card_message_id for t in tickets)

    async def opt_in_to_news(self, user_ids: list[int]) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                update(User).where(User.id.in_(user_ids)).values(news_opt_in=True)
            )
            await session.commit()

    async def announcements_in_flight(self, statuses: tuple[str, ...] = ("sending",)) -> list[int]:
        """People whose announcement is being sent (leased: in flight when a process died),
        or, with `statuses`, still to be sent."""
        async with self.sessionmaker() as session:
            query = select(BroadcastRecipient.user_id)
            return list(await session.scalars(query.where(BroadcastRecipient.status.in_(statuses))))

    async def dead_letters(self) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)

    async def outbox_left(self) -> int:
        async with self.sessionmaker() as session:
            query = select(func.count()).select_from(OutboxMessage)
            return int(
                await session.scalar(query.where(OutboxMessage.status.in_(("pending", "sending"))))
                or 0
            )

    async def settled(self, within: float = 40) -> None:
        """Nothing left to send or being sent: every retry has happened, so every duplicate
        a fault can cause is in the chat (count after this, not before)."""

        async def empty() -> bool:
            return await self.outbox_left() == 0

        await until(empty, within=within, interval=0.2)

    async def expire_leases(self) -> None:
        """Let the leases of a killed process's sends run out now rather than in minutes (what
        the passing of time does): its rows are taken again, as after a real crash."""
        async with self.sessionmaker() as session:
            past = utcnow() - timedelta(seconds=1)
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending")
                .values(lease_until=past)
            )
            await session.execute(
                update(BroadcastRecipient)
                .where(BroadcastRecipient.status == "sending")
                .values(lease_until=past)
            )
            await session.commit()

    def person(self, name: str, language: str = "en") -> UserDriver:
        return self.stand.create_user(name, language_code=language)


MakeDesk = Callable[..., Awaitable[Desk]]


@pytest.fixture
async def make_desk(
    stand: StandIn,
    pg_database: str,  # tests/conftest.py
    private_redis: Any,  # noqa: F811
    bot_processes: Callable[..., Awaitable[BotProcess]],  # noqa: F811
) -> AsyncIterator[MakeDesk]:
    """`await make_desk(replicas=1, forum=True, redeliver=None, **env)`: the bot's processes
    started, webhook set, the staff chat ready with one specialist."""
    engines: list[AsyncEngine] = []

    async def make(
        *,
        replicas: int = 1,
        forum: bool = True,
        redeliver: Callable[[dict[str, Any]], Any] | None = None,
        database_url: str | None = None,
        **env: str,
    ) -> Desk:
        stand.webhook_parallel = True  # as Telegram: one chat's updates in order, chats at once
        account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
        staff = (
            stand.create_supergroup("ipdesk staff", forum=True)
            if forum
            else stand.create_group("ipdesk staff")
        )
        if not forum:
            staff.add_bot(account)
        specialist = stand.create_user("Aigul", language_code="ru")
        staff.add_member(specialist, status="administrator")
        ports = [free_port() for _ in range(replicas)]
        stand.route_webhook(
            f"{PUBLIC_URL}/webhook",
            [f"http://127.0.0.1:{port}/webhook" for port in ports],
            redeliver=redeliver,
        )
        url = database_url or pg_database
        engine = create_engine(url)
        engines.append(engine)
        desk = Desk(
            stand=stand,
            account=account,
            staff=staff,
            specialist=specialist,
            env={
                "BOT_TOKEN": account.token,
                "TELEGRAM_API_BASE": stand.base_url,
                "DATABASE_URL": url,
                "REDIS_URL": private_redis.url,
                "MODE": "webhook",
                "WEBHOOK_URL": PUBLIC_URL,
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "STAFF_CHAT_ID": str(staff.id),
                "STAFF_IDS": str(specialist.id),
                **env,
            },
            redis_url=private_redis.url,
            spawn=bot_processes,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            ports=ports,
        )
        for replica in range(replicas):
            await desk.start(replica)
        return desk

    yield make
    for engine in engines:
        await engine.dispose()


# -- what people do -------------------------------------------------------------------------------


async def answer_questions(user: UserDriver) -> dict[str, Any]:
    """/complaint through to the summary with its Confirm button (no evidence)."""
    await user.send("/complaint")
    kinds = await user.expect_message(STEP)
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await user.expect_edit(STEP), callback_data="c:choose:right:trademark")
    await user.press(await user.expect_edit(STEP), callback_data="c:skip:registration:")
    await user.expect_edit(STEP)
    for answer in COMPLAINT:
        await user.send(answer)
        last = await user.expect_message(STEP)
    await user.press(last, callback_data="c:skip:evidence:")
    await user.press(await user.expect_edit(STEP), callback_data="c:consent:consent:")
    return await user.expect_edit(STEP)


async def file_complaint(user: UserDriver) -> str:
    """A whole complaint; the ticket number its receipt shows."""
    summary = await answer_questions(user)
    await user.press(summary, callback_data="c:confirm::")
    return receipt_number(await user.expect_edit(STEP))


def receipt_number(message: dict[str, Any]) -> str:
    found = NUMBER.search(message.get("text") or "")
    assert found, f"not a receipt: {message.get('text')!r}"
    return found.group()


def count_stored(tickets: list[Ticket], receipts: dict[int, str]) -> int:
    """Receipts (person id -> number) whose ticket is stored once, for that person, and who
    have no other ticket."""
    by_number = {t.number: t for t in tickets}
    return sum(
        1
        for person, number in receipts.items()
        if number in by_number
        and by_number[number].user_id == person
        and sum(t.user_id == person for t in tickets) == 1
    )


def copies(
    stand: StandIn, chat_id: int, texts: list[str], thread_id: int | None = None
) -> tuple[int, int]:
    """(delivered, duplicated) of these texts among what the bot posted in a chat."""
    counts = [len(stand.delivered(chat_id, text=t, thread_id=thread_id)) for t in texts]
    return sum(1 for n in counts if n >= 1), sum(max(n - 1, 0) for n in counts)


async def until(probe: Callable[[], Any], within: float = STEP, interval: float = 0.1) -> None:
    """Wait until `probe()` (sync or async) holds."""
    async with asyncio.timeout(within):
        while True:
            value = probe()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return
            await asyncio.sleep(interval)
