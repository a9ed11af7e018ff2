"""The outbox: sends that must happen, stored with the effect they announce, delivered by a worker.

    async with sessionmaker() as session:
        ticket = ...                                    # the effect
        Outbox(session).enqueue("text", chat_id, {"text": card}, thread_id=topic,
                                priority=PRIORITY_CARD, ticket_id=ticket.id)
        await session.commit()                          # both, or neither
    worker.wake()

`OutboxWorker` leases due rows (priority, then age), sends them through a `Messenger`, and
records the outcome: done (and the relayed message "delivered"), later (429: after
`retry_after`; 5xx, timeouts: exponential backoff with jitter; relay "retrying"), blocked
(403: `hooks.on_blocked`), failed (refused, or too many attempts); the hooks hear of each
(`on_delivered`, `on_undelivered`). A lost topic is re-created by `hooks.on_thread_lost` and
the message sent there in its turn, after what the hook queued (a notice, the card); a migrated
group is followed.

Pacing is per chat (≈1 msg/s private, ≈20 msg/min group, a forum's topics sharing one budget)
and overall (≈30 msg/s), as token buckets: a chat over budget is simply not due yet, so no
lease is held while waiting. Messages of one conversation (chat and topic) keep their order.

Delivery is at least once. A row is sent again only after an answer that leaves its fate
unknown (a timeout, a 5xx or a proxy page: `Transient.ambiguous`) or after its worker died
mid-send (the lease ran out); such attempts are counted in `worker.ambiguous`, so duplicates
are bounded by them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.ports import (
    Blocked,
    ChatMigrated,
    DeliveryError,
    Messenger,
    Permanent,
    ReplyNotFound,
    RetryLater,
    ThreadNotFound,
    Transient,
)
from db.models import OutboxMessage, utcnow
from db.repositories.outbox import (
    BLOCKED,
    DONE,
    FAILED,
    PENDING,
    SENDING,
    OutboxRepository,
)

log = logging.getLogger("ipdesk.outbox")

PRIORITY_CARD = 10  # ticket cards and their evidence: staff must see a ticket first
PRIORITY_NOTICE = 50  # system notices (a topic re-created, a user blocked the bot)
PRIORITY_RELAY = 100  # the conversation itself
PRIORITY_LOW = 200  # reactions, status marks

# What a relayed message shows staff about its copy (RelayedMessage.status).
RELAY_DELIVERED = "delivered"
RELAY_RETRYING = "retrying"
RELAY_BLOCKED = "blocked"
RELAY_FAILED = "failed"


class Kind(StrEnum):
    TEXT = "text"  # params: text, reply_markup?, reply_to?
    CARD = "card"  # as text; a ticket's card, whose message id the ticket keeps (on_delivered)
    COPY = "copy"  # params: from_chat_id, message_id, reply_to?
    ALBUM = "album"  # params: from_chat_id, message_ids
    EDIT = "edit"  # params: message_id, text, reply_markup?
    CAPTION = "caption"  # params: message_id, caption ("" removes it)
    REACT = "react"  # params: message_id, emoji


_REQUIRED: Mapping[Kind, frozenset[str]] = {
    Kind.TEXT: frozenset({"text"}),
    Kind.CARD: frozenset({"text"}),
    Kind.COPY: frozenset({"from_chat_id", "message_id"}),
    Kind.ALBUM: frozenset({"from_chat_id", "message_ids"}),
    Kind.EDIT: frozenset({"message_id", "text"}),
    Kind.CAPTION: frozenset({"message_id", "caption"}),
    Kind.REACT: frozenset({"message_id", "emoji"}),
}
_OPTIONAL: Mapping[Kind, frozenset[str]] = {
    Kind.TEXT: frozenset({"reply_markup", "reply_to"}),
    Kind.CARD: frozenset({"reply_markup", "reply_to"}),
    Kind.COPY: frozenset({"reply_to"}),
    Kind.ALBUM: frozenset(),
    Kind.EDIT: frozenset({"reply_markup"}),
    Kind.CAPTION: frozenset(),
    Kind.REACT: frozenset(),
}
# Kinds that post a new message: paced per chat, and they deliver the row's relayed message.
POSTING = frozenset({Kind.TEXT, Kind.CARD, Kind.COPY, Kind.ALBUM})


class Outbox:
    """Adds sends to the caller's transaction; the caller commits (then wakes the worker)."""

    def __init__(self, session: AsyncSession) -> None:
        self._repo = OutboxRepository(session)

    def enqueue(
        self,
        kind: str,
        chat_id: int,
        params: Mapping[str, Any],
        *,
        thread_id: int | None = None,
        priority: int = PRIORITY_RELAY,
        ticket_id: int | None = None,
        relay_id: int | None = None,
    ) -> OutboxMessage:
        checked = Kind(kind)
        _check_params(checked, params)
        return self._repo.add(
            OutboxMessage(
                kind=checked.value,
                chat_id=chat_id,
                thread_id=thread_id,
                payload=json.dumps(dict(params), ensure_ascii=False),
                priority=priority,
                ticket_id=ticket_id,
                relay_id=relay_id,
                status=PENDING,
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )


def _check_params(kind: Kind, params: Mapping[str, Any]) -> None:
    """Refuse a malformed send now, in the caller's transaction, not later in the worker."""
    missing = _REQUIRED[kind] - params.keys()
    unknown = params.keys() - _REQUIRED[kind] - _OPTIONAL[kind]
    if missing or unknown:
        raise ValueError(f"outbox {kind}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if kind is Kind.ALBUM and not params["message_ids"]:
        raise ValueError("outbox album: no message_ids")


class OutboxHooks(Protocol):
    """What the desk does when delivery meets the world. Each gets the row as leased.

    A hook may raise `RetryLater` or `Transient` (e.g. its own createForumTopic hit a 429): the
    row is then tried again later and the hook called again, so hooks must be idempotent.
    """

    async def on_blocked(self, row: OutboxMessage) -> None:
        """403: mark the user blocked, tell staff. Called before the row is marked blocked,
        once per row that meets the 403 (several queued rows: several calls)."""
        ...

    async def on_thread_lost(self, row: OutboxMessage) -> int | None:
        """The topic `row.thread_id` is gone: re-create it (once per ticket, under a lock;
        if it already was, return the current one). The new thread id, or None to give up."""
        ...

    async def on_chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group got a new id: store it wherever the old one is kept."""
        ...

    async def on_delivered(self, row: OutboxMessage, message_ids: Sequence[int]) -> None:
        """After the row is recorded done (`row.result_message_id` set; `message_ids`: every
        message it posted, an album's in order): e.g. a ✓ reaction."""
        ...

    async def on_undelivered(self, row: OutboxMessage, status: str, *, first: bool) -> None:
        """After a posting row of a relayed message is recorded retrying, blocked or failed
        (`status`, one of the RELAY_* values); `first`: its first failure."""
        ...


class NoHooks:
    """Hooks that do nothing: a lost topic is given up, nothing is told."""

    async def on_blocked(self, row: OutboxMessage) -> None:
        return None

    async def on_thread_lost(self, row: OutboxMessage) -> int | None:
        return None

    async def on_chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        return None

    async def on_delivered(self, row: OutboxMessage, message_ids: Sequence[int]) -> None:
        return None

    async def on_undelivered(self, row: OutboxMessage, status: str, *, first: bool) -> None:
        return None


# -- pacing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float


@dataclass(frozen=True)
class Pacing:
    """Telegram's published limits, kept under: bursts of `burst`, then `per_second`."""

    private_chat: Rate = Rate(per_second=1.0, burst=1)
    group: Rate = Rate(per_second=20 / 60, burst=3)
    overall: Rate = Rate(per_second=30.0, burst=30)


_EPSILON = 1e-9


@dataclass
class _Bucket:
    rate: Rate
    tokens: float
    stamp: float
    paused_until: float = -math.inf

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.rate.burst, self.tokens + elapsed * self.rate.per_second)
        self.stamp = now

    def wait(self, now: float, *, paced: bool = True) -> float:
        """Seconds until one more send may start (a bucket may run into debt: an album)."""
        self.refill(now)
        held = max(0.0, self.paused_until - now)
        if not paced or self.tokens >= 1 - _EPSILON:
            return held
        return max(held, (1 - self.tokens) / self.rate.per_second)

    def idle(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.rate.burst - _EPSILON and self.paused_until <= now


class Pacer:
    """Token buckets per chat and overall, in this process (see known limits in the report)."""

    def __init__(self, pacing: Pacing, clock: Callable[[], float]) -> None:
        self._pacing = pacing
        self._clock = clock
        self._overall = _Bucket(pacing.overall, pacing.overall.burst, clock())
        self._chats: dict[int, _Bucket] = {}

    def _bucket(self, chat_id: int) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            rate = self._pacing.private_chat if chat_id > 0 else self._pacing.group
            bucket = self._chats[chat_id] = _Bucket(rate, rate.burst, self._clock())
        return bucket

    def overall_wait(self) -> float:
        return self._overall.wait(self._clock())

    def wait(self, chat_id: int, *, paced: bool = True) -> float:
        now = self._clock()
        chat = self._chats.get(chat_id)
        chat_wait = chat.wait(now, paced=paced) if chat is not None else 0.0
        return max(self._overall.wait(now), chat_wait)

    def take(self, chat_id: int, cost: float) -> None:
        now = self._clock()
        self._overall.refill(now)
        self._overall.tokens -= max(cost, 1.0)
        if cost > 0:
            bucket = self._bucket(chat_id)
            bucket.refill(now)
            bucket.tokens -= cost

    def refund(self, chat_id: int, cost: float) -> None:
        self._overall.tokens += max(cost, 1.0)
        if cost > 0:
            self._bucket(chat_id).tokens += cost

    def pause(self, chat_id: int, seconds: float) -> None:
        """Flood control said wait: nothing more to this chat until then."""
        bucket = self._bucket(chat_id)
        bucket.paused_until = max(bucket.paused_until, self._clock() + seconds)

    def busy_chats(self) -> set[int]:
        """Chats that cannot take a send now; forgets the buckets that are full again."""
        now = self._clock()
        for chat_id in [c for c, b in self._chats.items() if b.idle(now)]:
            del self._chats[chat_id]
        return {c for c, b in self._chats.items() if b.wait(now) > 0}


# -- the worker -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Retry delays after transient failures: base·2^(n-1) capped, with jitter in [½, 1]."""

    base: float = 1.0
    cap: float = 60.0
    max_attempts: int = 20

    def delay(self, attempt: int, rng: random.Random) -> float:
        full = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return rng.uniform(full / 2, full)


DEFAULT_PACING = Pacing()
DEFAULT_BACKOFF = Backoff()


Record = Callable[[OutboxRepository], Awaitable[bool]]


class GroupCommit:
    """Writes that arrive together share one transaction (each still waits for its commit).

    Outcomes of concurrent sends would otherwise be one small transaction each, and SQLite
    takes one writer at a time. The first waiting writer commits everything queued so far;
    a failed commit fails every write in it (their rows are taken again after the lease).
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._queue: list[tuple[Record, asyncio.Future[bool]]] = []
        self._lock = asyncio.Lock()

    async def write(self, record: Record) -> bool:
        """Run `record` in a shared transaction; its result once committed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((record, future))
        async with self._lock:
            if not future.done():
                await self._commit_queued(future)
        return await future

    async def _commit_queued(self, own: asyncio.Future[bool]) -> None:
        batch, self._queue = self._queue, []
        try:
            async with self._sessionmaker() as session:
                repo = OutboxRepository(session)
                results = [await record(repo) for record, _ in batch]
                await session.commit()
        except Exception as error:  # every write in the batch hears it from its future
            for _, future in batch:
                future.set_exception(error)
            return
        except asyncio.CancelledError:
            own.cancel()
            for _, future in batch:
                if future is not own:
                    future.set_exception(RuntimeError("the shared commit was cancelled"))
            raise
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


class _LeaseLost(Exception):
    """Another worker took the row (our lease ran out): write nothing more about it."""


class _Moved(Exception):
    """The row's topic was re-created and the row pointed at it: send it in its turn."""


class OutboxWorker:
    """Drains the outbox. `await run()` until `await stop()`; `wake()` after committing rows.

    `clock` (seconds, monotonic) paces; `now` (aware UTC) is what is stored in the table, so
    leases and schedules mean the same to every replica. Tests pass both from one fake clock.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        *,
        hooks: OutboxHooks | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        pacing: Pacing | None = DEFAULT_PACING,
        backoff: Backoff = DEFAULT_BACKOFF,
        lease_seconds: float = 120.0,
        batch: int = 50,
        concurrency: int = 16,
        poll_interval: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._messenger = messenger
        self._hooks: OutboxHooks = hooks or NoHooks()
        self._now = now
        self._pacer = Pacer(pacing, clock) if pacing is not None else None
        self._backoff = backoff
        self._lease = timedelta(seconds=lease_seconds)
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._claim_lock = asyncio.Lock()
        self._records = GroupCommit(sessionmaker)
        self._woken = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._in_flight = 0
        self._stopping = False
        self._stopped: asyncio.Event | None = None
        # Counters, for benchmarks and logs.
        self.sent = 0  # rows delivered
        self.retried = 0  # rows put back for a later try (429, transient failures)
        self.ambiguous = 0  # attempts that may have taken effect without being recorded

    # -- control ----------------------------------------------------------------------------------

    def wake(self) -> None:
        """Rows were committed: look now rather than at the next poll."""
        self._woken.set()

    async def run(self) -> None:
        """Deliver until `stop()` (a worker runs once). A database outage is logged and
        waited out; rows it caught mid-send are taken again when their lease runs out."""
        self._stopped = asyncio.Event()
        try:
            while not self._stopping:
                try:
                    if await self.step():
                        continue
                    pause = await self.next_wake_in()
                except (SQLAlchemyError, OSError) as error:
                    log.warning("outbox: database unavailable: %s", error)
                    pause = self._poll_interval
                await self._sleep(pause)
        finally:
            self._stopped.set()

    async def stop(self) -> None:
        """Finish the sends in flight, give back what was leased but not started, return."""
        self._stopping = True
        self._woken.set()
        if self._stopped is not None:
            await self._stopped.wait()
        await self._idle.wait()

    async def drain(self, timeout: float = 10.0) -> int:  # noqa: ASYNC109 - a test helper
        """Deliver until nothing is due or in flight (rows scheduled later stay). For tests and
        benchmarks; returns how many rows were handled."""
        total = 0
        async with asyncio.timeout(timeout):
            while True:
                handled = await self.step()
                total += handled
                if handled == 0:
                    if self._in_flight == 0:
                        return total
                    await self._idle.wait()

    async def next_wake_in(self) -> float | None:
        """Seconds until a row may be due (0: now), or None when no row is unfinished."""
        async with self._sessionmaker() as session:
            schedule = await OutboxRepository(session).schedule()
        if not schedule:
            return None
        now = self._now()
        overall = self._pacer.overall_wait() if self._pacer is not None else 0.0
        waits = []
        for chat_id, at in schedule:
            due_in = max(0.0, (at - now).total_seconds())
            paced = self._pacer.wait(chat_id) if self._pacer is not None else 0.0
            waits.append(max(due_in, paced, overall))
        return min(waits)

    async def _sleep(self, seconds: float | None) -> None:
        timeout = self._poll_interval if seconds is None else min(seconds, self._poll_interval)
        if timeout <= 0 or self._woken.is_set():
            self._woken.clear()
            return
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            pass
        self._woken.clear()

    # -- one round --------------------------------------------------------------------------------

    async def step(self) -> int:
        """Lease what is due now and deliver it; returns how many rows were handled."""
        rows = await self._claim()
        if not rows:
            return 0
        self._in_flight += len(rows)
        self._idle.clear()
        try:
            results = await asyncio.gather(
                *(self._deliver_one(row) for row in rows), return_exceptions=True
            )
        finally:
            self._in_flight -= len(rows)
            if self._in_flight == 0:
                self._idle.set()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(rows)

    async def _claim(self) -> list[OutboxMessage]:
        async with self._claim_lock:
            if self._stopping:
                return []
            if self._pacer is not None and self._pacer.overall_wait() > 0:
                return []
            now = self._now()
            busy = self._pacer.busy_chats() if self._pacer is not None else set()
            async with self._sessionmaker() as session:
                repo = OutboxRepository(session)
                candidates = await repo.candidates(now, limit=self._batch, skip_chats=busy)
                orphans = {row.id for row in candidates if row.status == SENDING}
                chosen = self._within_budget(candidates)
                leased = await repo.lease([row.id for row, _ in chosen], now, now + self._lease)
                await session.commit()
        taken = {row.id for row in leased}
        for row, cost in chosen:
            if row.id not in taken and self._pacer is not None:
                self._pacer.refund(row.chat_id, cost)
        # A row taken back from a worker that died mid-send: that send may have gone out.
        self.ambiguous += len(orphans & taken)
        return sorted(leased, key=lambda r: (r.priority, r.id))

    def _within_budget(
        self, candidates: Sequence[OutboxMessage]
    ) -> list[tuple[OutboxMessage, float]]:
        """The candidates pacing lets go now, their budget taken; the rest are not due yet."""
        chosen = []
        for row in candidates:
            cost = _cost(row)
            if self._pacer is not None:
                if self._pacer.wait(row.chat_id, paced=cost > 0) > 0:
                    continue
                self._pacer.take(row.chat_id, cost)
            chosen.append((row, cost))
        return chosen

    async def _deliver_one(self, row: OutboxMessage) -> None:
        async with self._slots:
            if self._stopping:
                await self._release(row)
                return
            try:
                await self._deliver(row)
            except _LeaseLost:
                log.warning("outbox: row %s: lease lost mid-send; another worker has it", row.id)

    # -- one row ----------------------------------------------------------------------------------

    async def _deliver(self, row: OutboxMessage) -> None:
        """Send one row and record the outcome."""
        try:
            result = await self._attempt(row)
        except _Moved:
            # The topic was re-created: what the hook queued there (a notice, the card) goes
            # first, this row after it, in the conversation's order. Not a failure.
            await self._settle(
                row, None, status=PENDING, next_attempt_at=self._now(), lease_until=None
            )
            self.wake()
        except RetryLater as later:
            await self._retry_later(row, later.seconds, str(later))
        except Transient as error:
            await self._back_off(row, error.reason, ambiguous=error.ambiguous)
        except Blocked as error:
            await self._finish(row, BLOCKED, RELAY_BLOCKED, f"blocked: {error}")
        except DeliveryError as error:
            await self._finish(row, FAILED, RELAY_FAILED, f"{type(error).__name__}: {error}")
        except _LeaseLost:
            raise
        except Exception as error:  # a bug in a hook or the messenger must not stop the outbox
            log.exception("outbox: row %s: unexpected error", row.id)
            await self._back_off(row, f"{type(error).__name__}: {error}", ambiguous=True)
        else:
            await self._done(row, result)

    async def _attempt(self, row: OutboxMessage) -> list[int]:
        """Send, following a re-created topic, a migrated group or a vanished reply (once
        each); a block is reported to the hooks before it is recorded."""
        params = _params(row)
        followed: set[type[DeliveryError]] = set()
        while True:
            try:
                return await self._send(row, params)
            except ReplyNotFound:
                if ReplyNotFound in followed or params.get("reply_to") is None:
                    raise
                followed.add(ReplyNotFound)
                params["reply_to"] = None
                await self._store(row, payload=json.dumps(params, ensure_ascii=False))
            except ThreadNotFound:
                if ThreadNotFound in followed or row.thread_id is None:
                    raise
                followed.add(ThreadNotFound)
                await self._follow_thread(row)
                raise _Moved from None
            except ChatMigrated as migrated:
                if ChatMigrated in followed:
                    raise
                followed.add(ChatMigrated)
                await self._follow_chat(row, migrated.new_chat_id)
            except Blocked:
                await self._hooks.on_blocked(row)
                raise

    async def _send(self, row: OutboxMessage, params: Mapping[str, Any]) -> list[int]:
        m = self._messenger
        kind = Kind(row.kind)  # _params checked it
        if kind in (Kind.TEXT, Kind.CARD):
            sent = await m.send_text(
                row.chat_id,
                params["text"],
                thread_id=row.thread_id,
                reply_markup=params.get("reply_markup"),
                reply_to=params.get("reply_to"),
            )
            return [sent]
        if kind is Kind.COPY:
            copied = await m.copy(
                row.chat_id,
                params["from_chat_id"],
                params["message_id"],
                thread_id=row.thread_id,
                reply_to=params.get("reply_to"),
            )
            return [copied]
        if kind is Kind.ALBUM:
            return await m.copy_album(
                row.chat_id, params["from_chat_id"], params["message_ids"], thread_id=row.thread_id
            )
        if kind is Kind.EDIT:
            await m.edit_text(
                row.chat_id,
                params["message_id"],
                params["text"],
                reply_markup=params.get("reply_markup"),
            )
            return []
        if kind is Kind.CAPTION:
            await m.edit_caption(row.chat_id, params["message_id"], params["caption"] or None)
            return []
        await m.react(row.chat_id, params["message_id"], params["emoji"])
        return []

    async def _follow_thread(self, row: OutboxMessage) -> None:
        old = row.thread_id
        assert old is not None
        new = await self._hooks.on_thread_lost(row)
        if new is None:
            raise ThreadNotFound(f"topic {old} is gone and was not re-created")
        async with self._sessionmaker() as session:
            moved = await OutboxRepository(session).redirect_thread(row.chat_id, old, new)
            await session.commit()
        row.thread_id = new
        log.info("outbox: topic %s in %s is now %s (%s rows moved)", old, row.chat_id, new, moved)

    async def _follow_chat(self, row: OutboxMessage, new_chat_id: int) -> None:
        old = row.chat_id
        await self._hooks.on_chat_migrated(old, new_chat_id)
        async with self._sessionmaker() as session:
            moved = await OutboxRepository(session).redirect_chat(old, new_chat_id)
            await session.commit()
        row.chat_id = new_chat_id
        log.info("outbox: chat %s is now %s (%s rows moved)", old, new_chat_id, moved)

    # -- bookkeeping ------------------------------------------------------------------------------

    async def _store(self, row: OutboxMessage, **values: Any) -> None:
        """Change a leased row that is still being worked on (its payload)."""
        async with self._sessionmaker() as session:
            if not await OutboxRepository(session).settle(row.id, row.lease_until, **values):
                raise _LeaseLost(row.id)
            await session.commit()

    async def _settle(
        self,
        row: OutboxMessage,
        relay_status: str | None,
        *,
        message_id: int | None = None,
        **values: Any,
    ) -> None:
        """Record a row's outcome and its relayed message's status, atomically (committed
        together with the outcomes of other rows finishing at the same moment)."""

        async def record(repo: OutboxRepository) -> bool:
            if not await repo.settle(row.id, row.lease_until, **values):
                return False
            if row.relay_id is not None and relay_status is not None and row.kind in POSTING:
                await repo.set_relay_status(
                    row.relay_id,
                    relay_status,
                    target_chat_id=row.chat_id if message_id is not None else None,
                    target_message_id=message_id,
                )
            return True

        if not await self._records.write(record):
            raise _LeaseLost(row.id)
        for name, value in values.items():
            setattr(row, name, value)

    async def _done(self, row: OutboxMessage, message_ids: Sequence[int]) -> None:
        first = message_ids[0] if message_ids else None
        await self._settle(
            row,
            RELAY_DELIVERED,
            message_id=first,
            status=DONE,
            result_message_id=first,
            sent_at=self._now(),
            lease_until=None,
            last_error=None,
        )
        self.sent += 1
        try:
            await self._hooks.on_delivered(row, message_ids)
        except Exception:  # the row is delivered and recorded; a hook's bug changes nothing
            log.exception("outbox: row %s: on_delivered failed", row.id)

    async def _retry_later(self, row: OutboxMessage, seconds: float, error: str) -> None:
        """Flood control: the chat waits `seconds`. Not a failure: no attempt is counted."""
        if self._pacer is not None:
            self._pacer.pause(row.chat_id, seconds)
        await self._reschedule(row, seconds, error, attempts=row.attempts)

    async def _back_off(self, row: OutboxMessage, reason: str, *, ambiguous: bool) -> None:
        if ambiguous:
            self.ambiguous += 1
        attempts = row.attempts + 1
        if attempts >= self._backoff.max_attempts:
            await self._finish(row, FAILED, RELAY_FAILED, reason, attempts=attempts)
            return
        delay = self._backoff.delay(attempts, self._rng)
        await self._reschedule(row, delay, reason, attempts=attempts)

    async def _reschedule(
        self, row: OutboxMessage, seconds: float, error: str, *, attempts: int
    ) -> None:
        """Back to pending until `seconds` from now; the rows behind it wait too (heads)."""
        at = self._now() + timedelta(seconds=seconds)
        first = row.last_error is None
        await self._settle(
            row,
            RELAY_RETRYING,
            status=PENDING,
            next_attempt_at=at,
            lease_until=None,
            last_error=error[:1000],
            attempts=attempts,
        )
        self.retried += 1
        log.info("outbox: row %s (%s) again in %.1f s: %s", row.id, row.kind, seconds, error)
        await self._tell_undelivered(row, RELAY_RETRYING, first=first)

    async def _finish(
        self, row: OutboxMessage, status: str, relay_status: str, error: str, **extra: Any
    ) -> None:
        first = row.last_error is None
        await self._settle(
            row, relay_status, status=status, lease_until=None, last_error=error[:1000], **extra
        )
        log.warning("outbox: row %s (%s) %s: %s", row.id, row.kind, status, error)
        await self._tell_undelivered(row, relay_status, first=first)

    async def _tell_undelivered(self, row: OutboxMessage, status: str, *, first: bool) -> None:
        if row.relay_id is None or row.kind not in POSTING:
            return
        try:
            await self._hooks.on_undelivered(row, status, first=first)
        except Exception:  # the outcome is recorded; a hook's bug changes nothing
            log.exception("outbox: row %s: on_undelivered failed", row.id)

    async def _release(self, row: OutboxMessage) -> None:
        """Give a leased row back untried (the worker is stopping)."""
        try:
            await self._settle(row, None, status=PENDING, lease_until=None)
        except _LeaseLost:
            return


def _params(row: OutboxMessage) -> dict[str, Any]:
    """A row's call parameters; a row not written by `Outbox.enqueue` may be refused here."""
    try:
        params = json.loads(row.payload)
        if not isinstance(params, dict):
            raise ValueError("payload is not a JSON object")
        _check_params(Kind(row.kind), params)
    except ValueError as error:
        raise Permanent(f"outbox row {row.id}: {error}") from error
    return params


def _cost(row: OutboxMessage) -> float:
    """Per-chat budget a row takes: one per posted message, an album one per item."""
    if row.kind != Kind.ALBUM:
        return 1.0 if row.kind in POSTING else 0.0
    try:
        return float(len(_params(row)["message_ids"]))
    except Permanent:  # a broken row fails when it is sent, not here
        return 1.0
