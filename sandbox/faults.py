"""Trouble a test asks for: error answers (floods, migrations), lost answers, slow answers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sandbox.errors import ApiError


class Drop(StrEnum):
    """Where the connection breaks."""

    BEFORE = "before"  # the request never took effect
    AFTER = "after"  # it took effect (a message was sent) but the answer is lost


@dataclass
class Fault:
    method: str  # lower-case method name, or "*" for any
    times: int
    chat_id: int | None = None
    error: ApiError | None = None
    drop: Drop | None = None
    delay: float = 0.0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


class Faults:
    """Pending injected faults, each used `times` times, the oldest matching one first."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(
        self,
        method: str,
        code: int,
        description: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        **parameters: Any,
    ) -> None:
        """Answer `method` with this error (`parameters` become the error's `parameters`)."""
        error = ApiError(code, description, parameters or None)
        self.pending.append(Fault(method.lower(), times, chat_id, error=error))

    def flood(
        self, method: str, retry_after: int, *, times: int = 1, chat_id: int | None = None
    ) -> None:
        """A 429 "Too Many Requests: retry after N" with `retry_after` in its parameters."""
        self.add(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            times=times,
            chat_id=chat_id,
            retry_after=retry_after,
        )

    def drop_connection(
        self,
        method: str,
        *,
        after: bool = True,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Close the connection instead of answering: after the call took effect, or before."""
        drop = Drop.AFTER if after else Drop.BEFORE
        self.pending.append(Fault(method.lower(), times, chat_id, drop=drop))

    def delay(
        self, method: str, seconds: float, *, times: int = 1, chat_id: int | None = None
    ) -> None:
        """Answer `method` only after `seconds` (to trip a client's timeout)."""
        self.pending.append(Fault(method.lower(), times, chat_id, delay=seconds))

    def take(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.pending:
            if fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self.pending.remove(fault)
                return fault
        return None
