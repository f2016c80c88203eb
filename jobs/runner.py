"""Run the scheduler — only in the process holding the leader lock.

``start_in_app()`` is called by the app's lifespan (``crm serve``) and ``crm jobs`` runs the same
runner as its own process. Each starts a small thread that tries the leader lock (PostgreSQL
advisory lock / SQLite flock) every ~15 s; the holder runs an APScheduler BackgroundScheduler
(in-memory store, jobs defined in code, coalesce, explicit misfire grace time, Asia/Shanghai).
On taking the lead it makes up, once, a daily or weekly run missed while nobody was running.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from crm.clock import local_tz
from crm.db import get_engine, session_scope
from crm.outbox import service as outbox
from crm.outbox.leader import LeaderLock
from crm.outbox.schedule import job_specs, previous_fire
from crm.types import utcnow
from jobs.tasks import JOBS

log = logging.getLogger("crm.jobs")
RETRY_SECONDS = 15.0


def catch_up(now: datetime | None = None) -> list[str]:
    """Run once each daily/weekly job whose latest scheduled time passed with no successful
    run since (downtime); many missed runs still make one. Returns the jobs run."""
    now = now or utcnow()
    ran = []
    for spec in job_specs():
        if not spec.catch_up:
            continue
        due = previous_fire(spec.trigger, now)
        if due is None:
            continue
        with session_scope() as s:
            last = outbox.last_success(s, spec.name)
        if last is None or last < due:
            log.info("catching up %s (was due %s)", spec.name, due)
            try:
                JOBS[spec.name](now)
                ran.append(spec.name)
            except Exception:
                log.exception("catch-up of %s failed", spec.name)
    return ran


def _safe(name: str) -> Any:
    def run() -> None:
        try:
            JOBS[name]()
        except Exception:  # already logged and recorded; the scheduler keeps going
            log.debug("job %s raised", name)

    run.__name__ = name
    return run


def build_scheduler() -> BackgroundScheduler:
    sched = BackgroundScheduler(
        timezone=local_tz(), job_defaults={"coalesce": True, "max_instances": 1}
    )
    for spec in job_specs():
        sched.add_job(
            _safe(spec.name),
            spec.trigger,
            id=spec.name,
            name=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace,
            replace_existing=True,
        )
    return sched


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
        log.info("this process holds the scheduler lock: scheduling")
        if self.catch_up_on_start:
            catch_up()
        self.scheduler = build_scheduler()
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
