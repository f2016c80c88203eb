"""The schedule, from settings: which job runs when (Asia/Shanghai), and when each runs next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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
    catch_up: bool  # a missed run (downtime) is made up once, at its next proper time
    misfire_grace: int  # seconds a late run may still start
    period: str | None = None  # "day" | "week": what one run covers (its messages' dedup key)
    at: time | None = None  # the local time of day it runs


def period_start(period: str, day: date) -> date:
    """The first local day of the ``period`` (day or ISO week) that contains ``day``."""
    return day - timedelta(days=day.weekday()) if period == "week" else day


def _hhmm(value: str, setting: str) -> tuple[int, int, int]:
    """``"08:30"`` → (8, 30, 0); seconds are allowed (``"08:30:15"``)."""
    try:
        parts = [int(p) for p in value.strip().split(":")]
    except ValueError as exc:
        raise ValueError(f"{setting}: expected HH:MM, got {value!r}") from exc
    if len(parts) not in (2, 3):
        raise ValueError(f"{setting}: expected HH:MM, got {value!r}")
    hour, minute, second = (*parts, 0)[:3]
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError(f"{setting}: expected HH:MM, got {value!r}")
    return hour, minute, second


def parse_weekly(value: str) -> tuple[str, int, int]:
    """``"mon 08:00"`` → ("mon", 8, 0)."""
    dow, h, m, _ = _parse_weekly(value)
    return dow, h, m


def _parse_weekly(value: str) -> tuple[str, int, int, int]:
    parts = value.strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in DAYS:
        raise ValueError(f"weekly_digest: expected e.g. 'mon 08:00', got {value!r}")
    return (parts[0][:3], *_hhmm(parts[1], "weekly_digest"))


def job_specs(settings: Settings | None = None) -> list[JobSpec]:
    s = settings or get_settings()
    tz = local_tz()
    h, m, sec = _hhmm(s.daily_reminder_time, "daily_reminder_time")
    dow, wh, wm, ws = _parse_weekly(s.weekly_digest)
    daily = time(h, m, sec)
    bh, bm, bs = _hhmm(s.backup_time, "backup_time")
    return [
        # the two daily jobs run at the same time, each made up on start for a missed day
        *(
            JobSpec(
                name,
                CronTrigger(hour=h, minute=m, second=sec, timezone=tz),
                True,
                3600,
                "day",
                daily,
            )
            for name in ("daily_reminders", "stale_alerts")
        ),
        JobSpec(
            "weekly_digest",
            CronTrigger(day_of_week=dow, hour=wh, minute=wm, second=ws, timezone=tz),
            True,
            6 * 3600,
            "week",
            time(wh, wm, ws),
        ),
        JobSpec("followup_reminders", IntervalTrigger(seconds=60, timezone=tz), False, 50),
        JobSpec(
            "nightly_backup",
            CronTrigger(hour=bh, minute=bm, second=bs, timezone=tz),
            False,  # not made up on start: a restart must not copy the database in the day
            6 * 3600,
        ),
        JobSpec(
            "drain_outbox",
            IntervalTrigger(seconds=s.outbox_drain_seconds, timezone=tz),
            False,
            max(s.outbox_drain_seconds - 1, 1),
        ),
        # the per-officer-week rollups: closed weeks filled (a no-op most runs), and nightly the
        # recent weeks counted again (writes that bypassed the services heal)
        JobSpec("fill_summaries", IntervalTrigger(minutes=15, timezone=tz), False, 14 * 60),
        JobSpec("refill_summaries", CronTrigger(hour=3, minute=30, timezone=tz), False, 3600),
        # SQLite: the firm search's index merged when the day's changes split it (a no-op else)
        JobSpec("compact_search_index", IntervalTrigger(minutes=30, timezone=tz), False, 29 * 60),
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
