"""Broadcasts: announcements composed by an admin and sent to everyone who opted in.

    composer = Broadcasts(session)
    draft = await composer.start(admin_id, per_language=False, admin_language="ru")
    await composer.add_content(draft, Content("text", "<b>New office hours</b> ..."))
    await composer.set_audience(draft, Audience.everyone())
    job = await composer.confirm(draft, chat_id, progress_message_id)   # rows persisted
    worker.wake()

The job and one row per recipient are stored when the admin confirms; `BroadcastWorker` then
leases due rows and sends them through an `Announcer`, at most `rate` per second overall,
drawn from one token bucket kept in the database (every replica draws from the same one), with
a small pool of concurrent sends. A 429 puts its row back until `retry_after`; a second one
while the first is waited out holds every send (the bot's own budget ran out). A 403 marks
the person blocked (never retried); a timeout or a 5xx is retried with back-off. A live
progress message is edited as it goes.

Delivery is at least once: after a crash, rows that were being sent when the worker died are
taken again when their lease runs out; such rows are counted (`reclaimed`) and shown as
possible duplicates, so duplicates are bounded by the sends in flight at the crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.languages import LANGUAGES
from bot.services.audit import Action, AuditLog
from bot.services.outbox import Backoff
from bot.services.ports import Blocked, DeliveryError, RetryLater, Transient
from db.models import Broadcast, BroadcastRecipient, utcnow
from db.repositories.broadcasts import (
    BLOCKED,
    CANCELLED,
    DONE,
    DRAFT,
    FAILED,
    PAUSED,
    PENDING,
    RUNNING,
    SENDING,
    SENT,
    SKIPPED,
    BroadcastRepository,
)

log = logging.getLogger("ipdesk.broadcast")

ALL_LANGUAGES = "*"
KINDS = ("text", "photo", "document")
RATE_WINDOW = timedelta(seconds=10)  # the live rate is measured over the last 10 s


# -- what is sent ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Content:
    """One message as recipients get it: a text, or a photo or document with a caption (HTML,
    as the admin formatted it)."""

    kind: str
    text: str
    file_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown content kind {self.kind!r}")
        if self.kind != "text" and not self.file_id:
            raise ValueError(f"a {self.kind} needs its file_id")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.file_id:
            data["file_id"] = self.file_id
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Content:
        return cls(str(data["kind"]), str(data.get("text") or ""), data.get("file_id"))


def contents_of(job: Broadcast) -> dict[str, Content]:
    """The job's messages: {"*": one for all} or {language: its message}."""
    return {key: Content.from_json(value) for key, value in json.loads(job.content).items()}


def content_for(contents: Mapping[str, Content], language: str) -> Content | None:
    return contents.get(ALL_LANGUAGES) or contents.get(language)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets it, always among those who agreed to receive announcements."""

    kind: str = "all"  # all | languages | ticket_kind
    languages: tuple[str, ...] = ()
    ticket_kind: str | None = None

    @classmethod
    def everyone(cls) -> Audience:
        return cls()

    @classmethod
    def speaking(cls, languages: tuple[str, ...]) -> Audience:
        return cls("languages", tuple(lang for lang in LANGUAGES if lang in languages))

    @classmethod
    def with_tickets(cls, kind: str) -> Audience:
        return cls("ticket_kind", ticket_kind=kind)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "languages":
            return {"kind": self.kind, "languages": list(self.languages)}
        if self.kind == "ticket_kind":
            return {"kind": self.kind, "ticket_kind": self.ticket_kind}
        return {"kind": "all"}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Audience | None:
        kind = data.get("kind")
        if kind == "all":
            return cls.everyone()
        if kind == "languages":
            return cls.speaking(tuple(data.get("languages") or ()))
        if kind == "ticket_kind" and data.get("ticket_kind"):
            return cls.with_tickets(str(data["ticket_kind"]))
        return None

    @property
    def filters(self) -> tuple[tuple[str, ...] | None, str | None]:
        return (self.languages if self.kind == "languages" else None), self.ticket_kind


def audience_of(job: Broadcast) -> Audience | None:
    return Audience.from_json(json.loads(job.audience or "{}"))


# -- ports ----------------------------------------------------------------------------------------


class Announcer(Protocol):
    """What the worker needs from Telegram (bot.broadcast_delivery implements it)."""

    async def announce(
        self, chat_id: int, content: Content, reply_markup: dict[str, Any] | None
    ) -> int:
        """Send one announcement; the new message id, or a `bot.services.ports` outcome."""
        ...

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Stats:
    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    left: int  # pending or being sent
    reclaimed: int  # rows taken back after a crash: possible duplicates
    rate: float  # messages per second, recently
    eta_seconds: float | None


@dataclass(frozen=True)
class Renderers:
    """Texts the worker needs, rendered by the handlers' side in the right language."""

    unsubscribe: Callable[[str], dict[str, Any]]  # language -> the recipient's keyboard
    progress: Callable[[Broadcast, Stats], tuple[str, dict[str, Any] | None]]


# -- composing and controlling --------------------------------------------------------------------


class Broadcasts:
    """The admin's side: a draft built step by step (stored as it goes), then confirmed;
    pause, resume and cancel. Every action is written to the audit log with it."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._repo = BroadcastRepository(session)

    async def start(self, admin_id: int, *, per_language: bool, admin_language: str) -> Broadcast:
        """A new draft (an older unfinished one is dropped)."""
        await self._repo.drop_drafts(admin_id)
        job = self._repo.add(
            Broadcast(
                created_by=admin_id,
                status=DRAFT,
                per_language=per_language,
                content="{}",
                audience="{}",
                total=0,
                admin_language=admin_language,
                created_at=utcnow(),
            )
        )
        await self._session.commit()
        return job

    async def draft(self, admin_id: int) -> Broadcast | None:
        return await self._repo.draft_of(admin_id)

    async def get(self, job_id: int) -> Broadcast | None:
        return await self._repo.get(job_id)

    async def discard(self, admin_id: int) -> None:
        await self._repo.drop_drafts(admin_id)
        await self._session.commit()

    @staticmethod
    def missing_language(job: Broadcast) -> str | None:
        """The next language still without its message (None: complete). One message for
        all is stored under "*"."""
        have = json.loads(job.content or "{}")
        if not job.per_language:
            return None if ALL_LANGUAGES in have else ALL_LANGUAGES
        return next((lang for lang in LANGUAGES if lang not in have), None)

    async def add_content(self, job: Broadcast, content: Content) -> str | None:
        """Store the message for the language being asked; the next one missing, if any."""
        language = self.missing_language(job)
        if language is None:
            raise ValueError("the draft already has all its messages")
        have = json.loads(job.content or "{}")
        have[language] = content.to_json()
        job.content = json.dumps(have, ensure_ascii=False)
        await self._session.commit()
        return self.missing_language(job)

    async def set_audience(self, job: Broadcast, audience: Audience) -> None:
        job.audience = json.dumps(audience.to_json())
        await self._session.commit()

    async def audience_size(self, audience: Audience) -> dict[str, int]:
        """People in the audience now, per language."""
        return await self._repo.audience_by_language(*audience.filters)

    async def confirm(
        self, job: Broadcast, actor_id: int, progress_chat_id: int, progress_message_id: int
    ) -> int:
        """Persist one row per recipient and set the job running; how many rows (0: nobody,
        or not a complete draft any more: nothing changes)."""
        audience = audience_of(job)
        if audience is None or self.missing_language(job) is not None:
            return 0
        now = utcnow()
        if not await self._repo.set_status(
            job.id,
            (DRAFT,),
            RUNNING,
            started_at=now,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
        ):
            return 0  # confirmed already (a double tap)
        total = await self._repo.add_recipients(job.id, *audience.filters, now)
        if total == 0:
            await self._session.rollback()
            return 0
        await self._repo.set_status(job.id, (RUNNING,), RUNNING, total=total)
        AuditLog(self._session).record(
            actor_id,
            Action.BROADCAST_START,
            f"broadcast:{job.id}",
            recipients=total,
            audience=audience.to_json(),
            per_language=job.per_language,
        )
        await self._session.commit()
        await self._session.refresh(job)
        return total

    async def pause(self, job_id: int, actor_id: int) -> bool:
        return await self._move(job_id, actor_id, (RUNNING,), PAUSED, Action.BROADCAST_PAUSE)

    async def resume(self, job_id: int, actor_id: int) -> bool:
        return await self._move(job_id, actor_id, (PAUSED,), RUNNING, Action.BROADCAST_RESUME)

    async def cancel(self, job_id: int, actor_id: int) -> bool:
        moved = await self._move(
            job_id,
            actor_id,
            (RUNNING, PAUSED),
            CANCELLED,
            Action.BROADCAST_CANCEL,
            finished_at=utcnow(),
            commit=False,
        )
        if moved:
            await self._repo.skip_pending(job_id)
            await self._session.commit()
        return moved

    async def _move(
        self,
        job_id: int,
        actor_id: int,
        expected: tuple[str, ...],
        status: str,
        action: str,
        *,
        commit: bool = True,
        **values: Any,
    ) -> bool:
        if not await self._repo.set_status(job_id, expected, status, **values):
            return False
        AuditLog(self._session).record(actor_id, action, f"broadcast:{job_id}")
        if commit:
            await self._session.commit()
        return True

    async def stats(self, job: Broadcast, *, rate_limit: float, now: datetime) -> Stats:
        return await stats_of(self._repo, job, rate_limit=rate_limit, now=now)


async def stats_of(
    repo: BroadcastRepository, job: Broadcast, *, rate_limit: float, now: datetime
) -> Stats:
    counts = await repo.counts(job.id)
    left = counts.get(PENDING, 0) + counts.get(SENDING, 0)
    since = max(job.started_at or now, now - RATE_WINDOW)
    window = (now - since).total_seconds()
    rate = (await repo.sent_since(job.id, since)) / window if window >= 1 else 0.0
    eta = None
    if job.status == RUNNING and left:
        eta = left / (rate if rate > 0 else rate_limit)
    elif job.status == RUNNING:
        eta = 0.0
    return Stats(
        total=job.total or sum(counts.values()),
        sent=counts.get(SENT, 0),
        failed=counts.get(FAILED, 0),
        blocked=counts.get(BLOCKED, 0),
        skipped=counts.get(SKIPPED, 0),
        left=left,
        reclaimed=await repo.reclaimed(job.id),
        rate=rate,
        eta_seconds=eta,
    )


# -- sending --------------------------------------------------------------------------------------


class _LeaseLost(Exception):
    """Another worker took the row (our lease ran out): write nothing more about it."""


@dataclass
class _Counters:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    flood_waits: int = 0  # 429s heard
    global_pauses: int = 0  # 429s that held every send
    lease_lost: int = 0


@dataclass
class _Progress:
    last: dict[int, tuple[str, str]] = field(default_factory=dict)


class BroadcastWorker:
    """Sends the rows of running broadcasts. `await run()` until `await stop()`; `wake()`
    after a job is confirmed or resumed.

    One worker per process; on PostgreSQL several replicas may run one each (rows are leased
    with SKIP LOCKED, the bucket is one locked row). On SQLite run a single one.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        announcer: Announcer,
        render: Renderers,
        *,
        rate: float,
        burst: float | None = None,
        concurrency: int = 8,
        lease_seconds: float = 60.0,
        poll_interval: float = 1.0,
        progress_interval: float = 3.0,
        backoff: Backoff | None = None,
        now: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self._sessionmaker = sessionmaker
        self._announcer = announcer
        self._render = render
        self.rate = rate
        # A small burst: sends go out evenly, so Telegram's own bucket is never drained.
        self._burst = burst if burst is not None else max(1.0, rate / 10)
        self._concurrency = concurrency
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_interval = poll_interval
        self._progress_interval = progress_interval
        self._backoff = backoff or Backoff(base=2.0, cap=300.0, max_attempts=8)
        self._now = now
        self._rng = rng or random.Random()
        self._contents: dict[int, dict[str, Content]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._woken = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._progress = _Progress()
        self._flood_until: datetime | None = None
        self.counters = _Counters()

    # -- control ----------------------------------------------------------------------------------

    def wake(self) -> None:
        self._woken.set()

    def start(self) -> None:
        """Run the sender and the progress reporter as tasks (until `stop()`)."""
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self.run(), name="broadcast"),
            asyncio.create_task(self.report_progress(), name="broadcast-progress"),
        ]

    async def stop(self) -> None:
        """Finish the sends in flight (their rows are recorded), then return."""
        self._stopping = True
        self._woken.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def run(self) -> None:
        while not self._stopping:
            try:
                pause = await self.step()
            except (SQLAlchemyError, OSError) as error:
                log.warning("broadcast: database unavailable: %s", error)
                pause = self._poll_interval
            if pause > 0:
                await self._sleep(pause)

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a test helper
        """Send until no running job has a row due or in flight (for tests)."""
        async with asyncio.timeout(timeout):
            while True:
                pause = await self.step()
                if pause > 0 and not self._in_flight:
                    async with self._sessionmaker() as session:
                        repo = BroadcastRepository(session)
                        due = await repo.next_due(await repo.running_ids())
                    if due is None:
                        return
                if self._in_flight and pause > 0:
                    await asyncio.wait(self._in_flight, timeout=pause)
                elif pause > 0:
                    await asyncio.sleep(min(pause, self._poll_interval))

    async def _sleep(self, seconds: float) -> None:
        """Until `seconds` pass or `wake()` (a wake that came meanwhile is not lost)."""
        if not self._woken.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), min(seconds, self._poll_interval))
        self._woken.clear()

    # -- one round --------------------------------------------------------------------------------

    async def step(self) -> float:
        """Lease what the bucket and the pool allow and start sending it; how long to wait
        before the next round (0: go on at once)."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return self._poll_interval  # a finished send wakes the loop
        rows, wait = await self._claim(free)
        for row in rows:
            task = asyncio.create_task(self._send(row))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return 0.0 if rows else wait

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("broadcast: a send failed unexpectedly", exc_info=task.exception())
        self._woken.set()

    async def _claim(self, want: int) -> tuple[list[BroadcastRecipient], float]:
        async with self._sessionmaker() as session:
            repo = BroadcastRepository(session)
            jobs = await repo.running_ids()
            if not jobs:
                return [], self._poll_interval
            now = self._now()
            pacer = await repo.pacer(now)
            elapsed = max(0.0, (now - pacer.stamp).total_seconds())
            tokens = min(self._burst, pacer.tokens + elapsed * self.rate)
            if pacer.paused_until is not None and pacer.paused_until > now:
                return [], (pacer.paused_until - now).total_seconds()
            allowed = min(want, math.floor(tokens + 1e-9))
            if allowed < 1:
                return [], (1 - tokens) / self.rate
            rows = await repo.lease(jobs, now, now + self._lease, allowed)
            if not rows:
                due = await repo.next_due(jobs)
                wait = (due - now).total_seconds() if due is not None else self._poll_interval
                return [], max(0.01, wait)
            pacer.tokens = tokens - len(rows)
            pacer.stamp = now
            await session.commit()
        return rows, 0.0

    # -- one row ----------------------------------------------------------------------------------

    async def _send(self, row: BroadcastRecipient) -> None:
        try:
            await self._deliver(row)
        except _LeaseLost:
            self.counters.lease_lost += 1
            log.warning("broadcast: row %s: lease lost mid-send; another worker has it", row.id)

    async def _deliver(self, row: BroadcastRecipient) -> None:
        try:
            content = content_for(await self._contents_of(row.broadcast_id), row.language)
            if content is None:
                raise DeliveryError(f"no message for language {row.language!r}")
            message_id = await self._announcer.announce(
                row.user_id, content, self._render.unsubscribe(row.language)
            )
        except RetryLater as flood:
            await self._flood(row, flood.seconds)
        except Blocked as error:
            await self._settle(row, status=BLOCKED, last_error=str(error)[:1000], blocked=True)
            self.counters.blocked += 1
        except Transient as error:
            await self._back_off(row, error.reason)
        except DeliveryError as error:
            await self._settle(row, status=FAILED, last_error=f"{type(error).__name__}: {error}")
            self.counters.failed += 1
        except (SQLAlchemyError, OSError):
            raise
        except Exception as error:  # a bug must not stop the broadcast: the row is retried
            log.exception("broadcast: row %s: unexpected error", row.id)
            await self._back_off(row, f"{type(error).__name__}: {error}")
        else:
            await self._settle(row, status=SENT, message_id=message_id, sent_at=self._now())
            self.counters.sent += 1

    async def _contents_of(self, job_id: int) -> dict[str, Content]:
        contents = self._contents.get(job_id)
        if contents is None:
            async with self._sessionmaker() as session:
                job = await BroadcastRepository(session).get(job_id)
            contents = contents_of(job) if job is not None else {}
            self._contents[job_id] = contents
        return contents

    async def _flood(self, row: BroadcastRecipient, seconds: float) -> None:
        """429: this row waits `retry_after`. Telegram does not say whose limit it was: a
        lone 429 is taken as that chat's, and only its row waits; a second one while another
        is still being waited out is the bot's own budget, and every send waits."""
        self.counters.flood_waits += 1
        now = self._now()
        until = now + timedelta(seconds=seconds)
        everyone = self._flood_until is not None and self._flood_until > now
        self._flood_until = max(until, self._flood_until or until)
        if everyone:
            self.counters.global_pauses += 1
            async with self._sessionmaker() as session:
                pacer = await BroadcastRepository(session).pacer(now)
                if pacer.paused_until is None or pacer.paused_until < until:
                    pacer.paused_until = until
                pacer.tokens = 0.0
                pacer.stamp = until
                await session.commit()
            log.info("broadcast: repeated flood control, every send waits %.1f s", seconds)
        await self._reschedule(row, until, f"retry after {seconds:g} s", attempts=row.attempts)

    async def _back_off(self, row: BroadcastRecipient, reason: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self._backoff.max_attempts:
            await self._settle(row, status=FAILED, attempts=attempts, last_error=reason[:1000])
            self.counters.failed += 1
            return
        delay = self._backoff.delay(attempts, self._rng)
        await self._reschedule(row, self._now() + timedelta(seconds=delay), reason, attempts)

    async def _reschedule(
        self, row: BroadcastRecipient, at: datetime, error: str, attempts: int
    ) -> None:
        await self._settle(
            row, status=PENDING, next_attempt_at=at, attempts=attempts, last_error=error[:1000]
        )
        self.counters.retried += 1

    async def _settle(
        self, row: BroadcastRecipient, *, blocked: bool = False, **values: Any
    ) -> None:
        async with self._sessionmaker() as session:
            repo = BroadcastRepository(session)
            if not await repo.settle(row.id, row.lease_until, lease_until=None, **values):
                raise _LeaseLost(row.id)
            if blocked:
                await repo.mark_user_blocked(row.user_id, self._now())
            await session.commit()

    # -- progress ---------------------------------------------------------------------------------

    async def report_progress(self) -> None:
        """Edit each live progress message every few seconds; finish jobs with nothing left."""
        while not self._stopping:
            try:
                await self.progress_once()
            except (SQLAlchemyError, OSError) as error:
                log.warning("broadcast: progress not updated: %s", error)
            for _ in range(max(1, round(self._progress_interval / 0.25))):
                if self._stopping:
                    return
                await asyncio.sleep(0.25)

    async def progress_once(self) -> None:
        now = self._now()
        async with self._sessionmaker() as session:
            repo = BroadcastRepository(session)
            reports = []
            for job in await repo.reportable(now - timedelta(minutes=1)):
                stats = await stats_of(repo, job, rate_limit=self.rate, now=now)
                if job.status == RUNNING and stats.left == 0:
                    if await repo.set_status(job.id, (RUNNING,), DONE, finished_at=now):
                        await session.commit()
                        await session.refresh(job)
                        stats = await stats_of(repo, job, rate_limit=self.rate, now=now)
                        log.info("broadcast %s done: %s", job.id, stats)
                reports.append((job, stats))
        for job, stats in reports:
            await self._show(job, stats)

    async def _show(self, job: Broadcast, stats: Stats) -> None:
        if job.progress_chat_id is None or job.progress_message_id is None:
            return
        text, markup = self._render.progress(job, stats)
        key = (text, json.dumps(markup, sort_keys=True))
        if self._progress.last.get(job.id) == key:
            return
        try:
            await self._announcer.edit_text(
                job.progress_chat_id, job.progress_message_id, text, reply_markup=markup
            )
        except DeliveryError as error:
            log.info("broadcast %s: progress not shown: %s", job.id, error)
            return
        self._progress.last[job.id] = key
