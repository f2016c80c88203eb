"""A refused change saves nothing: for each page form, a refused post leaves the whole row (not
just its version), the rows beside it and the audit trail exactly as they were."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.audit.models import AuditRecord
from crm.followups.models import Followup
from crm.projects.models import CapitalArrival, Project, StageChange
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_followup, make_project, make_user
from tests.web.conftest import log_in as login


def _state(session, model, id_):  # type: ignore[no-untyped-def]
    session.expire_all()
    row = session.get(model, id_).model_dump()
    counts = {
        m.__name__: session.scalar(select(func.count()).select_from(m))
        for m in (AuditRecord, Followup, Project, StageChange, CapitalArrival)
    }
    return row, counts


def _world(session):  # type: ignore[no-untyped-def]
    dept = make_department(session)
    me = make_user(session, "officer", dept)
    other = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "拒绝测试企业")
    p = make_project(session, firm, "NB", "negotiating", owner=me, notes="原备注", title="原标题")
    fu = make_followup(session, me, due_in=timedelta(days=2), title="原事项", project_id=p.id)
    session.commit()
    return me, other, firm, p, fu


def test_refused_project_edit_keeps_the_row(client, session):
    me, _, _, p, _ = _world(session)
    token = login(client, me)
    before = _state(session, Project, p.id)
    refused = [
        # confidential without a code name, with the notes wiped: nothing of it is kept
        {"title": "新标题", "is_confidential": "1", "notes": "", "version": "1"},
        # dates out of order
        {"expected_sign_date": "2030-05-01", "expected_land_date": "2029-01-01", "version": "1"},
        # a stale version
        {"title": "新标题", "version": "7"},
        # no version at all
        {"title": "新标题"},
    ]
    for data in refused:
        r = client.post(f"/projects/{p.id}/edit", data={"csrf_token": token, **data})
        assert r.status_code in (409, 422), (data, r.status_code)
        assert _state(session, Project, p.id) == before, data


def test_refused_followup_edit_keeps_the_row(client, session):
    me, other, _, _, fu = _world(session)
    token = login(client, me)
    before = _state(session, Followup, fu.id)
    due = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    late = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    refused = [
        {"title": "新事项", "due_at": due, "remind_at": late, "version": "1"},  # reminder after due
        {"title": "新事项", "due_at": due, "assignee_id": str(other.id), "version": "1"},
        {"title": "新事项", "due_at": due, "version": "9"},
        {"title": "新事项", "due_at": due},
    ]
    for data in refused:
        r = client.post(f"/followups/{fu.id}/edit", data={"csrf_token": token, **data})
        assert r.status_code in (409, 422), (data, r.status_code)
        assert _state(session, Followup, fu.id) == before, data


def test_refused_stage_moves_and_capital_keep_the_row(client, session):
    me, _, _, p, fu = _world(session)
    token = login(client, me)
    before = _state(session, Project, p.id)
    for data in (
        {"stage": "lost", "version": "1", "via": "page"},  # no reason
        {"stage": "bogus", "version": "1", "via": "page"},
        {"stage": "signed", "version": "abc", "via": "page"},
        {"stage": "signed", "version": "5", "via": "page"},
        {"stage": "signed", "via": "page"},
    ):
        r = client.post(f"/projects/{p.id}/stage", data={"csrf_token": token, **data})
        assert 400 <= r.status_code < 500, (data, r.status_code)
        assert _state(session, Project, p.id) == before, data
    r = client.post(
        f"/projects/{p.id}/capital",
        data={"csrf_token": token, "amount": "1", "arrived_on": "2026-01-01"},
    )
    assert r.status_code == 409  # capital arrives only after signing
    assert _state(session, Project, p.id) == before
    fbefore = _state(session, Followup, fu.id)
    for action in ("done", "cancel", "reschedule"):
        r = client.post(
            f"/followups/{fu.id}/{action}",
            data={"csrf_token": token, "when": "tomorrow", "version": "3"},
        )
        assert r.status_code == 409, (action, r.status_code)
        assert _state(session, Followup, fu.id) == fbefore, action


def test_refused_creations_add_nothing(client, session):
    me, other, firm, p, _ = _world(session)
    token = login(client, me)
    before = _state(session, Project, p.id)
    due = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        "/followups/new",
        data={"csrf_token": token, "title": "x", "due_at": due, "assignee_id": str(other.id)},
    )
    assert r.status_code == 422
    r = client.post(
        "/projects/new",
        data={
            "csrf_token": token,
            "firm_id": str(firm.id),
            "cluster": "NB",
            "is_confidential": "1",
        },
    )
    assert r.status_code == 422
    assert _state(session, Project, p.id) == before


def test_a_change_that_changes_nothing_writes_nothing(client, session):
    me, _, _, p, _ = _world(session)
    token = login(client, me)
    before = _state(session, Project, p.id)
    r = client.post(
        f"/projects/{p.id}/edit",
        data={"csrf_token": token, "title": "原标题", "notes": "原备注", "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code in (303, 204), r.status_code
    assert _state(session, Project, p.id) == before
