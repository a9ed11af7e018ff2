"""The audit log: every admin action, who did it, when, and on what."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, utcnow
from db.repositories.audit import AuditRepository

PAGE_SIZE = 20


class Action:
    """What an admin did (stored as these strings)."""

    GRANT = "role.grant"
    REVOKE = "role.revoke"
    BROADCAST_START = "broadcast.start"
    BROADCAST_PAUSE = "broadcast.pause"
    BROADCAST_RESUME = "broadcast.resume"
    BROADCAST_CANCEL = "broadcast.cancel"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    actor_id: int
    action: str
    target: str
    details: dict[str, Any]
    at: datetime


class AuditLog:
    """Adds entries to the caller's transaction: an action and its record commit together."""

    def __init__(self, session: AsyncSession) -> None:
        self._repo = AuditRepository(session)

    def record(self, actor_id: int, action: str, target: str, **details: Any) -> None:
        self._repo.add(
            AuditEntry(
                actor_id=actor_id,
                action=action,
                target=target[:64],
                details=json.dumps(details, ensure_ascii=False, sort_keys=True)
                if details
                else None,
                created_at=utcnow(),
            )
        )

    async def entries(self, *, offset: int = 0, limit: int = PAGE_SIZE) -> list[Entry]:
        """Newest first."""
        rows = await self._repo.recent(limit=limit, offset=offset)
        return [
            Entry(
                id=row.id,
                actor_id=row.actor_id,
                action=row.action,
                target=row.target,
                details=json.loads(row.details) if row.details else {},
                at=row.created_at,
            )
            for row in rows
        ]
