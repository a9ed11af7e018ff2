"""The outbox through the real stand-in: aiogram's Bot over HTTP, SQLite, a fake clock.

Every injected fault, before and after the call takes effect: nothing is lost, and a message
is duplicated only by a fault that fell after Telegram accepted it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messenger import TelegramMessenger
from bot.migrate import upgrade
from bot.services.outbox import (
    PRIORITY_CARD,
    Backoff,
    Outbox,
    OutboxWorker,
    Pacing,
    Rate,
)
from db.engine import create_engine, create_sessionmaker
from db.models import OutboxMessage, RelayedMessage, Ticket, User
from sandbox.driver import GroupDriver, UserDriver
from sandbox.faults import Fault, Faults
from sandbox.limits import RateLimits
from sandbox.server import StandIn

REQUEST_TIMEOUT = 0.5  # seconds aiogram waits for an answer: the timeout fault's cost


class FakeClock:
    """One fake time for pacing (`monotonic`) and for the table (`now`), moved by hand."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        # Ahead of the wall clock, so rows enqueued with utcnow() are due at once.
        self._epoch = datetime.now(UTC) + timedelta(hours=1)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self._epoch + timedelta(seconds=self.seconds - 1000.0)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class Hooks:
    """The lead's hooks, recorded; a lost topic is re-created through the messenger."""

    messenger: TelegramMessenger
    blocked: list[int] = field(default_factory=list)
    threads_lost: list[int | None] = field(default_factory=list)
    migrated: list[tuple[int, int]] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)

    async def on_blocked(self, row: OutboxMessage) -> None:
        self.blocked.append(row.id)

    async def on_thread_lost(self, row: OutboxMessage) -> int | None:
        self.threads_lost.append(row.thread_id)
        return await self.messenger.create_topic(row.chat_id, "IP-2026-000001 (restored)")

    async def on_chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        self.migrated.append((old_chat_id, new_chat_id))

    async def on_delivered(self, row: OutboxMessage, message_ids: Sequence[int]) -> None:
        self.delivered.append(row.id)

    async def on_undelivered(self, row: OutboxMessage, status: str, *, first: bool) -> None:
        return None


@dataclass
class Desk:
    stand: StandIn
    bot: Bot
    messenger: TelegramMessenger
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: FakeClock
    hooks: Hooks
    workers: list[OutboxWorker] = field(default_factory=list)

    def worker(self, **options: Any) -> OutboxWorker:
        options.setdefault("hooks", self.hooks)
        options.setdefault("clock", self.clock.monotonic)
        options.setdefault("now", self.clock.now)
        options.setdefault("rng", random.Random(7))
        worker = OutboxWorker(
            self.sessionmaker, options.pop("messenger", self.messenger), **options
        )
        self.workers.append(worker)
        return worker

    async def enqueue(self, kind: str, chat_id: int, params: dict[str, Any], **kw: Any) -> int:
        async with self.sessionmaker() as session:
            row = Outbox(session).enqueue(kind, chat_id, params, **kw)
            await session.commit()
            return row.id

    async def row(self, row_id: int) -> OutboxMessage:
        async with self.sessionmaker() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            return row

    async def relay(self, relay_id: int) -> RelayedMessage:
        async with self.sessionmaker() as session:
            relay = await session.get(RelayedMessage, relay_id)
            assert relay is not None
            return relay

    async def settle(self, worker: OutboxWorker, *, rounds: int = 200) -> None:
        """Deliver, moving the fake clock to each next due time, until no row is unfinished."""
        for _ in range(rounds):
            await worker.drain(timeout=5)
            wait = await worker.next_wake_in()
            if wait is None:
                return
            self.clock.advance(max(wait, 0.001))
        raise AssertionError("the outbox did not settle")

    async def user(self, name: str = "Aigerim") -> UserDriver:
        user = self.stand.create_user(name, language_code="ru")
        await user.send("/start")  # a person must write first
        return user

    async def forum(self) -> tuple[GroupDriver, int]:
        group = self.stand.create_supergroup("IP staff", forum=True)
        thread = await self.messenger.create_topic(group.id, "IP-2026-000001 · ACME")
        return group, thread

    async def relay_row(self, user_id: int, target_chat_id: int) -> int:
        """A ticket and one relayed message, as the relay handlers store them."""
        async with self.sessionmaker() as session:
            session.add(User(id=user_id, first_name="A", language="ru"))
            await session.flush()
            ticket = Ticket(
                draft_id=str(uuid.uuid4()),
                user_id=user_id,
                language="ru",
                kind="counterfeit",
                right="trademark",
                location="market",
                description="fake goods",
                company="ACME",
                contact="+7 700 000 00 00",
            )
            session.add(ticket)
            await session.flush()
            relay = RelayedMessage(
                ticket_id=ticket.id,
                direction="to_user",
                source_chat_id=-100,
                source_message_id=user_id,
                target_chat_id=target_chat_id,
            )
            session.add(relay)
            await session.commit()
            return relay.id


class PlainHttpSession(AiohttpSession):
    """aiogram's session without the 250 ms wait it leaves for TLS connections to close:
    the stand-in speaks plain HTTP, and 36 tests would wait 9 s for nothing."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def desk(stand: StandIn, sqlite_url: str) -> AsyncIterator[Desk]:
    await asyncio.to_thread(upgrade, sqlite_url)
    engine = create_engine(sqlite_url)
    account = stand.create_bot(username="ipdesk_bot")
    bot = Bot(
        token=account.token,
        session=PlainHttpSession(
            api=TelegramAPIServer.from_base(stand.base_url), timeout=REQUEST_TIMEOUT
        ),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    messenger = TelegramMessenger(bot)
    desk = Desk(stand, bot, messenger, create_sessionmaker(engine), FakeClock(), Hooks(messenger))
    try:
        yield desk
    finally:
        for worker in desk.workers:
            await worker.stop()
        await bot.session.close()
        await engine.dispose()


def sends(stand: StandIn, method: str = "sendMessage") -> int:
    return len(stand.bot_requests(method))


# -- the plain path ---------------------------------------------------------------------------


async def test_enqueued_and_committed_is_delivered(desk: Desk) -> None:
    user = await desk.user()
    relay_id = await desk.relay_row(user.id, user.id)
    row_id = await desk.enqueue(
        "text", user.id, {"text": "Staff: <b>we are on it</b>"}, relay_id=relay_id
    )
    worker = desk.worker()
    assert await worker.drain() == 1
    [message] = desk.stand.delivered(user.id, text="Staff: we are on it")
    row = await desk.row(row_id)
    assert (row.status, row.result_message_id, row.attempts) == ("done", message["message_id"], 0)
    assert row.sent_at == desk.clock.now() and row.lease_until is None
    relay = await desk.relay(relay_id)
    assert (relay.status, relay.target_message_id) == ("delivered", message["message_id"])
    assert desk.hooks.delivered == [row_id]
    assert (worker.sent, worker.retried, worker.ambiguous) == (1, 0, 0)


async def test_an_uncommitted_row_is_not_sent(desk: Desk) -> None:
    user = await desk.user()
    async with desk.sessionmaker() as session:
        Outbox(session).enqueue("text", user.id, {"text": "never"})
        await session.rollback()
    assert await desk.worker().drain() == 0
    assert desk.stand.delivered(user.id, text="never") == []


async def test_malformed_params_are_refused_at_enqueue(desk: Desk) -> None:
    async with desk.sessionmaker() as session:
        outbox = Outbox(session)
        with pytest.raises(ValueError, match="missing"):
            outbox.enqueue("copy", 1, {"from_chat_id": 1})
        with pytest.raises(ValueError, match="unknown"):
            outbox.enqueue("text", 1, {"text": "x", "parse_mode": "HTML"})
        with pytest.raises(ValueError):
            outbox.enqueue("fax", 1, {"text": "x"})


async def test_every_kind_reaches_telegram(desk: Desk) -> None:
    user = await desk.user()
    group, thread = await desk.forum()
    photo = await user.send_photo(b"\x89PNG fake", caption="the fake bag")
    album = await user.send_album([("photo", b"one"), ("photo", b"two")])
    markup = {"inline_keyboard": [[{"text": "Take", "callback_data": "t:1"}]]}
    card = await desk.enqueue(
        "text", group.id, {"text": "Card", "reply_markup": markup}, thread_id=thread
    )
    await desk.enqueue(
        "copy",
        group.id,
        {"from_chat_id": user.id, "message_id": photo["message_id"]},
        thread_id=thread,
    )
    ids = [m["message_id"] for m in album]
    album_row = await desk.enqueue(
        "album", group.id, {"from_chat_id": user.id, "message_ids": ids}, thread_id=thread
    )
    worker = desk.worker()
    await desk.settle(worker)
    card_id = (await desk.row(card)).result_message_id
    assert card_id is not None
    await desk.enqueue(
        "edit", group.id, {"message_id": card_id, "text": "Card · taken", "reply_markup": markup}
    )
    await desk.enqueue("react", user.id, {"message_id": photo["message_id"], "emoji": "👌"})
    await desk.settle(worker)

    in_topic = desk.stand.delivered(group.id, thread_id=thread)
    assert [m.get("text") or m.get("caption") for m in in_topic] == [
        "Card",
        "the fake bag",
        None,
        None,
    ]
    assert len({m["media_group_id"] for m in in_topic[2:]}) == 1  # the album stays one
    assert (await desk.row(album_row)).result_message_id == in_topic[2]["message_id"]
    [edited] = [m for m in group.messages(thread) if m["message_id"] == card_id]
    assert edited["text"] == "Card · taken" and "edit_date" in edited
    assert len(desk.stand.bot_requests("setMessageReaction", chat_id=user.id)) == 1
    assert worker.sent == 5


# -- faults, before and after the call takes effect -------------------------------------------


@dataclass(frozen=True)
class Scenario:
    inject: Callable[[Faults, str], Fault]
    where: str = "user"  # user | topic
    reply: bool = False
    ambiguous: bool = False  # the worker cannot know whether the call took effect


SCENARIOS = {
    "429": Scenario(lambda f, when: f.flood("sendMessage", retry_after=3, when=when)),
    "500": Scenario(lambda f, when: f.server_error("sendMessage", 500, when=when), ambiguous=True),
    "502 json": Scenario(
        lambda f, when: f.bad_gateway("sendMessage", html=False, when=when), ambiguous=True
    ),
    "502 html": Scenario(lambda f, when: f.bad_gateway("sendMessage", when=when), ambiguous=True),
    "timeout": Scenario(
        lambda f, when: f.timeout("sendMessage", when=when, seconds=2 * REQUEST_TIMEOUT),
        ambiguous=True,
    ),
    "dropped": Scenario(
        lambda f, when: f.drop_connection("sendMessage", when=when), ambiguous=True
    ),
    "thread not found": Scenario(
        lambda f, when: f.thread_not_found("sendMessage", when=when), where="topic"
    ),
    "reply not found": Scenario(
        lambda f, when: f.reply_not_found("sendMessage", when=when), reply=True
    ),
}


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_fault_loses_nothing_and_duplicates_only_after_effect(
    desk: Desk, name: str, when: str
) -> None:
    scenario = SCENARIOS[name]
    user = await desk.user()
    if scenario.where == "topic":
        group, thread = await desk.forum()
        chat_id, thread_id = group.id, thread
    else:
        chat_id, thread_id = user.id, None
    params: dict[str, Any] = {"text": f"reply {name}"}
    if scenario.reply:
        params["reply_to"] = user.private_chat().last_message_id  # the user's /start
    later = {"text": f"next after {name}"}
    row_id = await desk.enqueue("text", chat_id, params, thread_id=thread_id)
    next_id = await desk.enqueue("text", chat_id, later, thread_id=thread_id)
    fault = scenario.inject(desk.stand.faults, when)
    worker = desk.worker()

    await desk.settle(worker)

    copies = desk.stand.delivered(chat_id, text=f"reply {name}")
    duplicates = len(copies) - 1
    after_effect = fault.fired if when == "after" else 0
    assert fault.fired == 1
    assert len(copies) >= 1, "lost"
    assert duplicates <= after_effect
    if scenario.ambiguous:
        assert duplicates <= worker.ambiguous
    assert [(await desk.row(i)).status for i in (row_id, next_id)] == ["done", "done"]
    # The message behind it was not lost and did not overtake it.
    texts = [m.get("text") for m in desk.stand.delivered(chat_id)]
    assert texts.index(f"next after {name}") > texts.index(f"reply {name}")
    if scenario.where == "topic":
        assert desk.hooks.threads_lost == [thread_id]
        new_thread = (await desk.row(row_id)).thread_id
        assert new_thread != thread_id
        assert desk.stand.delivered(chat_id, text=f"reply {name}", thread_id=new_thread)
        assert (await desk.row(next_id)).thread_id == new_thread  # followed, no second topic
    if scenario.reply:
        assert len(desk.stand.delivered(chat_id, text=f"reply {name}")) >= 1


async def test_flood_control_waits_retry_after_and_counts_no_attempt(desk: Desk) -> None:
    user = await desk.user()
    relay_id = await desk.relay_row(user.id, user.id)
    row_id = await desk.enqueue("text", user.id, {"text": "hello"}, relay_id=relay_id)
    desk.stand.faults.flood("sendMessage", retry_after=7)
    worker = desk.worker()
    start = desk.clock.now()
    await worker.drain()
    row = await desk.row(row_id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.next_attempt_at == start + timedelta(seconds=7)
    assert (await desk.relay(relay_id)).status == "retrying"
    desk.clock.advance(6.9)
    assert await worker.drain() == 0
    desk.clock.advance(0.1)
    assert await worker.drain() == 1
    assert (await desk.relay(relay_id)).status == "delivered"
    assert worker.retried == 1 and worker.ambiguous == 0


async def test_transient_failures_back_off_then_give_up(desk: Desk) -> None:
    user = await desk.user()
    relay_id = await desk.relay_row(user.id, user.id)
    row_id = await desk.enqueue("text", user.id, {"text": "doomed"}, relay_id=relay_id)
    desk.stand.faults.server_error("sendMessage", 500, times=10)
    worker = desk.worker(backoff=Backoff(base=1, cap=60, max_attempts=4), pacing=None)
    delays = []
    for _ in range(3):
        before = desk.clock.now()
        await worker.drain()
        row = await desk.row(row_id)
        delays.append((row.next_attempt_at - before).total_seconds())
        desk.clock.advance(delays[-1])
    await worker.drain()
    row = await desk.row(row_id)
    assert (row.status, row.attempts) == ("failed", 4)
    assert row.last_error is not None and "server_error" in row.last_error
    assert [0.5 <= delays[0] <= 1, 1 <= delays[1] <= 2, 2 <= delays[2] <= 4] == [True] * 3
    assert (await desk.relay(relay_id)).status == "failed"
    assert sends(desk.stand) == 4


async def test_blocked_user_is_marked_and_not_retried(desk: Desk) -> None:
    user = await desk.user()
    relay_id = await desk.relay_row(user.id, user.id)
    user.block_bot()
    row_id = await desk.enqueue("text", user.id, {"text": "answer"}, relay_id=relay_id)
    worker = desk.worker()
    await desk.settle(worker)
    row = await desk.row(row_id)
    assert row.status == "blocked" and row.last_error and "blocked" in row.last_error
    assert desk.hooks.blocked == [row_id]
    assert (await desk.relay(relay_id)).status == "blocked"
    assert sends(desk.stand) == 1 and worker.retried == 0


@pytest.mark.parametrize("when", ["before", "after"])
async def test_blocked_fault(desk: Desk, when: str) -> None:
    user = await desk.user()
    row_id = await desk.enqueue("text", user.id, {"text": "answer"})
    desk.stand.faults.blocked("sendMessage", when=when)
    await desk.settle(desk.worker())
    assert (await desk.row(row_id)).status == "blocked"
    assert len(desk.stand.delivered(user.id, text="answer")) == (1 if when == "after" else 0)
    assert sends(desk.stand) == 1


async def test_a_deleted_topic_is_recreated_once_and_the_messages_land_there(desk: Desk) -> None:
    group, thread = await desk.forum()
    await desk.bot.delete_forum_topic(group.id, thread)
    first = await desk.enqueue("text", group.id, {"text": "user: hello"}, thread_id=thread)
    second = await desk.enqueue("text", group.id, {"text": "user: again"}, thread_id=thread)
    await desk.settle(desk.worker())
    assert desk.hooks.threads_lost == [thread]
    new_thread = (await desk.row(first)).thread_id
    assert new_thread is not None and new_thread != thread
    assert (await desk.row(second)).thread_id == new_thread
    texts = [m["text"] for m in desk.stand.delivered(group.id, thread_id=new_thread)]
    assert texts == ["user: hello", "user: again"]


async def test_a_topic_that_cannot_be_recreated_fails_the_row(desk: Desk) -> None:
    group, thread = await desk.forum()
    await desk.bot.delete_forum_topic(group.id, thread)
    row_id = await desk.enqueue("text", group.id, {"text": "lost"}, thread_id=thread)
    await desk.settle(desk.worker(hooks=None))
    row = await desk.row(row_id)
    assert row.status == "failed" and row.last_error and "ThreadNotFound" in row.last_error


async def test_a_vanished_reply_is_sent_without_it(desk: Desk) -> None:
    user = await desk.user()
    row_id = await desk.enqueue("text", user.id, {"text": "answer", "reply_to": 9999})
    await desk.settle(desk.worker())
    [message] = desk.stand.delivered(user.id, text="answer")
    assert "reply_to_message" not in message
    row = await desk.row(row_id)
    assert row.status == "done" and '"reply_to": null' in row.payload


async def test_a_migrated_group_is_followed(desk: Desk) -> None:
    group = desk.stand.create_group("IP staff (old)")
    row_id = await desk.enqueue("text", group.id, {"text": "card"})
    other = await desk.enqueue("text", group.id, {"text": "chatter"})
    supergroup = group.migrate_to_supergroup()
    await desk.settle(desk.worker())
    assert desk.hooks.migrated == [(group.id, supergroup.id)]
    assert [(await desk.row(i)).chat_id for i in (row_id, other)] == [supergroup.id] * 2
    assert [m["text"] for m in desk.stand.delivered(supergroup.id)] == ["card", "chatter"]


# -- pacing, priority, leases -----------------------------------------------------------------


async def test_five_messages_to_one_private_chat_take_four_seconds(desk: Desk) -> None:
    user = await desk.user()
    ids = [await desk.enqueue("text", user.id, {"text": f"m{i}"}) for i in range(5)]
    other = await desk.user("Dana")
    other_id = await desk.enqueue("text", other.id, {"text": "other chat"})
    start = desk.clock.now()
    await desk.settle(desk.worker())
    offsets = [((await desk.row(i)).sent_at - start).total_seconds() for i in ids]
    assert offsets == pytest.approx([0, 1, 2, 3, 4], abs=0.01)
    assert ((await desk.row(other_id)).sent_at - start).total_seconds() == 0  # not held up
    assert [m["text"] for m in desk.stand.delivered(user.id)] == [f"m{i}" for i in range(5)]


async def test_a_group_gets_about_twenty_a_minute(desk: Desk) -> None:
    group, thread = await desk.forum()
    ids = [
        await desk.enqueue("text", group.id, {"text": f"g{i}"}, thread_id=thread) for i in range(9)
    ]
    start = desk.clock.now()
    await desk.settle(desk.worker())
    last = ((await desk.row(ids[-1])).sent_at - start).total_seconds()
    assert last == pytest.approx((9 - 3) * 3, abs=0.05)  # a burst of 3, then one per 3 s


async def test_overall_pace_is_capped(desk: Desk) -> None:
    users = [await desk.user(f"u{i}") for i in range(12)]
    ids = [await desk.enqueue("text", u.id, {"text": "news"}) for u in users]
    start = desk.clock.now()
    pacing = Pacing(overall=Rate(per_second=4, burst=4))
    await desk.settle(desk.worker(pacing=pacing))
    sent_at = [(await desk.row(i)).sent_at for i in ids]
    last = max((at - start).total_seconds() for at in sent_at)
    assert last == pytest.approx(2.0, abs=0.05)  # 4 at once, then 4 per second


async def test_ticket_cards_go_before_chatter(desk: Desk) -> None:
    group, thread = await desk.forum()
    for i in range(3):
        await desk.enqueue("text", group.id, {"text": f"chatter {i}"}, thread_id=thread)
    await desk.enqueue("text", group.id, {"text": "CARD"}, thread_id=thread, priority=PRIORITY_CARD)
    await desk.settle(desk.worker())
    texts = [m["text"] for m in desk.stand.delivered(group.id, thread_id=thread)]
    assert texts == ["CARD", "chatter 0", "chatter 1", "chatter 2"]


async def test_an_expired_lease_lets_another_worker_take_the_row(desk: Desk) -> None:
    user = await desk.user()
    row_id = await desk.enqueue("text", user.id, {"text": "in flight"})
    # Worker A sends; Telegram takes it, but A dies before it hears back.
    desk.stand.faults.timeout("sendMessage", when="after", seconds=30)
    a = desk.worker(lease_seconds=60)
    crashed = asyncio.create_task(a.drain())
    await _until(lambda: bool(desk.stand.bot_requests("sendMessage")))
    crashed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashed
    assert (await desk.row(row_id)).status == "sending"

    b = desk.worker(lease_seconds=60)
    assert await b.drain() == 0  # A's lease still holds
    desk.clock.advance(59)
    assert await b.drain() == 0
    desk.clock.advance(1)
    assert await b.drain() == 1
    row = await desk.row(row_id)
    assert (row.status, row.attempts) == ("done", 1)
    copies = desk.stand.delivered(user.id, text="in flight")
    assert len(copies) == 2 and b.ambiguous == 1  # the duplicate was in flight, and counted


async def test_run_wake_and_stop(desk: Desk) -> None:
    user = await desk.user()
    worker = desk.worker(clock=lambda: asyncio.get_running_loop().time(), now=_utcnow)
    running = asyncio.create_task(worker.run())
    await desk.enqueue("text", user.id, {"text": "woken"})
    worker.wake()
    await _until(lambda: bool(desk.stand.delivered(user.id, text="woken")))
    await worker.stop()
    await asyncio.wait_for(running, 2)
    assert worker.sent == 1


async def test_stop_gives_back_rows_not_started(desk: Desk) -> None:
    user = await desk.user()
    first = await desk.enqueue("text", user.id, {"text": "first"})
    second = await desk.enqueue("text", user.id, {"text": "second"})
    gate = asyncio.Event()
    slow = _SlowMessenger(desk.messenger, gate)
    worker = desk.worker(messenger=slow, pacing=None)
    running = asyncio.create_task(worker.drain())
    await _until(lambda: slow.started > 0)
    stopping = asyncio.create_task(worker.stop())
    gate.set()
    await stopping
    await running
    assert (await desk.row(first)).status == "done"  # the send in flight was finished
    assert (await desk.row(second)).status == "pending"  # the rest waits for the next worker
    assert (await desk.row(second)).lease_until is None


class _SlowMessenger(TelegramMessenger):
    def __init__(self, inner: TelegramMessenger, gate: asyncio.Event) -> None:
        super().__init__(inner._bot)
        self.gate = gate
        self.started = 0

    async def send_text(self, *args: Any, **kwargs: Any) -> int:
        self.started += 1
        await self.gate.wait()
        return await super().send_text(*args, **kwargs)


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll what the stand-in or a fake recorded (they offer no event to wait on)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_retried_edit_that_already_took_effect_is_done(desk: Desk) -> None:
    user = await desk.user()
    sent = await desk.enqueue("text", user.id, {"text": "draft"})
    worker = desk.worker()
    await desk.settle(worker)
    message_id = (await desk.row(sent)).result_message_id
    edit = await desk.enqueue("edit", user.id, {"message_id": message_id, "text": "final"})
    fault = desk.stand.faults.server_error("editMessageText", 502, when="after")
    await desk.settle(worker)
    assert fault.fired == 1
    # The retry hears "message is not modified": the first try took effect, so it is done.
    assert [r.response.get("ok") for r in desk.stand.bot_requests("editMessageText")] == [
        False,
        False,
    ]
    assert (await desk.row(edit)).status == "done"
    assert user.private_chat().messages[message_id].text == "final"


async def test_a_malformed_row_fails_without_a_send(desk: Desk) -> None:
    async with desk.sessionmaker() as session:
        row = OutboxMessage(kind="text", chat_id=1, payload='{"txt": 1}', status="pending")
        session.add(row)
        await session.commit()
    await desk.settle(desk.worker())
    failed = await desk.row(row.id)
    assert (
        failed.status == "failed" and failed.last_error and "missing ['text']" in failed.last_error
    )
    assert desk.stand.bot_requests("sendMessage") == []


async def test_a_bug_in_the_messenger_backs_off_and_the_worker_goes_on(desk: Desk) -> None:
    user = await desk.user()
    row_id = await desk.enqueue("text", user.id, {"text": "survives"})

    class Flaky(TelegramMessenger):
        calls = 0

        async def send_text(self, *args: Any, **kwargs: Any) -> int:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("a bug")
            return await super().send_text(*args, **kwargs)

    await desk.settle(desk.worker(messenger=Flaky(desk.bot)))
    row = await desk.row(row_id)
    assert (row.status, row.attempts) == ("done", 1)
    assert len(desk.stand.delivered(user.id, text="survives")) == 1


async def test_a_hook_meeting_flood_control_retries_the_row_later(desk: Desk) -> None:
    group, thread = await desk.forum()
    await desk.bot.delete_forum_topic(group.id, thread)
    row_id = await desk.enqueue("text", group.id, {"text": "after the topic"}, thread_id=thread)
    desk.stand.faults.flood("createForumTopic", retry_after=5)
    worker = desk.worker()
    await worker.drain()
    row = await desk.row(row_id)
    assert (row.status, row.attempts, row.thread_id) == ("pending", 0, thread)
    await desk.settle(worker)
    row = await desk.row(row_id)
    assert row.status == "done" and row.thread_id != thread
    assert desk.stand.delivered(group.id, text="after the topic", thread_id=row.thread_id)


async def test_paced_sends_meet_no_flood_control(desk: Desk) -> None:
    """The stand-in's own limits (Telegram's published rates), on the same fake clock."""
    desk.stand.set_rate_limits(RateLimits(), clock=desk.clock.monotonic)
    users = [await desk.user(f"u{i}") for i in range(40)]
    group, thread = await desk.forum()
    for n in range(3):
        for user in users:
            await desk.enqueue("text", user.id, {"text": f"{n}"})
    for n in range(25):
        await desk.enqueue("text", group.id, {"text": f"g{n}"}, thread_id=thread)
    worker = desk.worker()
    await desk.settle(worker)
    refused = [r for r in desk.stand.bot_requests("sendMessage") if not r.ok]
    assert refused == [] and worker.retried == 0
    assert worker.sent == 3 * 40 + 25
