"""The admin outbox page and the private calendar feed, through the real app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from crm.outbox import service as outbox
from crm.outbox.models import OutboxMessage
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
    from crm.followups.models import Followup

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
    assert set(events) == {"本部门回访", "普通回访"}
    assert "玄武" in str(events["本部门回访"]["description"])
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
