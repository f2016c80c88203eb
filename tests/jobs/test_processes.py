"""Several scheduler processes on one database (a file SQLite database, or PostgreSQL when
CRM_TEST_DATABASE_URL is set): each message is sent once; the leader lock has one holder."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crm.config import get_settings
from crm.db import get_engine
from crm.models.followups import Followup
from crm.outbox.leader import LeaderLock
from tests.factories import make_department, make_user

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CRM_DATABASE_URL"] = get_engine().url.render_as_string(hide_password=False)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_two_processes_compose_and_drain_the_same_day_and_send_each_message_once(session, smtp):
    d = make_department(session)
    for i in range(20):
        u = make_user(session, "officer", d, email=f"o{i}@example.com")
        session.add(
            Followup(title=f"回访{i}", due_at=NOW - timedelta(hours=i + 1), assignee_id=u.id)
        )
    session.commit()
    env = _env(CRM_SMTP_HOST="127.0.0.1", CRM_SMTP_PORT=str(smtp.port))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.proc", "compose-and-drain", NOW.isoformat(), "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    sent = [int(o[0].split()[-1]) for o in outs]
    assert sum(sent) == 20
    to = sorted(m["To"] for m in smtp.messages)
    assert to == sorted(f"o{i}@example.com" for i in range(20))  # each exactly once


def _wait_until_backend_ends(pid: int) -> None:
    """Until the server process is gone (a condition, not a time window: the bound only keeps a
    broken server from hanging the suite)."""
    import time

    from sqlalchemy import text

    engine = get_engine()
    for _ in range(1200):
        with engine.connect() as conn:
            alive = conn.execute(
                text("select count(*) from pg_stat_activity where pid = :p"), {"p": pid}
            ).scalar()
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} still alive")


def test_the_leader_lock_has_one_holder_and_passes_on_when_it_dies(session):
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.proc", "hold-lock"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        said, backend = holder.stdout.readline().split()
        assert said == "leader"
        mine = LeaderLock(get_engine())
        assert mine.try_acquire() is False
        assert mine.try_acquire() is False
        holder.kill()  # dies without letting go: the OS / the server drops the lock
        holder.wait(timeout=30)
        if backend != "-":  # PostgreSQL ends the holder's backend once it sees the socket close
            _wait_until_backend_ends(int(backend))
        # SQLite: the kernel dropped the flock with the process. Either way: free now, no retry
        assert mine.try_acquire() is True
        assert mine.held
        other = LeaderLock(get_engine())
        assert other.try_acquire() is False
        mine.release()
        assert other.try_acquire() is True
        other.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_settings_schedule_is_parsed():
    from crm.outbox.schedule import job_specs, parse_weekly

    assert parse_weekly("Mon 08:00") == ("mon", 8, 0)
    names = [s.name for s in job_specs(get_settings())]
    assert names == [
        "daily_reminders",
        "stale_alerts",
        "weekly_digest",
        "followup_reminders",
        "nightly_backup",
        "drain_outbox",
        "fill_summaries",
        "refill_summaries",
        "compact_search_index",
    ]
