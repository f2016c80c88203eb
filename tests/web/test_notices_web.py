"""The header bell, the notice list, and the conflicts list with its resolve action."""

from __future__ import annotations

from crm.models.projects import Project
from crm.notices.service import firm_merged
from tests.crm.test_notices import conflict, world
from tests.factories import make_department, make_firm, make_user
from tests.web.conftest import log_in, switch_language


def test_bell_notices_and_resolving_a_conflict(client, login, session):
    w = world(session)
    first, later = conflict(session, w)
    login(w["mb"])
    page = client.get("/")
    assert 'hx-get="/notices/badge"' in page.text and 'href="/conflicts"' in page.text
    assert ">1<" in client.get("/notices/badge").text
    notices = client.get("/notices").text
    assert "雪松" in notices and "撞单集团笔记本基地" not in notices
    listing = client.get("/conflicts")
    assert listing.status_code == 200 and "雪松" in listing.text
    r = client.post("/notices/read", data=login.csrf, follow_redirects=False)
    assert r.status_code == 303 and ">1<" not in client.get("/notices/badge").text
    # department B's manager may not close or take department A's (first, confidential)
    # project: a message on the page, nothing changes
    session.expire_all()
    before = session.get(Project, first.id).model_dump()
    r = client.post(
        "/conflicts/resolve",
        data={"first_id": first.id, "later_id": later.id, "keep": "later", "action": "transfer"}
        | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 403 and "只能关闭或移交本部门的项目" in r.text
    session.expire_all()
    assert session.get(Project, first.id).model_dump() == before
    r = client.post(
        "/conflicts/resolve",
        data={"first_id": first.id, "later_id": later.id, "keep": "first", "action": "close"}
        | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Project, later.id).stage == "lost"
    assert "雪松" not in client.get("/conflicts").text


def test_the_later_officer_sees_no_detail_of_the_hidden_first_project(client, login, session):
    w = world(session)
    _, later = conflict(session, w)
    login(w["ob"])
    page = client.get(f"/projects/{later.id}").text
    assert "已通知您的主管" in page
    assert "雪松" not in page and w["a"].name not in page
    assert client.get("/conflicts").status_code == 403
    assert client.get("/notices/badge").text.strip() == ""


def test_manager_home_page(client, login, session):
    w = world(session)
    conflict(session, w)
    login(w["ma"])
    page = client.get("/").text
    assert 'id="manager-home"' in page and "雪松" in page and "/reports/briefing" in page
    login(w["oa"])
    assert 'id="manager-home"' not in client.get("/").text


def test_a_notice_reads_in_the_readers_language(client, session):
    me = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "合并测试企业")
    firm_merged(session, {me.id}, firm.id, "合并测试企业")
    session.commit()
    log_in(client, me)
    assert "你的企业已合并：合并测试企业" in client.get("/notices").text
    switch_language(client, "en")
    page = client.get("/notices").text
    assert "Your firm was merged: 合并测试企业" in page and "你的企业已合并" not in page
