"""Fault tests with real parts: the real scheduler (``jobs.runner.Runner``) on the real clock, the
test database, aiosmtpd and a local HTTP server as the group robot.

Each scenario prints one line ``FAULT <name> expected=… delivered=… duplicates=… lost=…``
(run with ``-s`` to see them). The reminder time is set a few seconds ahead of the wall clock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.clock import local_tz
from crm.config import get_settings
from crm.db import get_engine
from crm.followups.models import Followup
from crm.outbox.models import JobRun, OutboxMessage
from crm.types import utcnow
from jobs.runner import Runner
from tests.factories import make_department, make_user
from tests.servers import body_text

pytestmark = pytest.mark.skipif(
    get_engine().dialect.name != "sqlite", reason="the faults are staged on a SQLite file"
)


def report(name: str, expected: Counter, delivered: Counter) -> dict[str, int]:
    """Counts of one scenario: expected, delivered (distinct), duplicates, lost."""
    counts = {
        "expected": sum(expected.values()),
        "delivered": len(set(delivered) & set(expected)),
        "duplicates": sum(n - 1 for n in delivered.values() if n > 1),
        "lost": len(set(expected) - set(delivered)),
        "unexpected": len(set(delivered) - set(expected)),
    }
    print(f"FAULT {name} " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
    return counts


def wait_for(cond: Callable[[], bool], timeout: float = 120.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def local_hms(at: datetime) -> str:
    return at.astimezone(local_tz()).strftime("%H:%M:%S")


@pytest.fixture
def schedule_soon(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], datetime]:
    """Set the daily reminder time ``seconds`` from now (local); returns that instant."""

    def set_(seconds: float) -> datetime:
        at = (utcnow() + timedelta(seconds=seconds)).replace(microsecond=0)
        if at.astimezone(local_tz()).date() != utcnow().astimezone(local_tz()).date():
            pytest.skip("too close to local midnight")
        s = get_settings()
        monkeypatch.setattr(s, "daily_reminder_time", local_hms(at))
        # the weekly digest far from now: not part of these scenarios
        far = (at + timedelta(days=3)).astimezone(local_tz())
        monkeypatch.setattr(s, "weekly_digest", far.strftime("%a %H:%M").lower())
        monkeypatch.setattr(s, "outbox_drain_seconds", 1)
        monkeypatch.setattr(s, "job_retry_seconds", 1)
        return at

    return set_


@pytest.fixture
def runner() -> Iterator[Callable[[], Runner]]:
    started: list[Runner] = []

    def start() -> Runner:
        r = Runner(retry_seconds=0.2).start()
        assert r.became_leader.wait(30)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def officers(session, n: int, dept=None) -> list:
    d = dept or make_department(session)
    users = []
    for i in range(n):
        u = make_user(session, "officer", d, email=f"o{i}@example.com")
        due = utcnow() - timedelta(hours=2)
        session.add(Followup(title=f"回访{i}", due_at=due, assignee_id=u.id))
        users.append(u)
    session.commit()
    return users


def test_database_locked_across_the_reminder_time(session, smtp, schedule_soon, runner, caplog):
    """An import-like write lock held from before the reminder time until 25 s after it (longer
    than the busy timeout): the run fails, is logged at ERROR and recorded, is tried again when
    the lock is gone, and every reminder is sent once."""
    n = 60
    users = officers(session, n)
    path = get_engine().url.database
    at = schedule_soon(4)
    lock = sqlite3.connect(path, isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.ERROR, logger="crm.jobs"):
            runner()
            wait_for(lambda: utcnow() > at + timedelta(seconds=25), timeout=60)
            lock.execute("ROLLBACK")
            wait_for(lambda: len(smtp.messages) >= n)
            time.sleep(2)  # a duplicate would arrive now
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
    counts = report(
        "db-locked-across-reminder-time",
        Counter(u.email for u in users),
        Counter(m["To"] for m in smtp.messages),
    )
    assert counts["delivered"] == n and counts["duplicates"] == 0 and counts["lost"] == 0
    assert any("job daily_reminders failed" in r.getMessage() for r in caplog.records)
    session.expire_all()
    runs = session.scalars(select(JobRun).where(JobRun.job == "daily_reminders")).all()
    assert "error" in {r.status for r in runs} and "ok" in {r.status for r in runs}
    assert any("locked" in (r.detail or "") for r in runs if r.status == "error")


def test_restart_at_night_after_a_missed_day(session, smtp, schedule_soon, runner):
    """The scheduler starts (at "02:30") after a missed day: nothing is sent at start-up; the
    reminders go at the configured time and include a follow-up added after the start."""
    users = officers(session, 5)
    at = schedule_soon(8)
    two_days_ago = utcnow() - timedelta(days=2)
    for job in ("daily_reminders", "stale_alerts"):
        session.add(JobRun(job=job, started_at=two_days_ago, finished_at=two_days_ago, status="ok"))
    session.commit()
    runner()
    time.sleep(1)
    if utcnow() < at:  # (on a very slow machine the reminder time may already have come)
        assert session.scalars(select(OutboxMessage)).all() == []  # nothing at start-up
    late = Followup(
        title="三点加的", due_at=utcnow() + timedelta(minutes=5), assignee_id=users[0].id
    )
    session.add(late)
    session.commit()
    wait_for(lambda: len(smtp.messages) >= len(users))
    time.sleep(2)
    counts = report(
        "restart-after-missed-day",
        Counter(u.email for u in users),
        Counter(m["To"] for m in smtp.messages),
    )
    assert counts["delivered"] == len(users) and counts["duplicates"] == 0
    (first,) = smtp.inbox.to(users[0].email)
    assert "三点加的" in body_text(first)
    sent_at = [m.sent_at for m in session.scalars(select(OutboxMessage)).all()]
    assert all(t is not None and t >= at.replace(tzinfo=UTC) for t in sent_at)
