"""Tickets end to end: many people filing at once, then a two-way relay under injected faults.

The bot runs as `python -m bot run` runs it (`bot.runner.run`), in a child process of
its own, long-polling the stand-in over loopback; SQLite in a temporary directory. The stand-in
and the simulated people stay in this process: they cost about as much CPU as the bot (the
driver scans the event log for every waiting person), and in one process they would be measured
as the bot's latency. The stand-in's rate limits are off; copyMessage meets 429s, 500s and JSON
502s, before and after the call took effect (an after-effect fault may duplicate a message). The
child's outbox worker is swapped for one with pacing relaxed and a short back-off
(`bot.delivery.OutboxWorker` is patched in the child): Telegram's pacing would make 1 000
staff-bound messages take ~50 min; it writes its counters to a file when it stops.

    .venv/bin/python bench/tickets.py [--users 200] [--messages 2000] [--faults 0.1] [--seed 1]

Prints a table, then one JSON object as the last line: `tickets_per_s` (the dialog's last step
to receipt, all users at once), `handoff_s` (until every ticket has its topic),
`step_p50_ms` / `step_p99_ms` / `step_max_ms` (a dialog step: a person's message or press to
the bot's answer; a step over 30 s counts the dialog as failed), `relay_p50_ms` /
`relay_p99_ms` (a person's or specialist's message to its copy taking effect), `lost` (must
be 0), `duplicates` (at most `after_effect_faults`), `after_effect_faults`, `faults`, `retried`,
`ambiguous`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import func, select  # noqa: E402

import bot.delivery  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.runner import run as run_bot  # noqa: E402
from bot.services.outbox import Backoff, OutboxWorker, Pacing, Rate  # noqa: E402
from db.engine import create_engine, create_sessionmaker  # noqa: E402
from db.models import OutboxMessage, Ticket  # noqa: E402
from sandbox.driver import UserDriver  # noqa: E402
from sandbox.faults import Fault, Faults  # noqa: E402
from sandbox.server import StandIn  # noqa: E402

STEP_TIMEOUT = 30.0  # seconds a simulated person waits for each answer
DEADLINE = 300.0  # seconds the relay may take before the bench gives up (and counts losses)
RELAXED = Pacing(private_chat=Rate(1e6, 1e6), group=Rate(1e6, 1e6), overall=Rate(1e6, 1e6))
WORKERS: list[OutboxWorker] = []


class BenchWorker(OutboxWorker):
    """The app's outbox worker, pacing relaxed, back-off short; kept for its counters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("pacing", RELAXED)
        kwargs.setdefault("backoff", Backoff(base=0.05, cap=0.5))
        kwargs.setdefault("poll_interval", 0.1)
        super().__init__(*args, **kwargs)
        WORKERS.append(self)


STEP_MS: list[float] = []  # each dialog step: a person's message or press to the bot's answer


async def file(user: UserDriver) -> str:
    """The complaint dialog as a person goes through it; the receipt's text."""
    t = STEP_TIMEOUT

    async def answer(expect: Any) -> dict[str, Any]:
        started = time.perf_counter()
        reply: dict[str, Any] = await expect(t)
        STEP_MS.append((time.perf_counter() - started) * 1000)
        return reply

    await user.send("/complaint")
    kinds = await answer(user.expect_message)
    if not kinds.get("reply_markup"):
        raise RuntimeError(f"/complaint answered {kinds.get('text')!r}")
    await user.press(kinds, callback_data="c:choose:kind:counterfeit")
    await user.press(await answer(user.expect_edit), callback_data="c:choose:right:trademark")
    await user.press(await answer(user.expect_edit), callback_data="c:skip:registration:")
    await answer(user.expect_edit)
    for text in ("Barakholka market", "Fake phones with our logo", "ACME Korea", "a@acme.kz"):
        await user.send(text)
        last = await answer(user.expect_message)
    await user.press(last, callback_data="c:skip:evidence:")
    await user.press(await answer(user.expect_edit), callback_data="c:consent:consent:")
    await user.press(await answer(user.expect_edit), callback_data="c:confirm::")
    return str((await answer(user.expect_edit))["text"])


def inject(faults: Faults, chat_id: int, rng: random.Random) -> tuple[Fault, bool]:
    when = rng.choice(["before", "after"])
    kind = rng.choice(["429", "500", "502"])
    if kind == "429":
        fault = faults.flood("copyMessage", 1, when=when, chat_id=chat_id)
    elif kind == "500":
        fault = faults.server_error("copyMessage", 500, when=when, chat_id=chat_id)
    else:
        fault = faults.bad_gateway("copyMessage", html=False, when=when, chat_id=chat_id)
    return fault, when == "after"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] if ordered else 0.0


async def count_open(sessionmaker: Any) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "sending")))
            )
            or 0
        )


async def run(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    rng = random.Random(args.seed)
    stand = StandIn()  # rate limits off
    await stand.start()
    account = stand.create_bot(username="ipdesk_bot", first_name="ipdesk")
    staff = stand.create_supergroup("ipdesk staff", forum=True)
    staff.add_bot(stand.world.bots[account.id])
    specialist = stand.create_user("Aigul", language_code="ru")
    staff.add_member(specialist, status="administrator")
    url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    await asyncio.to_thread(upgrade, url)
    counters = Path(tmp) / "counters.json"
    env = {
        **os.environ,
        "BOT_TOKEN": account.token,
        "TELEGRAM_API_BASE": stand.base_url,
        "DATABASE_URL": url,
        "STAFF_CHAT_ID": str(staff.id),
        "STAFF_IDS": str(specialist.id),
        "MODE": "polling",
    }
    env.pop("REDIS_URL", None)  # the memory FSM, as in the tests
    engine = create_engine(url)
    with (Path(tmp) / "bot.log").open("wb") as log_file:
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", str(counters), env=env, stderr=log_file
        )
        try:
            await started(stand, child)
            return await measure(args, rng, stand, staff, specialist, create_sessionmaker(engine))
        finally:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
            await asyncio.wait_for(child.wait(), 120)
            await engine.dispose()
            await stand.stop()
            if counters.exists():
                WORKER_COUNTERS.update(json.loads(counters.read_text()))


WORKER_COUNTERS: dict[str, int] = {}  # the child's outbox counters, once it has stopped


async def started(stand: StandIn, child: asyncio.subprocess.Process) -> None:
    """Until the bot polls the stand-in (its start-up is done)."""
    for _ in range(600):
        if child.returncode is not None:
            raise SystemExit(f"the bot stopped at start-up ({child.returncode})")
        if stand.bot_requests("getUpdates"):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the bot did not start")


def child_main(counters: str) -> None:
    """The bot, as `python -m bot run` runs it, with the relaxed outbox worker."""
    bot.delivery.OutboxWorker = BenchWorker  # type: ignore[misc]
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run_bot(load_settings(env_file=None)))
    totals = {
        "retried": sum(w.retried for w in WORKERS),
        "ambiguous": sum(w.ambiguous for w in WORKERS),
    }
    Path(counters).write_text(json.dumps(totals))


async def measure(
    args: argparse.Namespace,
    rng: random.Random,
    stand: StandIn,
    staff: Any,
    specialist: UserDriver,
    sessionmaker: Any,
) -> dict[str, Any]:
    languages = ("kk", "ru", "ko", "en")
    people = [
        stand.create_user(f"User {i}", language_code=languages[i % 4]) for i in range(args.users)
    ]

    # -- filing ---------------------------------------------------------------------------------
    filing_started = time.perf_counter()
    gate = asyncio.Semaphore(args.concurrency or len(people))

    async def file_gated(person: UserDriver) -> str:
        async with gate:
            return await file(person)

    outcomes = await asyncio.gather(*(file_gated(p) for p in people), return_exceptions=True)
    filing_s = time.perf_counter() - filing_started
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for error in errors[:3]:
        print(f"filing failed: {str(error).splitlines()[0]}", file=sys.stderr)
    filed = [(p, o) for p, o in zip(people, outcomes, strict=True) if isinstance(o, str)]
    async with sessionmaker() as session:
        stored = list(await session.scalars(select(Ticket)))
    numbers_unique = len({t.number for t in stored}) == len(stored)
    receipts_named = sum(
        1
        for person, receipt in filed
        if any(t.user_id == person.id and t.number in receipt for t in stored)
    )
    while True:
        async with sessionmaker() as session:
            waiting = await session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.topic_id.is_(None))
            )
        if not waiting and await count_open(sessionmaker) == 0:
            break
        if time.perf_counter() - filing_started > DEADLINE:
            raise SystemExit("hand-off did not finish in time")
        await asyncio.sleep(0.05)
    handoff_s = time.perf_counter() - filing_started
    async with sessionmaker() as session:
        topic = {t.user_id: t.topic_id for t in await session.scalars(select(Ticket))}

    # -- relay under faults ---------------------------------------------------------------------
    faults = [inject(stand.faults, p.id, rng) for p in people if rng.random() < args.faults]
    staff_faults = max(1, int(args.messages / 2 * args.faults / 10))
    faults += [inject(stand.faults, staff.id, rng) for _ in range(staff_faults)]
    people = [p for p, _ in filed if p.id in topic]  # the relay runs for who filed
    per_person = max(1, args.messages // (2 * max(1, len(people))))
    sent_at: dict[tuple[int, int], float] = {}  # (source chat, source message) -> time.time()
    expected: list[tuple[int, str]] = []  # (target chat, text)
    requests_before = len(stand.requests)

    async def converse(person: UserDriver) -> None:
        for i in range(per_person):
            question = f"q {person.id} {i}"
            expected.append((staff.id, question))
            at = time.time()
            message = await person.send(question)
            sent_at[(person.chat_id, message["message_id"])] = at
            answer = f"a {person.id} {i}"
            expected.append((person.id, answer))
            at = time.time()
            message = await specialist.send(answer, chat=staff, thread_id=topic[person.id])
            sent_at[(staff.id, message["message_id"])] = at
            await asyncio.sleep(0)

    relay_started = time.perf_counter()
    await asyncio.gather(*(converse(p) for p in people))

    def copies() -> Counter[tuple[int, str]]:
        chats = {chat for chat, _ in expected}
        seen: Counter[tuple[int, str]] = Counter()
        for chat in chats:
            seen.update((chat, m.get("text")) for m in stand.delivered(chat))
        return seen

    while True:
        # copies() scans the stand-in's whole event log: only once the outbox looks done.
        if await count_open(sessionmaker) == 0:
            seen = copies()
            if all(seen[key] for key in expected):
                break
        if time.perf_counter() - relay_started > DEADLINE:
            break
        await asyncio.sleep(0.2)
    relay_s = time.perf_counter() - relay_started
    seen = copies()

    first_effect: dict[tuple[int, int], float] = {}
    for request in stand.requests[requests_before:]:
        if request.method.lower() != "copymessage" or not request.effect:
            continue
        key = (int(request.params["from_chat_id"]), int(request.params["message_id"]))
        first_effect.setdefault(key, request.at)
    latencies = [
        (first_effect[key] - at) * 1000 for key, at in sent_at.items() if key in first_effect
    ]
    counts = [seen[key] for key in expected]
    return {
        "users": args.users,
        "concurrency": args.concurrency or args.users,
        "filing_failed": len(errors),
        "tickets": len(stored),
        "numbers_unique": numbers_unique,
        "receipts_named": receipts_named,
        "filing_s": round(filing_s, 3),
        "step_p50_ms": round(percentile(STEP_MS, 0.5), 1),
        "step_p99_ms": round(percentile(STEP_MS, 0.99), 1),
        "step_max_ms": round(max(STEP_MS, default=0.0), 1),
        "tickets_per_s": round(len(stored) / filing_s, 1),
        "handoff_s": round(handoff_s, 3),
        "relayed": len(expected),
        "relay_s": round(relay_s, 3),
        "relay_per_s": round(len(expected) / relay_s, 1),
        "relay_p50_ms": round(percentile(latencies, 0.5), 1),
        "relay_p99_ms": round(percentile(latencies, 0.99), 1),
        "lost": sum(1 for n in counts if n == 0),
        "duplicates": sum(n - 1 for n in counts if n > 1),
        "faults": len(faults),
        "faults_fired": sum(f.fired for f, _ in faults),
        "after_effect_faults": sum(f.fired for f, after in faults if after),
    }


def table(result: dict[str, Any]) -> str:
    width = max(len(key) for key in result)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in result.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000, help="relayed, both ways")
    parser.add_argument("--faults", type=float, default=0.1, help="share of chats with a fault")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--concurrency", type=int, default=0, help="dialogs at once (0: every user at once)"
    )
    parser.add_argument("--child", metavar="COUNTERS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args, tmp))
        result.update({"retried": 0, "ambiguous": 0, **WORKER_COUNTERS})
        logged = (Path(tmp) / "bot.log").read_text(errors="replace").splitlines()
    errors = [line for line in logged if line.startswith(("ERROR", "CRITICAL"))]
    for line in errors[:5]:
        print(f"bot: {line}", file=sys.stderr)
    result["bot_errors"] = len(errors)
    print(table(result))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
