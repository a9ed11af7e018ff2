"""`/start <payload>` deep links: t.me/<bot>?start=faq-trademark-fees."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Telegram allows A-Z, a-z, 0-9, _ and - in start parameters, up to 64 characters.
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KINDS = ("faq",)


@dataclass(frozen=True, slots=True)
class DeepLink:
    kind: str  # "faq", or "" for a payload we keep but do not act on
    value: str
    raw: str


def parse_start_payload(args: str | None) -> DeepLink | None:
    """None for no payload or one Telegram could not have sent; otherwise what it asks for."""
    if not args:
        return None
    raw = args.strip()
    if not _PAYLOAD.match(raw):
        return None
    kind, sep, value = raw.partition("-")
    if sep and kind in _KINDS and value:
        return DeepLink(kind=kind, value=value, raw=raw)
    return DeepLink(kind="", value=raw, raw=raw)
