"""Whether staff are at work now: WORKING_HOURS in TIMEZONE (no public holidays yet)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import WorkingHours
from db.models import utcnow


def is_open(hours: WorkingHours, tz_now: datetime) -> bool:
    """`tz_now` is the current time in the service's time zone."""
    return tz_now.weekday() in hours.days and hours.start <= tz_now.time() < hours.end


def utc_offset(tz_now: datetime) -> str:
    offset = tz_now.utcoffset() or timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    minutes = rest // 60
    return f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")


def now_in(zone: object) -> datetime:
    return utcnow().astimezone(zone)  # type: ignore[arg-type]
