"""Prometheus metrics, in the text exposition format, without a client library.

Counters and the latency histogram live in this process (each replica is scraped on its own
`HEALTH_PORT`); what the database knows (outbox backlog and age, tickets by status, dead
letters) is read at scrape time, so every replica reports the same shared figures.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import TelegramObject, Update

from bot.outage import is_outage

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Seconds; webhook latency matters around 10-100 ms, slow paths up to seconds.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    """What the metrics read from the database at scrape time."""

    outbox_backlog: int
    outbox_oldest_seconds: float
    tickets_by_status: Mapping[str, int]
    dead_letters: int


class Metrics:
    """Counts and times every update, and renders the exposition.

    Two middlewares: `outer` wraps everything, aiogram's own error handling and per-user lock
    included (an outage there is counted, and the lock wait is part of the latency); `inner`
    sits inside the error handling and counts the handler errors that become dead letters.
    """

    def __init__(self) -> None:
        self.updates: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()  # (update type, handler|outage)
        self.skipped = 0  # redelivered updates whose effects were already committed
        self.outage_retries = 0  # polling mode: runs repeated after an outage (RetryOnOutage)
        self.webhook: Counter[int] = Counter()  # answers by HTTP status
        self.latency: dict[str, Histogram] = {}

    async def outer(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = _kind(event)
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception as error:
            if is_outage(error):
                self.errors[kind, "outage"] += 1
            raise
        finally:
            self.updates[kind] += 1
            self.latency.setdefault(kind, Histogram()).observe(time.perf_counter() - started)
        if data.get("update_skipped"):
            self.skipped += 1
        return result

    def count_outage_retry(self) -> None:
        self.outage_retries += 1

    async def inner(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception as error:
            if not is_outage(error):
                self.errors[_kind(event), "handler"] += 1
            raise

    def render(self, figures: DatabaseFigures | None) -> str:
        out = _Exposition()
        out.family("ipdesk_updates_total", "counter", "Updates handled, by type.")
        for kind, value in self.updates.items():
            out.sample("ipdesk_updates_total", value, type=kind)
        out.family("ipdesk_update_errors_total", "counter", "Updates that raised, by kind.")
        for (kind, error), value in self.errors.items():
            out.sample("ipdesk_update_errors_total", value, type=kind, kind=error)
        out.family(
            "ipdesk_updates_skipped_total",
            "counter",
            "Redelivered updates skipped: their effects were committed before.",
        )
        out.sample("ipdesk_updates_skipped_total", self.skipped)
        out.family(
            "ipdesk_update_outage_retries_total",
            "counter",
            "Polling mode: updates run again because the database or Redis was unavailable.",
        )
        out.sample("ipdesk_update_outage_retries_total", self.outage_retries)
        out.family("ipdesk_update_seconds", "histogram", "Time to handle an update, by type.")
        for kind, histogram in self.latency.items():
            for bound, count in zip(histogram.buckets, histogram.counts, strict=True):
                out.sample("ipdesk_update_seconds_bucket", count, type=kind, le=_num(bound))
            out.sample("ipdesk_update_seconds_bucket", histogram.count, type=kind, le="+Inf")
            out.sample("ipdesk_update_seconds_sum", histogram.total, type=kind)
            out.sample("ipdesk_update_seconds_count", histogram.count, type=kind)
        out.family("ipdesk_webhook_requests_total", "counter", "Webhook answers, by HTTP status.")
        for status, value in sorted(self.webhook.items()):
            out.sample("ipdesk_webhook_requests_total", value, status=str(status))
        if figures is not None:
            out.family(
                "ipdesk_dead_letters_total",
                "counter",
                "Dead letters (all replicas).",
            )
            out.sample("ipdesk_dead_letters_total", figures.dead_letters)
            out.family("ipdesk_outbox_backlog", "gauge", "Outbox sends not yet delivered.")
            out.sample("ipdesk_outbox_backlog", figures.outbox_backlog)
            out.family(
                "ipdesk_outbox_oldest_seconds", "gauge", "Age of the oldest undelivered send."
            )
            out.sample("ipdesk_outbox_oldest_seconds", figures.outbox_oldest_seconds)
            out.family("ipdesk_tickets", "gauge", "Tickets, by status.")
            for status, value in sorted(figures.tickets_by_status.items()):
                out.sample("ipdesk_tickets", value, status=status)
        out.family("ipdesk_database_up", "gauge", "1 if the database answered this scrape.")
        out.sample("ipdesk_database_up", int(figures is not None))
        return out.text()


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        body = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
        self.lines.append(f"{name}{{{body}}} {_num(value)}" if body else f"{name} {_num(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _kind(event: TelegramObject) -> str:
    return (event.event_type if isinstance(event, Update) else None) or type(event).__name__
