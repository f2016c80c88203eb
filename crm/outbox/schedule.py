"""The schedule, from settings: which job runs when (Asia/Shanghai), and when each runs next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crm.clock import local_tz
from crm.config import Settings, get_settings
from crm.types import utcnow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class JobSpec:
    name: str
    trigger: BaseTrigger
    catch_up: bool  # a missed run (downtime) is made up once at start
    misfire_grace: int  # seconds a late run may still start


def _hhmm(value: str, setting: str) -> tuple[int, int]:
    try:
        h, m = value.strip().split(":")
        hour, minute = int(h), int(m)
    except ValueError as exc:
        raise ValueError(f"{setting}: expected HH:MM, got {value!r}") from exc
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"{setting}: expected HH:MM, got {value!r}")
    return hour, minute


def parse_weekly(value: str) -> tuple[str, int, int]:
    """``"mon 08:00"`` → ("mon", 8, 0)."""
    parts = value.strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in DAYS:
        raise ValueError(f"weekly_digest: expected e.g. 'mon 08:00', got {value!r}")
    return (parts[0][:3], *_hhmm(parts[1], "weekly_digest"))


def job_specs(settings: Settings | None = None) -> list[JobSpec]:
    s = settings or get_settings()
    tz = local_tz()
    h, m = _hhmm(s.daily_reminder_time, "daily_reminder_time")
    dow, wh, wm = parse_weekly(s.weekly_digest)
    return [
        JobSpec("daily_reminders", CronTrigger(hour=h, minute=m, timezone=tz), True, 3600),
        JobSpec("stale_alerts", CronTrigger(hour=h, minute=m, timezone=tz), True, 3600),
        JobSpec(
            "weekly_digest",
            CronTrigger(day_of_week=dow, hour=wh, minute=wm, timezone=tz),
            True,
            6 * 3600,
        ),
        JobSpec("followup_reminders", IntervalTrigger(seconds=60, timezone=tz), False, 50),
        JobSpec(
            "drain_outbox",
            IntervalTrigger(seconds=s.outbox_drain_seconds, timezone=tz),
            False,
            max(s.outbox_drain_seconds - 1, 1),
        ),
    ]


def previous_fire(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest time at or before ``now`` that ``trigger`` fired (within 8 days)."""
    t: Any = trigger
    cursor = now.astimezone(local_tz()) - timedelta(days=8)
    last = None
    while True:
        nxt = t.get_next_fire_time(None, cursor)
        if nxt is None or nxt > now:
            return last
        last = nxt
        cursor = nxt + timedelta(seconds=1)


def next_runs(now: datetime | None = None) -> list[tuple[str, datetime | None]]:
    """Each job and its next run time, for the admin page."""
    now = (now or utcnow()).astimezone(local_tz())
    out = []
    for spec in job_specs():
        t: Any = spec.trigger
        if isinstance(spec.trigger, IntervalTrigger):
            out.append((spec.name, now + t.interval))
        else:
            out.append((spec.name, t.get_next_fire_time(None, now)))
    return out
