"""Local time (Asia/Shanghai by default) against stored UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from crm.config import get_settings
from crm.types import utcnow


@lru_cache
def local_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def now_local() -> datetime:
    return utcnow().astimezone(local_tz())


def today_local(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(local_tz()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the local ``day`` starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=local_tz())
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def to_local(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.astimezone(local_tz())


def as_utc(dt: datetime) -> datetime:
    """A datetime from input: naive ones are taken as local time."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=local_tz())
    return dt.astimezone(UTC)


def week_of(at: datetime) -> date:
    """The local Monday of the week an instant falls in."""
    return week_start(at.astimezone(local_tz()).date())


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    """The UTC instants where the local week starting ``monday`` starts and the next starts."""
    tz = local_tz()
    start = datetime.combine(monday, time.min, tzinfo=tz)
    end = datetime.combine(monday + timedelta(weeks=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
