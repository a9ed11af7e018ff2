"""A bot's update queue: ids, confirmation by offset, allowed_updates and long-poll waiting."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from sandbox.events import Pulse

# Sent only when asked for in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue:
    """One bot's pending updates, in order, until a getUpdates offset or a webhook takes them."""

    def __init__(self, first_id: int = 500_000_001) -> None:
        self.pending: deque[dict[str, Any]] = deque()
        self.allowed: frozenset[str] | None = None
        self.changed = Pulse()
        self._ids = itertools.count(first_id)
        self.poll_generation = 0

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update of `kind` ("message", "callback_query", ...), unless not allowed."""
        if not self.accepts(kind):
            return None
        update = {"update_id": next(self._ids), kind: payload}
        self.pending.append(update)
        self.changed.notify()
        return update

    def accepts(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in OPT_IN_UPDATES
        return kind in self.allowed

    def set_allowed(self, kinds: list[str] | None) -> None:
        """Telegram keeps the last list given; an empty list means the default set."""
        if kinds is not None:
            self.allowed = frozenset(kinds) or None

    def confirm(self, offset: int) -> None:
        """Forget updates before `offset`; a negative offset keeps only the last -offset ones."""
        if offset < 0:
            while len(self.pending) > -offset:
                self.pending.popleft()
            return
        while self.pending and self.pending[0]["update_id"] < offset:
            self.pending.popleft()

    def peek(self, limit: int) -> list[dict[str, Any]]:
        return list(itertools.islice(self.pending, limit))

    def drop_first(self) -> None:
        self.pending.popleft()
        self.changed.notify()

    def clear(self) -> None:
        self.pending.clear()
        self.changed.notify()

    def new_poll(self) -> int:
        """Start a getUpdates request; any earlier one still waiting is thereby terminated."""
        self.poll_generation += 1
        self.changed.notify()
        return self.poll_generation
