"""A refused change saves nothing: for each page form, a refused post leaves the whole row (not
just its version), the rows beside it and the audit trail exactly as they were."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from crm.models.audit import AuditRecord
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import CapitalArrival, Project, StageChange
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


# --- firms, contacts, users, departments: the same promise on their page forms ---------------


def _firm_state(session, firm_id):  # type: ignore[no-untyped-def]
    from crm.models.firms import Contact, FirmAlias, FirmCluster

    session.expire_all()
    return (
        session.get(Firm, firm_id).model_dump(),
        sorted(session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == firm_id))),
        sorted(
            session.scalars(select(FirmCluster.cluster_id).where(FirmCluster.firm_id == firm_id))
        ),
        [
            c.model_dump()
            for c in session.scalars(select(Contact).where(Contact.firm_id == firm_id))
        ],
        session.scalar(select(func.count()).select_from(AuditRecord)),
    )


def _firm_form(firm, **over):  # type: ignore[no-untyped-def]
    data = {
        "name_zh": firm.name_zh,
        "name_en": "Changed Ltd",
        "aliases": "新别名",
        "clusters": "NB",
        "version": str(firm.version),
    }
    if firm.owner_id is not None:
        data["owner_id"] = str(firm.owner_id)
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_refused_firm_edit_keeps_the_row(client, session):
    """Taking over an unowned firm, giving one to another department, a stale or missing
    version, another firm's name: the form comes back with the error beside its field and the
    firm, its aliases, clusters, contacts and the audit trail are exactly as they were."""
    me, other, _, _, _ = _world(session)
    unowned = make_firm(session, "无主拒绝企业")
    mine = make_firm(session, "自有拒绝企业", owner_id=me.id)
    make_firm(session, "已有企业名")
    session.commit()
    token = login(client, me)
    cases = [
        (unowned, {"owner_id": str(me.id)}, "owner_id"),  # an officer taking it over
        (mine, {"owner_id": str(other.id)}, "owner_id"),  # to another department
        (mine, {"version": "9"}, None),  # stale
        (mine, {"version": None}, None),  # missing
        (mine, {"name_zh": "已有企业名"}, "name_zh"),  # another firm's name
    ]
    for firm, over, field in cases:
        before = _firm_state(session, firm.id)
        r = client.post(
            f"/firms/{firm.id}/edit", data={"csrf_token": token, **_firm_form(firm, **over)}
        )
        assert r.status_code in (403, 409, 422), (over, r.status_code)
        assert "Changed Ltd" in r.text  # the user's input comes back
        if field in ("owner_id", "name_zh"):  # the message beside the field
            assert f'id="err-{field}"' in r.text, over
        assert _firm_state(session, firm.id) == before, over


def test_refused_firm_creation_adds_nothing(client, session):
    me, other, _, _, _ = _world(session)
    token = login(client, me)
    count = session.scalar(select(func.count()).select_from(Firm))
    audit = session.scalar(select(func.count()).select_from(AuditRecord))
    r = client.post(
        "/firms/new",
        data={"csrf_token": token, "name_zh": "替人建的企业", "owner_id": str(other.id)},
    )
    assert r.status_code == 403 and "替人建的企业" in r.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Firm)) == count
    assert session.scalar(select(func.count()).select_from(AuditRecord)) == audit


def test_refused_contact_edit_keeps_the_row(client, session):
    from crm.models.firms import Contact

    me, _, _, _, _ = _world(session)
    firm = make_firm(session, "联系人企业", owner_id=me.id)
    c = Contact(firm_id=firm.id, name="王五", title="总监")
    session.add(c)
    session.commit()
    token = login(client, me)
    for over in ({"version": "5"}, {"version": ""}, {"name": ""}):
        before = _firm_state(session, firm.id)
        data = {"name": "赵六", "title": "经理", "version": str(c.version), **over}
        r = client.post(f"/firms/{firm.id}/contacts/{c.id}", data={"csrf_token": token, **data})
        assert r.status_code in (409, 422), (over, r.status_code)
        assert _firm_state(session, firm.id) == before, over


def test_refused_admin_changes_keep_the_rows(client, session):
    from crm.models.accounts import Department, User

    _, other, _, _, _ = _world(session)
    admin = make_user(session, "admin")
    session.commit()
    token = login(client, admin)
    dep_id = other.department_id

    def state():  # type: ignore[no-untyped-def]
        session.expire_all()
        return (
            session.get(User, other.id).model_dump(),
            session.get(User, admin.id).model_dump(),
            session.get(Department, dep_id).model_dump(),
            session.scalar(select(func.count()).select_from(AuditRecord)),
        )

    before = state()
    posts = [
        (f"/admin/users/{other.id}", {"role": "manager", "version": "7"}),  # stale
        (f"/admin/users/{other.id}", {"role": "manager"}),  # no version
        (
            f"/admin/users/{other.id}",
            {"role": "manager", "department_id": "999999", "version": "1"},
        ),
        (f"/admin/users/{admin.id}", {"role": "officer", "version": "1"}),  # the last admin
        (
            f"/admin/departments/{other.department_id}",
            {"name": "新名", "code": "X", "version": "4"},
        ),
        (f"/admin/departments/{other.department_id}", {"name": "新名", "code": "X"}),
        (f"/admin/departments/{other.department_id}", {"name": "", "code": "X", "version": "1"}),
        (
            f"/admin/departments/{other.department_id}/webhook",
            {"kind": "wecom", "url": "ftp://x", "version": "1"},
        ),
    ]
    for url, data in posts:
        r = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
        assert r.status_code in (409, 422), (url, data, r.status_code)
        assert state() == before, (url, data)
    # and a change that changes nothing writes nothing
    dep = session.get(Department, dep_id)
    r = client.post(
        f"/admin/departments/{dep.id}",
        data={"csrf_token": token, "name": dep.name, "code": dep.code, "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert state() == before


def test_the_firm_form_offers_only_owners_the_user_may_name(client, session):
    """The owner picker asks crm.authz (owner_choices, may_set_owner's rule): an officer is
    offered nobody for an unowned firm and only himself for his own; his manager anyone of
    the department, nobody of another."""
    me, other, _, _, _ = _world(session)
    from crm.models.accounts import Department

    boss = make_user(session, "manager", session.get(Department, me.department_id))
    unowned = make_firm(session, "无主挑选企业")
    mine = make_firm(session, "自有挑选企业", owner_id=me.id)
    session.commit()

    def offered(firm_id: int) -> set[int]:
        r = client.get(f"/firms/{firm_id}/edit")
        assert r.status_code == 200
        select_ = r.text.split('id="owner_id"')[1].split("</select>")[0]
        return {int(v) for v in re.findall(r'<option value="(\d+)"', select_)}

    login(client, me)
    assert offered(unowned.id) == set()
    assert offered(mine.id) == {me.id}
    client.cookies.clear()
    login(client, boss)
    assert me.id in offered(unowned.id) and boss.id in offered(mine.id)
    assert other.id not in offered(unowned.id) | offered(mine.id)
