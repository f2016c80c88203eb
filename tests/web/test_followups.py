"""The follow-ups pages: list (mine, my team's), filters, create, edit (stale), complete, cancel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.clock import to_local, today_local
from crm.models.followups import Followup
from tests.factories import make_department, make_firm, make_followup, make_project, make_user
from tests.web.conftest import hx, switch_language
from tests.web.conftest import log_in as login


def test_list_shows_mine_and_filters_by_status_and_due(client, session):
    dept = make_department(session)
    me = make_user(session, "officer", dept)
    other = make_user(session, "officer", dept)
    make_followup(session, me, due_in=timedelta(days=1), title="明天的")
    make_followup(session, me, due_in=timedelta(days=20), title="二十天后的")
    make_followup(session, me, title="做完的", status="done")
    make_followup(session, other, title="同事的")
    session.commit()
    login(client, me)
    r = client.get("/followups")
    assert r.status_code == 200
    assert "明天的" in r.text and "二十天后的" in r.text
    assert "做完的" not in r.text and "同事的" not in r.text
    assert "做完的" in client.get("/followups?status=done").text
    to = (today_local() + timedelta(days=5)).isoformat()
    r = client.get(f"/followups?due_to={to}")
    assert "明天的" in r.text and "二十天后的" not in r.text
    # officers have no team view: scope=team still shows only their own
    assert "同事的" not in client.get("/followups?scope=team").text


def test_manager_sees_the_team(client, session):
    dept = make_department(session)
    boss = make_user(session, "manager", dept)
    officer = make_user(session, "officer", dept)
    outsider = make_user(session, "officer", make_department(session))
    make_followup(session, officer, title="部门同事的")
    make_followup(session, outsider, title="外部门的")
    session.commit()
    login(client, boss)
    r = client.get("/followups?scope=team")
    assert "部门同事的" in r.text and "外部门的" not in r.text
    assert "部门同事的" not in client.get("/followups").text


def test_create_validates_beside_the_field_and_saves_nothing(client, session):
    me = make_user(session, "officer", make_department(session))
    session.commit()
    token = login(client, me)
    assert client.get("/followups/new").status_code == 200
    r = client.post(
        "/followups/new", data={"csrf_token": token, "title": "", "due_at": "not a date"}
    )
    assert r.status_code == 422
    assert 'id="err-title"' in r.text and 'id="err-due_at"' in r.text
    assert session.scalar(select(Followup)) is None
    # SPEC: on a firm and/or a project — none chosen is refused beside the firm picker
    r = client.post(
        "/followups/new",
        data={"csrf_token": token, "title": "无对象", "due_at": "2030-01-01T09:00"},
    )
    assert r.status_code == 422
    picker = r.text.split('id="firm-picker"')[1].split("</div>\n    <div")[0]
    assert 'id="err-firm_id"' in picker and "请选择跟进的企业或项目" in picker
    assert 'aria-describedby="err-firm_id"' in picker
    assert session.scalar(select(Followup)) is None


def test_create_for_a_project(client, session):
    me = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "惠普")
    p = make_project(session, firm, "NB", owner=me)
    session.commit()
    token = login(client, me)
    page = client.get(f"/followups/new?project_id={p.id}")
    assert p.title in page.text
    day = today_local() + timedelta(days=2)
    r = client.post(
        "/followups/new",
        data={
            "csrf_token": token,
            "title": "报价",
            "due_at": f"{day.isoformat()}T10:30",
            "project_id": str(p.id),
            "assignee_id": str(me.id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{p.id}"
    fu = session.scalar(select(Followup))
    assert fu.title == "报价" and fu.project_id == p.id and fu.firm_id == firm.id
    assert to_local(fu.due_at).strftime("%Y-%m-%d %H:%M") == f"{day.isoformat()} 10:30"


def test_edit_and_stale_version(client, session):
    me = make_user(session, "officer", make_department(session))
    fu = make_followup(session, me, title="旧标题")
    session.commit()
    v0 = fu.version
    token = login(client, me)
    page = client.get(f"/followups/{fu.id}/edit")
    assert page.status_code == 200 and "旧标题" in page.text
    due = to_local(fu.due_at).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        f"/followups/{fu.id}/edit",
        data={"csrf_token": token, "title": "新标题", "due_at": due, "version": str(v0)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # a second save with the old version is reported, not applied
    r = client.post(
        f"/followups/{fu.id}/edit",
        data={"csrf_token": token, "title": "覆盖", "due_at": due, "version": str(v0)},
    )
    assert r.status_code == 409 and "他人修改" in r.text and "覆盖" in r.text
    session.expire_all()
    saved = session.get(Followup, fu.id)
    assert saved.title == "新标题" and saved.version == v0 + 1
    # an empty title is refused beside the field
    r = client.post(
        f"/followups/{fu.id}/edit",
        data={"csrf_token": token, "title": "", "due_at": due, "version": str(saved.version)},
    )
    assert r.status_code == 422 and 'id="err-title"' in r.text
    assert "必填" in r.text and "String should" not in r.text  # the page's language, not pydantic's
    switch_language(client, "en")
    r = client.post(
        f"/followups/{fu.id}/edit",
        data={
            "csrf_token": token,
            "title": "",
            "due_at": "not a time",
            "version": str(saved.version),
        },
    )
    assert r.status_code == 422 and "Required" in r.text and "必填" not in r.text


def test_complete_and_cancel_from_the_list(client, session):
    me = make_user(session, "officer", make_department(session))
    a = make_followup(session, me, title="甲")
    b = make_followup(session, me, title="乙")
    session.commit()
    token = login(client, me)
    r = client.post(
        f"/followups/{a.id}/done", data={"back": "list", "version": a.version}, headers=hx(token)
    )
    assert r.status_code == 200 and f'id="fu-row-{a.id}"' in r.text and "已完成" in r.text
    r = client.post(
        f"/followups/{b.id}/cancel", data={"back": "list", "version": b.version}, headers=hx(token)
    )
    assert r.status_code == 200 and "已取消" in r.text
    session.expire_all()
    assert session.get(Followup, a.id).status == "done"
    assert session.get(Followup, b.id).status == "cancelled"
    # closing twice is refused
    r = client.post(
        f"/followups/{a.id}/cancel", data={"back": "list", "version": 2}, headers=hx(token)
    )
    assert r.status_code == 409
    # a page always sends the version it showed: without one, nothing changes
    r = client.post(f"/followups/{a.id}/cancel", data={"back": "list"}, headers=hx(token))
    assert r.status_code == 422


def test_a_bad_due_day_is_an_error_beside_the_field_never_a_500(client, session):
    me = make_user(session, "officer", make_department(session))
    make_followup(session, me, due_in=timedelta(days=1), title="明天的")
    session.commit()
    login(client, me)
    for q in ("due_from=0001-01-01", "due_to=9999-12-31", "due_from=garbage", "due_to=2026-02-30"):
        field = q.split("=")[0]
        r = client.get(f"/followups?{q}")
        assert r.status_code == 422, (q, r.status_code)
        assert f'name="{field}"' in r.text and 'aria-invalid="true"' in r.text, q
        # the error beside the field, tied to it for screen readers
        assert f'aria-describedby="err-{field}"' in r.text, q
        assert f'<span class="error" id="err-{field}">' in r.text and "明天的" in r.text, q
        assert client.get(f"/followups?{q}&format=xlsx").status_code == 422, q


def test_a_row_shows_its_values_escaped_its_link_and_whether_it_is_late(client, session):
    """The list's rows (built in Python, web/followup_rows.py): every value escaped, long notes
    cut at 80 characters, the project's link before the firm's, the overdue badge on open rows
    due before now only, the actions on open rows only, the toast on an action's answer."""
    me = make_user(session, "officer", make_department(session))
    firm = make_firm(session, name_zh="<b>甲&乙</b>")
    project = make_project(session, firm, "NB", owner=me, title='项目"丙"')
    late = make_followup(
        session, me, due_in=-timedelta(days=2), title="<script>x</script>", notes="说明" * 50
    )
    on_firm = make_followup(session, me, due_in=timedelta(days=3), firm_id=firm.id)
    on_both = make_followup(
        session, me, due_in=timedelta(days=4), firm_id=firm.id, project_id=project.id
    )
    closed = make_followup(session, me, due_in=-timedelta(days=3), status="done", title="做完")
    session.commit()
    token = login(client, me)
    r = client.get("/followups?status=all")
    assert r.status_code == 200
    rows = {
        f.id: r.text.split(f'<tr id="fu-row-{f.id}"')[1].split("</tr>")[0]
        for f in (late, on_firm, on_both, closed)
    }
    assert "&lt;script&gt;x&lt;/script&gt;" in rows[late.id] and "<script>x" not in r.text
    assert f'<div class="muted">{("说明" * 40)[:77]}...</div>' in rows[late.id]
    assert '<span class="badge overdue">逾期</span>' in rows[late.id]
    assert "overdue" not in rows[on_firm.id] and "overdue" not in rows[closed.id]
    assert f'<a href="/firms/{firm.id}">&lt;b&gt;甲&amp;乙&lt;/b&gt;</a>' in rows[on_firm.id]
    assert f'<a href="/projects/{project.id}">项目&#34;丙&#34;</a>' in rows[on_both.id]
    assert f'value="{token}"' in rows[late.id] and f"/followups/{late.id}/done" in rows[late.id]
    assert (
        "/done" not in rows[closed.id]
        and '<span class="status status-done">已完成</span>' in rows[closed.id]
    )
    r = client.post(
        f"/followups/{on_firm.id}/done",
        data={"back": "list", "version": on_firm.version},
        headers=hx(token),
    )
    assert r.status_code == 200 and r.text.count("<tr ") == 1
    assert '<div class="toast ok" role="status">已标记完成</div>' in r.text
