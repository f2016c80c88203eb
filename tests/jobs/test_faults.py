"""Fault tests with real parts: the real scheduler (``jobs.runner.Runner``) on the real clock, the
test database, aiosmtpd and a local HTTP server as the group robot.

Each scenario prints one line ``FAULT <name> expected=… delivered=… duplicates=… lost=…``
(run with ``-s`` to see them). The reminder time is set a few seconds ahead of the wall clock.
"""

from __future__ import annotations

import logging
import os
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
from crm.models.followups import Followup
from crm.models.outbox import JobRun, OutboxMessage
from crm.outbox import run_detail
from crm.types import utcnow
from jobs.runner import Runner
from tests.factories import make_department, make_firm, make_project, make_user
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
    n = int(os.environ.get("CRM_FAULT_OFFICERS", "60"))  # the city: 620
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
            # all written and none left to send (a slow machine sends 620 mails slowly)
            wait_for(lambda: len(smtp.messages) >= n, timeout=120 + n)
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
    busy = "数据库被占用，已安排重试"
    assert any(run_detail.describe(r.detail, "zh_CN") == busy for r in runs if r.status == "error")


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


def _stale_world(session, robot_url: str, n: int):
    d = make_department(session, name="两江新区招商局", webhook_kind="wecom", webhook_url=robot_url)
    owner = make_user(session, "officer", d, email="owner@example.com")
    projects = []
    for i in range(n):
        p = make_project(
            session,
            make_firm(session, f"停滞企业{i:03d}"),
            "NB",
            owner=owner,
            title=f"长期停滞的笔记本电脑整机及配套零部件生产基地项目第{i:03d}号",
            created_at=utcnow() - timedelta(days=120),
        )
        p.last_activity_at = utcnow() - timedelta(days=60)
        projects.append(p)
    session.add_all(projects)
    session.commit()
    return projects


def test_a_wecom_robot_refusing_over_4096_bytes_gets_the_long_message_in_parts(
    session, smtp, robot, schedule_soon, runner
):
    """The robot answers errcode 40058 to a markdown content over 4,096 bytes, as WeCom does:
    the stale-projects list (well over the limit) arrives in numbered parts, none refused."""

    def wecom(path: str, body: dict) -> dict:
        content = body["markdown"]["content"]
        if len(content.encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return {"errcode": 0, "errmsg": "ok"}

    robot.judge = wecom
    projects = _stale_world(session, robot.url + "/cgi-bin/webhook/send?key=k", 45)
    schedule_soon(3)
    runner()
    session.expire_all()

    def parts() -> list[OutboxMessage]:
        session.expire_all()
        return session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wecom")).all()

    wait_for(lambda: parts() and all(m.status in ("sent", "failed") for m in parts()))
    time.sleep(2)
    rows = parts()
    accepted = [r for r in robot.requests if r["reply"]["errcode"] == 0]
    refused = [r for r in robot.requests if r["reply"]["errcode"] != 0]
    counts = report(
        "wecom-over-4096-bytes",
        Counter(f"**({k}/{len(rows)})**" for k in range(1, len(rows) + 1)),
        Counter(r["json"]["markdown"]["content"].split("\n", 1)[0] for r in accepted),
    )
    assert len(rows) > 1  # the list needed parts
    assert all(r.status == "sent" for r in rows) and refused == []
    assert counts["duplicates"] == 0 and len(accepted) == len(rows)
    text = "".join(r["json"]["markdown"]["content"] for r in accepted)
    assert all(p.title in text for p in projects)  # every project is in one of the parts
    assert [r["json"]["markdown"]["content"].split("\n", 1)[0] for r in accepted] == [
        f"**({k}/{len(rows)})**" for k in range(1, len(rows) + 1)
    ]


def test_a_dingtalk_robot_is_never_sent_more_than_its_rate(
    session, robot, runner, schedule_soon, monkeypatch
):
    """A DingTalk robot counting the messages it gets (refusing with 130101 past 20 in a window,
    as DingTalk does): 45 messages due at once all arrive, never more than 20 in any window.
    The window is DingTalk's minute, or 5 s to keep the test short (CRM_FAULT_REAL_MINUTE=1 runs
    it with the real minute)."""
    from crm.outbox import limits
    from crm.outbox import service as outbox

    window = (
        timedelta(minutes=1) if os.environ.get("CRM_FAULT_REAL_MINUTE") else timedelta(seconds=5)
    )
    monkeypatch.setitem(
        limits.LIMITS,
        "dingtalk",
        limits.ChannelLimit(
            max_bytes=20000,
            per_window=20,
            window=window,
            permanent_codes=limits.LIMITS["dingtalk"].permanent_codes,
        ),
    )
    seen: list[float] = []

    def dingtalk(path: str, body: dict) -> dict:
        now = time.monotonic()
        recent = [t for t in seen if t > now - window.total_seconds()]
        if len(recent) >= 20:
            return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        seen.append(now)
        return {"errcode": 0, "errmsg": "ok"}

    robot.judge = dingtalk
    d = make_department(
        session, webhook_kind="dingtalk", webhook_url=robot.url + "/robot/send?access_token=t"
    )
    n = 45
    outbox.enqueue_many(
        session,
        [
            {
                "dedup_key": f"ding-{i}",
                "kind": "stale",
                "channel": "dingtalk",
                "recipient": f"department:{d.id}",
                "department_id": d.id,
                "subject": f"消息{i}",
                "body_text": f"### 消息 {i}",
            }
            for i in range(n)
        ],
    )
    session.commit()
    schedule_soon(600)  # only the drain matters here
    runner()
    wait_for(lambda: len(seen) >= n, timeout=window.total_seconds() * 4 + 60)
    time.sleep(2)
    accepted = [r for r in robot.requests if r["reply"]["errcode"] == 0]
    counts = report(
        f"dingtalk-rate-{int(window.total_seconds())}s",
        Counter(f"### 消息 {i}" for i in range(n)),
        Counter(r["json"]["markdown"]["text"] for r in accepted),
    )
    times = sorted(r["at"] for r in robot.requests)
    most = max(sum(1 for u in times if t <= u < t + window.total_seconds()) for t in times)
    print(
        f"FAULT dingtalk-rate most-in-any-window={most} "
        f"refused={len(robot.requests) - len(accepted)}"
    )
    assert counts["delivered"] == n and counts["duplicates"] == 0
    assert most <= 20 and len(robot.requests) == len(accepted)  # never refused for the rate


def test_a_hung_smtp_server_delays_only_email(session, robot, runner, schedule_soon, monkeypatch):
    """An SMTP server that accepts and never answers (timeout 60 s): the robot messages of the
    same run arrive while every email still waits on it."""
    from tests.servers import HungServer

    hung = HungServer()
    s = get_settings()
    monkeypatch.setattr(s, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(s, "smtp_port", hung.port)
    monkeypatch.setattr(s, "smtp_security", "none")
    monkeypatch.setattr(s, "smtp_timeout", 60.0)
    try:
        depts = [
            make_department(session, webhook_kind="wecom", webhook_url=robot.url + f"/w{i}")
            for i in range(3)
        ]
        users = []
        for i in range(8):
            users += officers(session, 1, dept=depts[i % 3])
        at = schedule_soon(3)
        runner()
        wait_for(lambda: len(robot.requests) >= 3, timeout=60)
        first_robot = min((r["at"] for r in robot.requests), default=None)
        session.expire_all()
        emails = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
        ).all()
        counts = report(
            "hung-smtp-robots",
            Counter(f"/w{i}" for i in range(3)),
            Counter(r["path"] for r in robot.requests),
        )
        sent_emails = sum(1 for m in emails if m.status == "sent")
        print(
            f"FAULT hung-smtp emails-written={len(emails)} emails-sent={sent_emails} "
            f"robot-delay-after-reminder-time="
            f"{(first_robot or 0) - (time.monotonic() - (utcnow() - at).total_seconds()):.1f}s"
        )
        assert counts["delivered"] == 3 and counts["duplicates"] == 0
        assert len(emails) == 8 and sent_emails == 0  # email still stuck on the hung server
    finally:
        hung.close()
