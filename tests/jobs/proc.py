"""A second (third…) scheduler process for the multi-process tests.

usage: python -m tests.jobs.proc compose-and-drain ISO_NOW SECONDS
       python -m tests.jobs.proc hold-lock
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta


def compose_and_drain(now: datetime, seconds: float) -> None:
    from jobs import tasks

    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        tasks.daily_reminders(now)
        sent += tasks.drain(now, limit=5).sent
        now += timedelta(milliseconds=1)
    print(f"sent {sent}", flush=True)


def hold_lock() -> None:
    from crm.db import get_engine
    from crm.outbox.leader import LeaderLock

    lock = LeaderLock(get_engine())
    while not lock.try_acquire():
        time.sleep(0.1)
    backend = "-"  # PostgreSQL: the server process whose connection holds the lock
    if lock._conn is not None:
        from sqlalchemy import text

        backend = str(lock._conn.execute(text("select pg_backend_pid()")).scalar())
    print(f"leader {backend}", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    if sys.argv[1] == "compose-and-drain":
        compose_and_drain(datetime.fromisoformat(sys.argv[2]), float(sys.argv[3]))
    else:
        hold_lock()
