"""The confidential-project leaks of issue #12, each tried the way a user would try it.

The world (tests/security/world.py) has department A's confidential project with a follow-up,
a delegated activity naming it with an inline follow-up, and department B's later project for
the same firm and cluster (a 撞单 with the confidential one)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select

from crm.followups.calendar import calendar_token
from crm.models.accounts import User
from crm.models.audit import AuditRecord
from crm.models.followups import Followup
from crm.models.outbox import OutboxMessage
from crm.outbox.compose import compose_daily_reminders, compose_followup_reminders
from crm.types import utcnow
from server.app import create_app
from tests.security.world import MARKER, build_world, client_for

APP = create_app()


def _api(client):  # type: ignore[no-untyped-def]
    client.headers["Authorization"] = "Bearer " + client.headers.pop("X-Test-Bearer")
    return client


def _row(session, model, id_):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(model, id_).model_dump()


def test_a_followup_on_a_confidential_project_is_never_given_to_another_department(session):
    w = build_world(session)
    other = w.users["other"].id
    before = _row(session, Followup, w.followup)
    due = (utcnow() + timedelta(days=1)).isoformat()
    # the API, as the project's own officer
    own = _api(client_for(APP, session, w, "own"))
    r = own.patch(
        f"/api/v1/followups/{w.followup}",
        json={"assignee_id": other, "version": before["version"]},
    )
    assert r.status_code == 422 and r.json()["field"] == "assignee_id", r.text
    # the edit page, as the project's own officer
    page = client_for(APP, session, w, "own")
    page.headers.pop("X-Test-Bearer")
    r = page.post(
        f"/followups/{w.followup}/edit",
        data={
            "title": "改派",
            "due_at": "2030-01-01T09:00",
            "assignee_id": str(other),
            "version": str(before["version"]),
            "csrf_token": page.cookies["csrftoken"],
        },
    )
    assert r.status_code == 422, r.status_code
    assert _row(session, Followup, w.followup) == before
    # a manager (department B) and an admin creating one for B's officer
    for role in ("manager", "admin"):
        c = _api(client_for(APP, session, w, role))
        r = c.post(
            "/api/v1/followups",
            json={"title": "x", "due_at": due, "project_id": w.project, "assignee_id": other},
        )
        assert r.status_code == 422 and r.json()["field"] == "assignee_id", (role, r.text)
    # (logins add audit rows) no follow-up row changed:
    assert not session.scalars(
        select(AuditRecord).where(AuditRecord.entity == "followup", AuditRecord.action != "create")
    ).all()
    # the pages never offer B's officer as the assignee
    r = page.get(f"/followups/{w.followup}/edit")
    assert f'value="{other}"' not in r.text
    # and B's My day, follow-up list and calendar say nothing of it
    oc = client_for(APP, session, w, "other")
    oc.headers.pop("X-Test-Bearer")
    for url in ("/", "/followups"):
        assert MARKER not in oc.get(url).text


def test_the_inline_followup_of_a_hidden_activity_is_hidden(session):
    w = build_world(session)
    fid = w.extra["inline_followup"]
    aid = w.extra["delegated_activity"]
    assert fid is not None
    other = _api(client_for(APP, session, w, "other"))
    assert other.get(f"/api/v1/followups/{fid}").status_code == 404
    assert other.get(f"/api/v1/activities/{aid}").status_code == 404
    own = _api(client_for(APP, session, w, "own"))
    assert own.get(f"/api/v1/followups/{fid}").status_code == 200


def test_a_conflict_tells_the_other_officer_only_that_someone_reported_first(session):
    w = build_world(session)
    pid = w.extra["conflicting_project"]
    api = _api(client_for(APP, session, w, "other"))
    body = api.get(f"/api/v1/projects/{pid}").json()
    assert body["in_conflict"] is True and body["conflict_with_id"] is None
    listed = api.get("/api/v1/projects", params={"limit": 200}).json()["items"]
    assert all(p["conflict_with_id"] in (None, pid) for p in listed)
    assert w.project not in {p["id"] for p in listed}
    page = client_for(APP, session, w, "other")
    page.headers.pop("X-Test-Bearer")
    html = page.get(f"/projects/{pid}").text
    notice = re.search(r'<div class="alert warn conflict".*?</div>', html, re.S)
    assert notice is not None
    text = notice.group(0)
    assert "另一部门已先报备该企业在同一产业集群的项目" in text
    for secret in (MARKER, "代号甲", "甲招商局", f"/projects/{w.project}", str(w.project)):
        assert secret not in text, secret
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert MARKER not in html
    # the owning department's officer sees it in full
    own = _api(client_for(APP, session, w, "own"))
    assert own.get(f"/api/v1/projects/{w.project}").json()["conflict_with_id"] == pid


def test_messages_and_the_calendar_name_a_confidential_task_by_code_name_and_kind(session):
    w = build_world(session)
    own = session.get(User, w.users["own"].id)
    own.email = "own@example.org"
    token = calendar_token(session, own)
    session.commit()
    c = client_for(APP, session, w, "anon")
    ics = c.get(f"/calendar/{token}.ics").text
    assert "代号甲" in ics
    for secret in ("-FOLLOWUP", "-INLINE", "机密", w.firm_name):
        assert secret not in ics, secret
    compose_daily_reminders(session)
    compose_followup_reminders(session, now=utcnow() + timedelta(hours=2))
    session.commit()
    msgs = session.scalars(select(OutboxMessage)).all()
    assert msgs
    for m in msgs:
        text = json.dumps([m.subject, m.body_text, m.body_html], ensure_ascii=False)
        for secret in ("-FOLLOWUP", "-INLINE", "机密", w.firm_name):
            assert secret not in text, (m.kind, secret)


def test_an_english_reader_gets_the_calendar_and_reminders_in_english(session):
    """The feed's name, a confidential task's kind and the reminders read in the feed owner's
    language (code name and kind only, as in Chinese)."""
    w = build_world(session)
    own = session.get(User, w.users["own"].id)
    own.email, own.language = "own@example.org", "en"
    token = calendar_token(session, own)
    session.commit()
    ics = client_for(APP, session, w, "anon").get(f"/calendar/{token}.ics").text
    assert "代号甲 · Follow-ups" in ics and "跟进事项" not in ics
    assert "X-WR-CALNAME:Investment CRM ·" in ics and "//EN" in ics
    # the day its follow-up is due (3 hours from now: after 21:00 in Shanghai, tomorrow)
    compose_daily_reminders(session, now=utcnow() + timedelta(hours=3))
    session.commit()
    texts = [
        json.dumps([m.subject, m.body_text], ensure_ascii=False)
        for m in session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == own.id))
    ]
    assert texts and not any("跟进事项" in t for t in texts), texts
