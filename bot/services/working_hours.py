"""Whether staff are at work now: WORKING_HOURS in TIMEZONE (no public holidays yet)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from bot.config import WorkingHours
from db.models import utcnow

# How far ahead to look for the next working day (a week always holds one).
_WEEK = 8


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


def _window(hours: WorkingHours, day: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
    if day.weekday() not in hours.days:
        return None
    return datetime.combine(day, hours.start, tz), datetime.combine(day, hours.end, tz)


def next_opening(hours: WorkingHours, tz: tzinfo, moment: datetime) -> datetime:
    """When staff are next at work from `moment` on: `moment` itself during working hours,
    else the start of the next working window (in `tz`)."""
    local = moment.astimezone(tz)
    if is_open(hours, local):
        return local
    for offset in range(_WEEK):
        window = _window(hours, local.date() + timedelta(days=offset), tz)
        if window is not None and window[0] > local:
            return window[0]
    raise ValueError(f"no working window within a week in {hours}")


def working_time(hours: WorkingHours, tz: tzinfo, start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) falls within working hours."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        window = _window(hours, day, tz)
        if window is not None:
            lo, hi = max(window[0], start), min(window[1], end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total
