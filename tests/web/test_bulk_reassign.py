"""Bulk reassignment from the firm list and the pipeline table: the rows' checkboxes, the bar,
and the rules of crm.reassign (managers within their department, admins all, officers none,
a hidden confidential project neither shown nor reassignable)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from sqlalchemy import select

from crm.models.audit import AuditRecord
from crm.models.firms import Firm
from crm.models.projects import Project
from tests.factories import make_department, make_firm, make_project, make_user


def boxes(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'name="ids" value="(\d+)" form="bulk-reassign"', html)}


def test_a_manager_reassigns_selected_firms_from_the_list(client, login, session):
    d, other = make_department(session), make_department(session)
    manager = make_user(session, "manager", d)
    a, b = make_user(session, "officer", d), make_user(session, "officer", d)
    stranger = make_user(session, "officer", other)
    f1 = make_firm(session, "批量甲企业", owner_id=a.id)
    f2 = make_firm(session, "批量乙企业", owner_id=a.id)
    f3 = make_firm(session, "别部门企业", owner_id=stranger.id)
    session.commit()
    login(manager)
    page = client.get("/firms")
    assert {f1.id, f2.id, f3.id} <= boxes(page.text)
    assert 'id="bulk-reassign"' in page.text and "data-select-all" in page.text
    # the picker offers the department's people only (crm.authz.owner_choices)
    picker = page.text.split('id="bulk-to"', 1)[1].split("</select>", 1)[0]
    assert f'value="{b.id}"' in picker and f'value="{stranger.id}"' not in picker
    # the HTMX swap of the results keeps the checkboxes
    assert f1.id in boxes(client.get("/firms?q=批量", headers=login.htmx).text)

    r = client.post(
        "/firms/reassign",
        data={
            "ids": [str(f1.id), str(f2.id)],
            "to_user_id": str(b.id),
            "back": "/firms?q=批量&reassigned=9",
        }
        | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert unquote(r.headers["location"]) == "/firms?q=批量&reassigned=2"
    session.expire_all()
    assert session.get(Firm, f1.id).owner_id == session.get(Firm, f2.id).owner_id == b.id
    audit = session.scalar(select(AuditRecord).where(AuditRecord.action == "reassign"))
    after = json.loads(audit.after)
    assert after["ids"] == [f1.id, f2.id] and after["to"] == b.id
    assert "已转交 2 条记录" in client.get(r.headers["location"]).text

    # another department's firm: refused beside the picker, nothing changed (all or nothing)
    r = client.post(
        "/firms/reassign",
        data={"ids": [str(f1.id), str(f3.id)], "to_user_id": str(a.id)} | login.csrf,
        headers=login.htmx,
    )
    assert r.status_code == 403 and 'id="bulk-error"' in r.text and "本部门" in r.text
    session.expire_all()
    assert session.get(Firm, f1.id).owner_id == b.id
    assert session.get(Firm, f3.id).owner_id == stranger.id
    # to someone of another department: refused too
    r = client.post(
        "/firms/reassign",
        data={"ids": [str(f1.id)], "to_user_id": str(stranger.id)} | login.csrf,
        headers=login.htmx,
    )
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    # nothing selected, no one chosen: said beside the bar, on its own page without HTMX
    r = client.post("/firms/reassign", data={"to_user_id": str(b.id)} | login.csrf)
    assert r.status_code == 422 and 'role="alert"' in r.text and 'id="bulk-reassign"' in r.text
    r = client.post("/firms/reassign", data={"ids": [str(f1.id)]} | login.csrf)
    assert r.status_code == 422 and f'name="ids" value="{f1.id}"' in r.text  # selection kept
    # the back link never leaves the list
    r = client.post(
        "/firms/reassign",
        data={"ids": [str(f1.id)], "to_user_id": str(a.id), "back": "https://evil.example/firms"}
        | login.csrf,
        follow_redirects=False,
    )
    assert r.headers["location"] == "/firms?reassigned=1"


def test_officers_get_no_bar_and_cannot_post_it(client, login, session):
    d = make_department(session)
    me, colleague = make_user(session, "officer", d), make_user(session, "officer", d)
    f = make_firm(session, "本人企业", owner_id=me.id)
    session.commit()
    login(me)
    page = client.get("/firms")
    assert not boxes(page.text) and 'id="bulk-reassign"' not in page.text
    assert not boxes(client.get("/pipeline?view=table").text)
    r = client.post(
        "/firms/reassign", data={"ids": [str(f.id)], "to_user_id": str(colleague.id)} | login.csrf
    )
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Firm, f.id).owner_id == me.id


def test_the_pipeline_table_reassigns_and_keeps_hidden_projects_hidden(client, login, session):
    d, other = make_department(session), make_department(session)
    admin = make_user(session, "admin")
    manager = make_user(session, "manager", d)
    a, b = make_user(session, "officer", d), make_user(session, "officer", d)
    stranger = make_user(session, "officer", other)
    firm = make_firm(session, "管线批量企业")
    p1 = make_project(session, firm, "NB", "lead", owner=a, title="批量项目一")
    p2 = make_project(session, firm, "NB", "lead", owner=a, title="批量项目二")
    theirs = make_project(session, firm, "NB", "lead", owner=stranger, title="别部门项目")
    session.commit()
    login(manager)
    page = client.get("/pipeline?view=table")
    assert {p1.id, p2.id, theirs.id} <= boxes(page.text)
    r = client.post(
        "/pipeline/reassign",
        data={"ids": [str(p1.id), str(p2.id)], "to_user_id": str(b.id)} | login.csrf,
        headers=login.htmx,
    )
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/pipeline?reassigned=2"
    r = client.post(
        "/pipeline/reassign",
        data={"ids": [str(theirs.id)], "to_user_id": str(b.id)} | login.csrf,
        headers=login.htmx,
    )
    assert r.status_code == 403  # another department's project: not the manager's to give
    session.expire_all()
    assert session.get(Project, p1.id).owner_id == b.id
    assert session.get(Project, theirs.id).owner_id == stranger.id

    # an admin may give any row to anyone of its department — not across departments
    # (ATTACK8 P2-2: owner and department would disagree): a clear error, nothing changed
    colleague = make_user(session, "officer", other)
    session.commit()
    client.cookies.clear()
    login(admin)
    r = client.post(
        "/pipeline/reassign",
        data={"ids": [str(theirs.id)], "to_user_id": str(a.id)} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 422 and f"负责人须是项目所属部门的人员：{theirs.id}" in r.text
    session.expire_all()
    assert session.get(Project, theirs.id).owner_id == stranger.id
    r = client.post(
        "/pipeline/reassign",
        data={"ids": [str(theirs.id)], "to_user_id": str(colleague.id)} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Project, theirs.id).owner_id == colleague.id
