"""Optional flood limits, as token buckets: bursts pass, sustained excess gets a 429.

Telegram publishes no exact algorithm, only rates: about 1 message per second in a private
chat, 20 per minute in a group, 30 per second overall. Off by default; switch on with
`StandIn(rate_limits=RateLimits())` to test that a sender paces itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import ApiError

# Methods that post messages; a media group counts once per item.
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendVoice",
        "sendAudio",
        "sendAnimation",
        "sendSticker",
        "sendMediaGroup",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)


_EPSILON = 1e-9  # refills are float sums: 0.9999999999 tokens is a whole token


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float


@dataclass(frozen=True)
class RateLimits:
    private_chat: Rate = Rate(per_second=1.0, burst=5)
    group: Rate = Rate(per_second=20 / 60, burst=20)
    overall: Rate = Rate(per_second=30.0, burst=30)


@dataclass
class _Bucket:
    rate: Rate
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.rate.burst, self.tokens + (now - self.stamp) * self.rate.per_second)
        self.stamp = now

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` tokens are there (0: now)."""
        missing = cost - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate.per_second


@dataclass
class Limiter:
    limits: RateLimits
    clock: Callable[[], float] = time.monotonic
    buckets: dict[tuple[int, str], _Bucket] = field(default_factory=dict)

    def charge(self, bot_id: int, method: str, params: dict[str, Any]) -> None:
        """Take tokens for one sending call, or raise a 429 with retry_after."""
        if method not in SENDING_METHODS:
            return
        cost = float(len(params.get("media") or params.get("message_ids") or [None]))
        chat = str(params.get("chat_id"))
        is_group = chat.startswith(("-", "@"))
        buckets = [
            self._bucket(bot_id, "*", self.limits.overall),
            self._bucket(bot_id, chat, self.limits.group if is_group else self.limits.private_chat),
        ]
        now = self.clock()
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_for(cost) for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.tokens -= cost

    def _bucket(self, bot_id: int, key: str, rate: Rate) -> _Bucket:
        return self.buckets.setdefault((bot_id, key), _Bucket(rate, rate.burst, self.clock()))
