"""Activities as records: a delegation logged from the page (three firms, two officers,
follow-ups per firm), on every firm's timeline with the others named; read, edit, delete."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm.models.activities import Activity, ActivityFirm, ActivityOfficer
from crm.models.audit import AuditRecord
from crm.models.followups import Followup
from tests.factories import make_department, make_firm, make_user


def _world(session):
    dept = make_department(session)
    me = make_user(session, "officer", dept, display_name="李明")
    colleague = make_user(session, "officer", dept, display_name="王芳")
    firms = [make_firm(session, n) for n in ("惠普有限公司", "宏碁股份有限公司", "联想集团")]
    session.commit()
    return me, colleague, firms


def _log_delegation(client, login, me, colleague, firms):
    login(me)
    page = client.get(f"/activities/new?firm_id={firms[0].id}")
    assert page.status_code == 200 and "惠普有限公司" in page.text
    r = client.post(
        "/activities/new",
        data={
            "kind": "delegation",
            "summary": "代表团来访，参观西永",
            "firm_ids": [str(f.id) for f in firms],
            "officer_ids": [str(me.id), str(colleague.id)],
            "followup_title": "寄送园区资料",
            "followup_due": "2031-05-01T10:00",
            "followup_each": "1",
        }
        | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:800]
    return int(r.headers["location"].split("/")[2].split("?")[0])


def test_a_delegation_from_the_page_is_on_every_firms_timeline(client, login, session):
    me, colleague, firms = _world(session)
    aid = _log_delegation(client, login, me, colleague, firms)
    assert set(
        session.scalars(select(ActivityFirm.firm_id).where(ActivityFirm.activity_id == aid))
    ) == {f.id for f in firms}
    assert set(
        session.scalars(select(ActivityOfficer.user_id).where(ActivityOfficer.activity_id == aid))
    ) == {me.id, colleague.id}
    # one follow-up per firm met
    fus = list(session.scalars(select(Followup).where(Followup.activity_id == aid)))
    assert sorted(f.firm_id for f in fus) == sorted(f.id for f in firms)
    for f in firms:
        text = client.get(f"/firms/{f.id}").text
        assert "代表团来访" in text
        others = [o.name_zh for o in firms if o.id != f.id]
        section = text.split("同行企业", 1)[1][:600]
        assert all(name in section for name in others), (f.name_zh, section)
        assert f"/activities/{aid}" in text
    page = client.get(f"/activities/{aid}").text
    assert all(f.name_zh in page for f in firms) and "李明" in page and "王芳" in page


def test_editing_changes_its_firms_and_officers_and_is_audited(client, login, session):
    me, colleague, firms = _world(session)
    aid = _log_delegation(client, login, me, colleague, firms)
    edit = client.get(f"/activities/{aid}/edit")
    assert edit.status_code == 200 and "联想集团" in edit.text
    version = session.get(Activity, aid).version
    r = client.post(
        f"/activities/{aid}/edit",
        data={
            "kind": "meeting",
            "summary": "代表团来访（修改）",
            "occurred_at": "2026-05-01T09:30",
            "firm_ids": [str(firms[0].id), str(firms[1].id)],
            "officer_ids": [str(me.id)],
            "version": str(version),
        }
        | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:800]
    session.expire_all()
    assert set(
        session.scalars(select(ActivityFirm.firm_id).where(ActivityFirm.activity_id == aid))
    ) == {firms[0].id, firms[1].id}
    assert list(
        session.scalars(select(ActivityOfficer.user_id).where(ActivityOfficer.activity_id == aid))
    ) == [me.id]
    assert "代表团来访（修改）" not in client.get(f"/firms/{firms[2].id}").text
    audit = session.scalars(
        select(AuditRecord).where(AuditRecord.entity == "activity", AuditRecord.action == "update")
    ).one()
    before, after = (
        json.loads(v) if isinstance(v, str) else v for v in (audit.before, audit.after)
    )
    assert len(before["firm_ids"]) == 3 and len(after["firm_ids"]) == 2
    assert before["officer_ids"] != after["officer_ids"]
    # a stale version changes nothing and says so in the page's language
    r = client.post(
        f"/activities/{aid}/edit",
        data={
            "kind": "call",
            "summary": "x",
            "firm_ids": [str(firms[0].id)],
            "officer_ids": [str(me.id)],
            "version": str(version),
        }
        | login.csrf,
    )
    assert r.status_code == 409 and "记录已被他人修改" in r.text


def test_deleting_an_activity(client, login, session):
    me, colleague, firms = _world(session)
    aid = _log_delegation(client, login, me, colleague, firms)
    version = session.get(Activity, aid).version
    r = client.post(
        f"/activities/{aid}/delete",
        data={"version": str(version)} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Activity, aid) is None
    assert client.get(f"/activities/{aid}").status_code == 404


def test_firm_search_as_you_type_and_the_choices_of_the_chosen_firms(client, login, session):
    me, _, firms = _world(session)
    login(me)
    r = client.get(
        "/activities/firm-options", params={"q": "hui pu"}, headers={"HX-Request": "true"}
    )
    assert f'data-firm-id="{firms[0].id}"' in r.text
    r = client.get(
        "/activities/choices",
        params={"firm_ids": [firms[0].id, firms[1].id]},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200


def test_another_departments_officer_cannot_edit(client, login, session):
    me, colleague, firms = _world(session)
    aid = _log_delegation(client, login, me, colleague, firms)
    stranger = make_user(
        session, "officer", make_department(session, name="其他部门", code="OTHER")
    )
    session.commit()
    login(stranger)
    assert client.get(f"/activities/{aid}").status_code == 200  # not confidential: readable
    assert client.get(f"/activities/{aid}/edit").status_code == 403
