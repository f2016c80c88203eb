"""The project page, its edit form (stale versions), capital arrivals, the new-project form
and the 撞单 conflict; confidential projects of another department are 404."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from crm.models.activities import Activity, ActivityFirm, ActivityProject
from crm.models.projects import CapitalArrival, Project, StageChange
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_followup, make_project, make_user
from tests.web.conftest import log_in as login


def _setup(session):
    dept = make_department(session, name="两江新区招商局")
    me = make_user(session, "officer", dept, display_name="赵六")
    firm = make_firm(session, "惠普")
    return dept, me, firm


def test_project_page_shows_details_history_activities_followups(client, session):
    _, me, firm = _setup(session)
    p = make_project(
        session,
        firm,
        "NB",
        "negotiating",
        owner=me,
        park_code="LJ",
        investment="30",
        title="惠普笔电基地",
    )
    act = Activity(
        kind="visit",
        occurred_at=utcnow() - timedelta(days=1),
        summary="拜访总部",
        created_by_id=me.id,
    )
    session.add(act)
    session.flush()
    session.add_all(
        [
            ActivityFirm(activity_id=act.id, firm_id=firm.id),
            ActivityProject(activity_id=act.id, project_id=p.id),
        ]
    )
    colleague = make_user(session, "officer", make_department(session))
    make_followup(session, colleague, title="同事跟进", project_id=p.id, firm_id=firm.id)
    session.commit()
    login(client, me)
    r = client.get(f"/projects/{p.id}")
    assert r.status_code == 200
    t = r.text
    assert "惠普笔电基地" in t and "两江新区" in t and "洽谈中" in t and ">30<" in t
    assert "拜访总部" in t and "拜访" in t
    assert "同事跟进" in t  # a project's follow-ups, whoever is assigned
    assert 'id="stage"' in t and "阶段历史" in t


def test_project_page_lists_show_their_values_escaped(client, session):
    """The page's contacts, stage history and follow-ups (built in Python, web/project_rows.py):
    each value escaped, an outcome after its word, a first stage from none as a dash, who
    logged or moved it by name, amounts in 亿元 without trailing zeros."""
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "signed", owner=me, investment="12.50")
    act = Activity(
        kind="call",
        occurred_at=utcnow() - timedelta(days=1),
        summary="<i>谈&判</i>",
        outcome='"同意"',
        created_by_id=me.id,
    )
    session.add(act)
    session.flush()
    session.add(ActivityProject(activity_id=act.id, project_id=p.id))
    session.add_all(
        [
            StageChange(project_id=p.id, to_stage="lead", changed_at=utcnow(), reason="<r>"),
            StageChange(
                project_id=p.id,
                from_stage="lead",
                to_stage="signed",
                changed_at=utcnow(),
                changed_by_id=me.id,
            ),
        ]
    )
    make_followup(session, me, title="<寄资料>", project_id=p.id, status="done")
    session.commit()
    login(client, me)
    t = client.get(f"/projects/{p.id}").text
    assert '<span class="badge">电话</span> 赵六\n' in t
    assert '<div class="pre">&lt;i&gt;谈&amp;判&lt;/i&gt;</div>' in t
    assert '<div class="muted">结果: &#34;同意&#34;</div>' in t
    assert "<td>—</td><td>线索</td><td></td><td>&lt;r&gt;</td></tr>" in t
    assert "<td>线索</td><td>已签约</td><td>赵六</td><td></td></tr>" in t
    assert (
        "<tr><td>&lt;寄资料&gt;</td>" in t and '<span class="status status-done">已完成</span>' in t
    )
    assert "<dd>12.5</dd>" in t


def test_project_page_move_to_lost_needs_reason(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me)
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/projects/{p.id}/stage",
        data={"csrf_token": token, "stage": "lost", "version": "1", "via": "page"},
    )
    assert r.status_code == 422 and 'id="err-reason"' in r.text
    session.expire_all()
    assert session.get(Project, p.id).stage == "lead"
    r = client.post(
        f"/projects/{p.id}/stage",
        data={
            "csrf_token": token,
            "stage": "lost",
            "version": "1",
            "via": "page",
            "reason": "预算取消",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/projects/{p.id}").text
    assert "预算取消" in page and "已流失" in page


def test_edit_saves_and_reports_a_stale_version(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me, title="旧名")
    session.commit()
    token = login(client, me)
    assert "旧名" in client.get(f"/projects/{p.id}/edit").text
    form = {
        "csrf_token": token,
        "title": "新名",
        "planned_investment": "12.3456",
        "expected_jobs": "800",
        "version": "1",
    }
    r = client.post(f"/projects/{p.id}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303, re.findall(r'class="(?:error|alert error)"[^>]*>([^<]*)<', r.text)
    session.expire_all()
    saved = session.get(Project, p.id)
    assert saved.title == "新名" and str(saved.planned_investment) == "12.3456"
    assert saved.expected_jobs == 800 and saved.version == 2
    r = client.post(f"/projects/{p.id}/edit", data={**form, "title": "覆盖"})
    assert r.status_code == 409 and "他人修改" in r.text
    session.expire_all()
    assert session.get(Project, p.id).title == "新名"


def test_edit_validates_beside_the_fields(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me)
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/projects/{p.id}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "planned_investment": "lots",
            "expected_jobs": "many",
            "is_confidential": "1",
        },
    )
    assert r.status_code == 422
    assert 'id="err-planned_investment"' in r.text and 'id="err-expected_jobs"' in r.text
    r = client.post(
        f"/projects/{p.id}/edit", data={"csrf_token": token, "version": "1", "is_confidential": "1"}
    )
    assert r.status_code == 422 and 'id="err-code_name"' in r.text
    r = client.post(
        f"/projects/{p.id}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "expected_sign_date": "2030-05-01",
            "expected_land_date": "2029-01-01",
        },
    )
    assert r.status_code == 422 and "日期" in r.text
    session.expire_all()
    assert session.get(Project, p.id).version == 1


def test_capital_arrivals(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "signed", owner=me, investment="10")
    lead = make_project(session, firm, "DATA", "lead", owner=me)
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/projects/{p.id}/capital",
        data={"csrf_token": token, "amount": "2.5", "arrived_on": "2026-10-01", "note": "首期"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/projects/{p.id}/capital", data={"csrf_token": token, "amount": "-1", "arrived_on": ""}
    )
    assert r.status_code == 422 and 'id="err-amount"' in r.text
    r = client.post(
        f"/projects/{lead.id}/capital",
        data={"csrf_token": token, "amount": "1", "arrived_on": "2026-10-01"},
    )
    assert r.status_code == 409 and "签约后" in r.text
    rows = session.scalars(select(CapitalArrival)).all()
    assert [(str(a.amount), a.note) for a in rows] == [("2.5000", "首期")]
    page = client.get(f"/projects/{p.id}").text
    assert "首期" in page and "2.5" in page


def test_new_project_form_and_conflict_with_another_department(client, session):
    first_dept = make_department(session, name="西永招商局")
    first = make_user(session, "officer", first_dept)
    _, me, firm = _setup(session)
    theirs = make_project(session, firm, "NB", "contacted", owner=first, title="西永惠普")
    session.commit()
    token = login(client, me)
    r = client.get("/projects/new?q=惠普")
    assert r.status_code == 200 and f"/projects/new?firm_id={firm.id}" in r.text
    page = client.get(f"/projects/new?firm_id={firm.id}")
    assert page.status_code == 200 and "惠普" in page.text and 'name="cluster"' in page.text
    r = client.post(
        "/projects/new",
        data={"csrf_token": token, "firm_id": str(firm.id), "cluster": "NB", "stage": "lead"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new_id = int(r.headers["location"].split("/projects/")[1].split("?")[0])
    result = client.get(r.headers["location"]).text
    assert 'id="conflict"' in result and "西永招商局" in result and "西永惠普" in result
    assert "对方首报" in result
    # the first project's page shows it too, with its own priority
    login(client, first)
    other = client.get(f"/projects/{theirs.id}").text
    assert 'id="conflict"' in other and "本项目首报" in other
    assert session.get(Project, new_id).conflict_with_id == theirs.id


def test_new_project_validation(client, session):
    _, me, firm = _setup(session)
    session.commit()
    token = login(client, me)
    r = client.post(
        "/projects/new",
        data={
            "csrf_token": token,
            "firm_id": str(firm.id),
            "cluster": "",
            "planned_investment": "abc",
        },
    )
    assert r.status_code == 422
    assert 'id="err-cluster"' in r.text and 'id="err-planned_investment"' in r.text
    r = client.post(
        "/projects/new", data={"csrf_token": token, "firm_id": str(firm.id), "cluster": "NOPE"}
    )
    assert r.status_code == 422 and 'id="err-cluster"' in r.text
    assert session.scalar(select(Project)) is None


def test_confidential_project_of_another_department_is_404(client, session):
    _, me, firm = _setup(session)
    owner = make_user(session, "officer", make_department(session))
    secret = make_project(
        session, firm, "NB", owner=owner, title="绝密", is_confidential=True, code_name="代号"
    )
    boss = make_user(session, "manager", make_department(session))
    session.commit()
    login(client, me)
    for url in (f"/projects/{secret.id}", f"/projects/{secret.id}/edit"):
        r = client.get(url)
        assert r.status_code == 404 and "绝密" not in r.text
    login(client, boss)
    assert client.get(f"/projects/{secret.id}").status_code == 200


def test_a_cleared_title_is_refused_beside_the_field(client, session):
    _, me, firm = _setup(session)
    p = make_project(session, firm, "NB", "lead", owner=me, title="旧名")
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/projects/{p.id}/edit", data={"csrf_token": token, "version": "1", "title": "  "}
    )
    assert r.status_code == 422 and 'id="err-title"' in r.text
    session.expire_all()
    saved = session.get(Project, p.id)
    assert saved.title == "旧名" and saved.version == 1
