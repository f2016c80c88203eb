"""Local time (Asia/Shanghai by default) against stored UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import overload
from zoneinfo import ZoneInfo

from crm.config import get_settings
from crm.errors import ValidationFailed
from crm.i18n import Message, _l
from crm.types import utcnow

# the days a person may type into a filter or a form (the API's ``Day`` holds the same range):
# any local day in it has UTC bounds, a week, a month — no date arithmetic can overflow
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)
BAD_DAY = _l("日期格式应为 YYYY-MM-DD")
DAY_OUT_OF_RANGE = _l("日期超出范围（1990–2100）")


def day_problem(text: str) -> Message | None:
    """What is wrong with a typed day (YYYY-MM-DD, 1990–2100), or None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return BAD_DAY
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return BAD_DAY
    return None if FIRST_DAY <= day <= LAST_DAY else DAY_OUT_OF_RANGE


def parse_day(value: str | None, field: str) -> date | None:
    """A day from a page's query or form: blank → None; anything else wrong → a 422 naming
    ``field`` (the page shows it beside the field). The one check for every typed day."""
    text = (value or "").strip()
    if not text:
        return None
    problem = day_problem(text)
    if problem is not None:
        raise ValidationFailed(problem, field=field)
    return date.fromisoformat(text)


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


@overload
def to_local(dt: datetime) -> datetime: ...
@overload
def to_local(dt: None) -> None: ...
@overload
def to_local(dt: datetime | None) -> datetime | None: ...
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
