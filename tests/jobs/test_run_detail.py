"""A scheduled job's run as the admin reads it: its state and what it did in the reader's
language, never an exception's text (SQL, parameters) — that goes to the log — and never
another job's failure."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm.models.outbox import JobRun
from crm.outbox import run_detail
from crm.types import utcnow
from jobs import tasks
from server.app import create_app
from tests.factories import PASSWORD, make_user

# what an earlier version wrote in a run row (the probe's /admin/outbox)
RAW_LOCKED = (
    "OperationalError: (sqlite3.OperationalError) database is locked [SQL: INSERT INTO job_run "
    "(job, started_at, finished_at, status, detail) VALUES (?, ?, ?, ?, ?)] [parameters: "
    "('daily_reminders', '2026-11-30 05:13:00.000000', None, 'running', None)] "
    "(Background on this error at: https://sqlalche.me/e/21/e3q8)"
)


def _page(session, language: str) -> str:
    admin = make_user(session, "admin", language=language)
    session.commit()
    with TestClient(create_app()) as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": admin.username,
                "password": PASSWORD,
                "csrf_token": c.cookies["csrftoken"],
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = c.get("/admin/outbox").text
        assert c.get("/admin").status_code == 200
        return page


def _runs(session) -> None:
    now = utcnow()
    for job, status, detail in (
        ("daily_reminders", "error", RAW_LOCKED),  # an old row
        ("stale_alerts", "ok", "8 messages written"),  # an old row
        ("drain_outbox", "partial", "email: sent 0, retry 1, failed 0; 421 try later"),
        ("weekly_digest", "ok", run_detail.written(3)),
        ("drain_outbox", "ok", run_detail.drained("wecom:2", 4, 0, 0, 0)),
        ("refill_summaries", "ok", run_detail.weeks_counted(5)),
    ):
        session.add(JobRun(job=job, status=status, detail=detail, started_at=now, finished_at=now))
    session.commit()


def test_a_failed_run_says_what_kind_of_failure_and_the_log_keeps_the_text(session, caplog):
    def work(s, t):
        raise RuntimeError("boom [SQL: SELECT secret FROM project]")

    with caplog.at_level(logging.ERROR, logger="crm.jobs"), pytest.raises(RuntimeError):
        tasks._recorded("weekly_digest", work, utcnow())
    (run,) = session.scalars(select(JobRun).where(JobRun.job == "weekly_digest")).all()
    assert run.status == "error" and "SQL" not in run.detail and "secret" not in run.detail
    assert run_detail.describe(run.detail, "zh_CN") == "任务出错（RuntimeError），详见服务器日志"
    assert "SELECT secret FROM project" in caplog.text  # the text is in the log


def test_the_outbox_page_reads_each_run_in_chinese(session):
    _runs(session)
    page = _page(session, "zh_CN")
    for said in (
        "数据库被占用，已安排重试",
        "写入 8 条消息",
        "写入 3 条消息",
        "邮件：已发送 0，稍后重试 1，失败 0；发送出错（详见服务器日志）",
        "企业微信（部门 2）：已发送 4，稍后重试 0，失败 0",
        "重算 5 周",
        "部分失败",
        "成功",
    ):
        assert said in page, said
    for raw in ("INSERT INTO", "sqlalche.me", "messages written", "sent 0", ">ok<", ">partial<"):
        assert raw not in page, raw
    assert ">error<" not in page and "421 try later" not in page


def test_the_outbox_page_reads_each_run_in_english(session):
    _runs(session)
    page = _page(session, "en")
    for said in (
        "The database was busy; a retry is scheduled",
        "8 messages written",
        "Email: 0 sent, 1 to retry, 0 failed; sending errors (see the server log)",
        "WeCom (department 2): 4 sent, 0 to retry, 0 failed",
        "5 weeks counted again",
        "Partly failed",
    ):
        assert said in page, said
    assert "INSERT INTO" not in page and "数据库" not in page and "写入" not in page


def test_a_jobs_run_never_carries_another_jobs_failure(session, monkeypatch):
    """A failure of stale_alerts that could not be written yet (here: its row cannot be written
    at all) is not written as the next daily_reminders run's error: that run is its own."""
    naive = datetime(2026, 11, 30, 5, 14)  # noqa: DTZ001 (a UTC column refuses it: the write fails)
    monkeypatch.setattr(
        tasks, "_unrecorded", [("stale_alerts", None, naive, naive, run_detail.written(0))]
    )
    assert tasks.daily_reminders(utcnow() - timedelta(minutes=1)) == 0
    runs = session.scalars(select(JobRun)).all()
    assert [(r.job, r.status) for r in runs] == [("daily_reminders", "ok")]
    assert "stale_alerts" not in runs[0].detail
    assert run_detail.describe(runs[0].detail, "zh_CN") == "写入 0 条消息"
    assert len(tasks._unrecorded) == 1  # still waiting to be written
