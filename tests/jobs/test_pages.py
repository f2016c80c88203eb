"""The admin outbox page and the private calendar feed, through the real app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from crm.models.outbox import OutboxMessage
from crm.outbox import service as outbox
from crm.types import utcnow
from server.app import create_app
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def login(client: TestClient, user) -> str:
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return token


def _failed(session, key: str) -> OutboxMessage:
    outbox.enqueue(
        session,
        dedup_key=key,
        kind="daily_reminder",
        channel="email",
        recipient="x@example.com",
        subject=f"主题 {key}",
        body_text="b",
    )
    session.flush()
    m = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == key))
    m.status, m.attempts, m.last_error = "failed", 8, "SMTP connection refused"
    session.add(m)
    session.commit()
    return m


def test_admin_sees_the_outbox_and_the_schedule_and_retries(client, session):
    admin = make_user(session, "admin")
    m = _failed(session, "k-failed")
    token = login(client, admin)
    r = client.get("/admin/outbox")
    assert r.status_code == 200
    assert "主题 k-failed" in r.text and "SMTP connection refused" in r.text
    assert "每日跟进提醒" in r.text and "招商周报" in r.text  # the schedule
    r = client.get("/admin/outbox?status=sent", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "主题 k-failed" not in r.text and "<html" not in r.text
    r = client.post(
        f"/admin/outbox/{m.id}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    session.expire_all()
    m2 = session.get(OutboxMessage, m.id)
    assert m2.status == "pending" and m2.attempts == 0


def test_only_admins_see_the_outbox(client, session):
    officer = make_user(session, "officer")
    manager = make_user(session, "manager")
    m = _failed(session, "k2")
    token = login(client, officer)
    assert client.get("/admin/outbox").status_code == 403
    r = client.post(f"/admin/outbox/{m.id}/retry", data={"csrf_token": token})
    assert r.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, manager)
    assert client.get("/admin/outbox").status_code == 403
    session.expire_all()
    assert session.get(OutboxMessage, m.id).status == "failed"


def test_calendar_feed_is_private_renewable_and_hides_other_departments_secrets(client, session):
    from crm.models.followups import Followup

    da, db = make_department(session), make_department(session)
    me = make_user(session, "officer", da, display_name="张三")
    other = make_user(session, "officer", db)
    mine_secret = make_project(
        session,
        make_firm(session, "本部门机密企业"),
        "NB",
        owner=me,
        is_confidential=True,
        code_name="玄武",
    )
    their_secret = make_project(
        session,
        make_firm(session, "外部门机密企业"),
        "NB",
        owner=other,
        is_confidential=True,
        code_name="麒麟",
        title="外部门机密项目",
    )
    due = utcnow() + timedelta(days=1)
    for title, project in (
        ("本部门回访", mine_secret),
        ("不该出现", their_secret),
        ("普通回访", None),
    ):
        session.add(
            Followup(
                title=title,
                due_at=due,
                assignee_id=me.id,
                created_by_id=me.id,
                project_id=project.id if project else None,
                firm_id=project.firm_id if project else None,
                remind_at=due - timedelta(hours=1),
            )
        )
    session.add(Followup(title="已完成的", due_at=due, assignee_id=me.id, status="done"))
    session.commit()
    token = login(client, me)
    page = client.get("/settings/calendar")
    assert page.status_code == 200
    path = re.search(r'value="https?://[^/"]+/(calendar/[^"]+\.ics)"', page.text).group(1)
    client.cookies.clear()  # a calendar app has no session
    r = client.get("/" + path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    # a confidential project's follow-up: its code name and the kind of task only (crm/authz)
    assert set(events) == {"玄武 · 跟进事项", "普通回访"}
    assert "本部门回访" not in r.text
    assert "本部门机密企业" not in r.text and "外部门" not in r.text and "麒麟" not in r.text
    assert events["普通回访"].walk("VALARM")
    # renew: the old address is gone
    login(client, me)
    token = client.cookies["csrftoken"]
    r = client.post("/settings/calendar/renew", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    assert client.get("/" + path).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_the_outbox_pages_filters_names_and_retries_all_failed(client, session):
    admin = make_user(session, "admin")
    d = make_department(session, name="两江招商局", webhook_kind="wecom", webhook_url="http://x/y")
    officer = make_user(session, "officer", d, display_name="李四", email="li@example.com")
    rows = [
        {
            "dedup_key": f"e{i}",
            "kind": "daily_reminder",
            "channel": "email",
            "recipient": "li@example.com",
            "user_id": officer.id,
            "subject": f"邮件{i:03d}",
            "body_text": "b",
        }
        for i in range(120)
    ] + [
        {
            "dedup_key": "robot",
            "kind": "stale",
            "channel": "wecom",
            "recipient": f"department:{d.id}",
            "department_id": d.id,
            "subject": "机器人消息",
            "body_text": "b",
        }
    ]
    outbox.enqueue_many(session, rows)
    session.commit()
    session.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.dedup_key.in_(["e1", "e2", "robot"]))
        .values(status="failed", last_error="refused")
    )
    session.commit()
    token = login(client, admin)
    assert 'href="/admin/outbox"' in client.get("/admin").text  # in the admin menu
    first = client.get("/admin/outbox").text
    assert "共 121 条" in first and "第 1 / 3 页" in first
    assert "两江招商局（群机器人）" in first and "department:" not in first
    third = client.get("/admin/outbox?page=3").text
    assert "邮件000" in third and "邮件119" not in third
    assert "李四 &lt;li@example.com&gt;" in third
    r = client.get("/admin/outbox?channel=wecom")
    assert "共 1 条" in r.text and "机器人消息" in r.text
    r = client.get("/admin/outbox?q=两江")
    assert "共 1 条" in r.text
    r = client.get("/admin/outbox?q=李四&status=failed")
    assert "共 2 条" in r.text
    r = client.post(
        "/admin/outbox/retry-failed",
        data={"csrf_token": token, "channel": "email"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    failed = session.scalars(
        select(OutboxMessage.dedup_key).where(OutboxMessage.status == "failed")
    ).all()
    assert failed == ["robot"]  # only the email ones (the filter) were sent again
    client.post("/admin/outbox/retry-failed", data={"csrf_token": token})
    assert (
        session.scalar(select(OutboxMessage.status).where(OutboxMessage.dedup_key == "robot"))
        == "pending"
    )


def test_the_admin_overview_shows_failed_and_late_messages_and_each_jobs_last_run(client, session):
    from crm.models.outbox import JobRun

    admin = make_user(session, "admin")
    _failed(session, "f1")
    outbox.enqueue(
        session,
        now=utcnow() - timedelta(hours=2),
        dedup_key="late",
        kind="daily_reminder",
        channel="email",
        recipient="x@example.com",
        subject="s",
        body_text="b",
    )
    session.add(
        JobRun(job="daily_reminders", status="error", detail="OperationalError: database is locked")
    )
    session.commit()
    login(client, admin)
    page = client.get("/admin").text
    assert "发送失败的消息" in page and "逾期未发的消息" in page
    # an old row's raw error read as what it means (the text itself is in the log)
    assert "数据库被占用，已安排重试" in page and "每日跟进提醒" in page
    assert "database is locked" not in page
    # the run's outcome by name, not its code
    assert '<span class="badge run-error">失败</span>' in page
    assert '<span class="badge run-error">error</span>' not in page
