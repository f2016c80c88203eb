"""Run the scheduler — only in the process holding the leader lock.

``start_in_app()`` is called by the app's lifespan (``crm serve``) and ``crm jobs`` runs the same
runner as its own process. Each starts a small thread that tries the leader lock (PostgreSQL
advisory lock / SQLite flock) every ~15 s; the holder runs an APScheduler BackgroundScheduler
(in-memory store, jobs defined in code, coalesce, explicit misfire grace time, Asia/Shanghai).
On taking the lead it plans, once, a daily or weekly run missed while nobody was running, at
its next proper time (``catch_up_plan``); a failed daily/weekly run is tried again with back-off
within its day (``_Job``).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from crm.clock import local_tz, today_local
from crm.config import get_settings
from crm.db import get_engine, session_scope
from crm.outbox import service as outbox
from crm.outbox.leader import LeaderLock
from crm.outbox.schedule import job_specs, period_start, previous_fire
from crm.types import utcnow
from jobs.tasks import JOBS

log = logging.getLogger("crm.jobs")
RETRY_SECONDS = 15.0


def _local_at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=local_tz())


def catch_up_plan(now: datetime | None = None) -> list[tuple[str, datetime]]:
    """When to make up each daily/weekly run missed while nobody was running (or that failed).

    A missed run is made up at its next proper time, never merely because the process started:
    the day's (or week's) time of day, or at once when that already passed within the same day
    or week. A run whose day is over is not made up — the next regular run covers it (reminders
    list overdue follow-ups). A fresh install (the job never ran) makes nothing up: no weekly
    digest on first start. Returns (job, when) pairs; ``when`` ≤ ``now`` means "now".
    """
    now = now or utcnow()
    today = today_local(now)
    plan = []
    for spec in job_specs():
        if not spec.catch_up or spec.period is None or spec.at is None:
            continue
        due = previous_fire(spec.trigger, now)
        if due is None:
            continue
        with session_scope() as s:
            if not outbox.has_run(s, spec.name):
                continue  # a fresh install: start with the next regular run
            last = outbox.last_success(s, spec.name)
        if last is not None and last >= due:
            continue
        due_day = today_local(due)
        if period_start(spec.period, due_day) != period_start(spec.period, today):
            continue  # its period is over; the next regular run covers it
        when = max(now, _local_at(today, spec.at).astimezone(now.tzinfo or UTC))
        if spec.period == "day" and when > now:
            continue  # the regular run later today is the make-up
        nxt = spec.trigger.get_next_fire_time(None, now.astimezone(local_tz()))
        if nxt is not None and when > now and nxt <= when:
            continue  # the regular run comes first
        plan.append((spec.name, when))
    return plan


def catch_up(now: datetime | None = None) -> list[str]:
    """Run at once the missed runs whose proper time is now (``catch_up_plan``); the rest are
    left for the scheduler. Returns the jobs run."""
    now = now or utcnow()
    ran = []
    for name, when in catch_up_plan(now):
        if when > now:
            continue
        log.info("catching up %s", name)
        try:
            JOBS[name](now)
            ran.append(name)
        except Exception:
            log.error("catch-up of %s failed", name, exc_info=True)
    return ran


def retry_delay(failures: int) -> timedelta:
    """The wait before trying a failed daily/weekly run again: doubling, capped at 30 min."""
    base = timedelta(seconds=get_settings().job_retry_seconds)
    return min(base * (2 ** max(failures - 1, 0)), timedelta(minutes=30))


class _Job:
    """A scheduled job: runs it; after a failure of a daily/weekly job, schedules another try
    with back-off as long as its day lasts (the job logs and records each failure)."""

    def __init__(self, sched: BackgroundScheduler, name: str, retry: bool) -> None:
        self.sched, self.name, self.retry = sched, name, retry
        self.__name__ = name

    def __call__(self, failures: int = 0, day: date | None = None) -> None:
        day = day or today_local()
        try:
            JOBS[self.name]()
        except Exception:  # already logged at ERROR and recorded by the job itself
            if not self.retry:
                return
            failures += 1
            at = utcnow() + retry_delay(failures)
            if today_local(at) != day:
                log.error("job %s failed %s times; no more tries today", self.name, failures)
                return
            log.warning("job %s failed; trying again at %s", self.name, at.isoformat())
            self.sched.add_job(
                self,
                DateTrigger(run_date=at),
                args=(failures, day),
                id=f"{self.name}:retry",
                name=f"{self.name} (retry {failures})",
                replace_existing=True,
                misfire_grace_time=3600,
            )


def build_scheduler() -> BackgroundScheduler:
    sched = BackgroundScheduler(
        timezone=local_tz(), job_defaults={"coalesce": True, "max_instances": 1}
    )
    for spec in job_specs():
        sched.add_job(
            _Job(sched, spec.name, retry=spec.period is not None),
            spec.trigger,
            id=spec.name,
            name=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace,
            replace_existing=True,
        )
    return sched


def schedule_catch_up(sched: BackgroundScheduler, now: datetime | None = None) -> None:
    """Add each missed run as a one-off job at its proper time (now, or later today)."""
    for name, when in catch_up_plan(now):
        log.info("making up %s at %s", name, when.isoformat())
        sched.add_job(
            _Job(sched, name, retry=True),
            DateTrigger(run_date=when),
            id=f"{name}:catch-up",
            name=f"{name} (catch-up)",
            replace_existing=True,
            misfire_grace_time=3600,
        )


class Runner:
    """Contend for the leader lock; while holding it, run the scheduler."""

    def __init__(
        self, retry_seconds: float = RETRY_SECONDS, catch_up_on_start: bool = True
    ) -> None:
        self.retry_seconds = retry_seconds
        self.catch_up_on_start = catch_up_on_start
        self.lock = LeaderLock(get_engine())
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.became_leader = threading.Event()

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> Runner:
        self._thread = threading.Thread(target=self._loop, name="crm-scheduler-leader", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.scheduler is None:
                    if self.lock.try_acquire():
                        self._lead()
                elif not self.lock.still_held():
                    log.warning("lost the scheduler lock; stopping the scheduler")
                    self._drop()
            except Exception:
                log.exception("scheduler leader loop")
            self._stop.wait(self.retry_seconds)

    def _lead(self) -> None:
        log.info("process %s holds the scheduler lock: scheduling", os.getpid())
        self.scheduler = build_scheduler()
        if self.catch_up_on_start:
            try:
                schedule_catch_up(self.scheduler)
            except Exception:
                log.error("could not plan the catch-up", exc_info=True)
        self.scheduler.start()
        self.became_leader.set()

    def _drop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        self.lock.release()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._drop()

    def next_runs(self) -> dict[str, datetime | None]:
        if self.scheduler is None:
            return {}
        return {j.id: j.next_run_time for j in self.scheduler.get_jobs()}


def start_in_app() -> Runner:
    """Called by the app's lifespan; the app calls ``.stop()`` on what this returns."""
    return Runner().start()
