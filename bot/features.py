"""What this deployment offers users; menus show only what works here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Features:
    # Complaints need a staff chat to reach: without STAFF_CHAT_ID the dialog stays closed.
    complaints: bool = False
