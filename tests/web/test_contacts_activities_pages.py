"""The contacts list and the activities page: searched, sorted, paged, and exported as shown
(page button and API ``format=xlsx``/``Accept``), in the reader's language; an activity tied to
another department's confidential project is neither listed nor exported."""

from __future__ import annotations

import io
from datetime import timedelta

from python_calamine import CalamineWorkbook

from crm.accounts.service import issue_api_token
from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.models.firms import Contact
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user
from tests.web.conftest import log_in, switch_language

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def contacts(session):
    a = make_firm(session, "阿尔法科技", name_en="Zeta Tech")
    b = make_firm(session, "泽塔电子", name_en="Alpha Electronics")
    for firm, name, phone in (
        (a, "王五", "023-1"),
        (a, "Bob Smith", "023-2"),
        (b, "李四", "023-3"),
    ):
        session.add(Contact(firm_id=firm.id, name=name, phone=phone))
    session.flush()
    return a, b


def test_the_contacts_list_searches_sorts_and_exports_as_shown(client, session):
    me = make_user(session, "officer", make_department(session))
    contacts(session)
    session.commit()
    log_in(client, me)
    page = client.get("/firms").text
    assert 'href="/contacts"' in page
    html = client.get("/contacts?q=023-3").text
    assert "李四" in html and "王五" not in html and "泽塔电子" in html
    # sorted by the firm: pinyin on the Chinese page (阿尔法 a… before 泽塔 z…)
    html = client.get("/contacts?sort=firm").text
    assert html.index("阿尔法科技") < html.index("泽塔电子")
    assert 'aria-sort="ascending"' in html and "sort=-firm" in html
    assert client.get("/contacts?sort=-firm").text.index("泽塔电子") < client.get(
        "/contacts?sort=-firm"
    ).text.index("阿尔法科技")
    rows = sheet(client.get("/contacts?sort=firm&format=xlsx").content)
    assert rows[0][:2] == ["编号", "姓名"] and [r[4] for r in rows[1:]] == [
        "阿尔法科技",
        "阿尔法科技",
        "泽塔电子",
    ]
    assert len(sheet(client.get("/contacts?q=王五&format=xlsx").content)) == 2  # as filtered
    # the English page: English headers, the firms by their English names and sorted by them
    switch_language(client, "en")
    html = client.get("/contacts?sort=firm").text
    assert html.index("Alpha Electronics") < html.index("Zeta Tech")
    rows = sheet(client.get("/contacts?sort=firm&format=xlsx").content)
    assert rows[0][:2] == ["ID", "Name"]
    assert [r[4] for r in rows[1:]] == ["Alpha Electronics", "Zeta Tech", "Zeta Tech"]


def test_the_contacts_api_lists_and_exports(client, session):
    me = make_user(session, "officer", make_department(session))
    a, _ = contacts(session)
    auth = {"Authorization": f"Bearer {issue_api_token(session, me)[0]}"}
    session.commit()
    r = client.get("/api/v1/contacts", params={"q": "bob"}, headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["firm"] == "阿尔法科技"
    assert body["items"][0]["firm_id"] == a.id
    r = client.get("/api/v1/contacts", params={"sort": "name"}, headers={"Accept": XLSX} | auth)
    assert r.headers["content-type"] == XLSX and len(sheet(r.content)) == 4
    r = client.get("/api/v1/contacts", params={"limit": 0}, headers=auth)
    assert r.status_code == 422


def test_the_activities_page_lists_and_exports_only_what_the_reader_may_see(client, session):
    d, other = make_department(session), make_department(session)
    me = make_user(session, "officer", d, display_name="记录人甲")
    them = make_user(session, "officer", other)
    firm = make_firm(session, "接触企业", name_en="Contact Corp")
    secret = make_project(session, firm, "NB", owner=them, title="别部门保密项目")
    secret.is_confidential, secret.code_name = True, "代号乙"
    session.flush()
    log_activity(
        session,
        me,
        ActivityCreate(
            kind="visit",
            summary="上门拜访接触企业",
            firm_ids=[firm.id],
            occurred_at=utcnow() - timedelta(days=1),
        ),
    )
    log_activity(session, me, ActivityCreate(kind="call", summary="电话回访", firm_ids=[firm.id]))
    log_activity(
        session,
        them,
        ActivityCreate(
            kind="meeting", summary="别部门机密会谈", firm_ids=[firm.id], project_ids=[secret.id]
        ),
    )
    session.commit()
    log_in(client, me)
    html = client.get("/activities").text
    assert 'href="/activities"' in html  # in the menu
    assert "上门拜访接触企业" in html and "电话回访" in html and "记录人甲" in html
    assert "别部门机密会谈" not in html
    html = client.get("/activities?kind=visit").text
    assert "上门拜访接触企业" in html and "电话回访" not in html
    rows = sheet(client.get("/activities?format=xlsx").content)
    text = str(rows)
    assert rows[0][:3] == ["编号", "发生时间", "方式"]
    assert "上门拜访接触企业" in text and "拜访" in text and "别部门机密会谈" not in text
    assert len(sheet(client.get("/activities?kind=call&format=xlsx").content)) == 2
    switch_language(client, "en")
    rows = sheet(client.get("/activities?kind=visit&format=xlsx").content)
    assert rows[0][:3] == ["ID", "When", "Kind"] and rows[1][2] == "Visit"
    assert "Contact Corp" in str(rows)


def test_the_firm_list_sorts_names_by_the_readers_script(client, session):
    me = make_user(session, "officer", make_department(session))
    make_firm(session, "阿尔法科技", name_en="Zeta Tech")
    make_firm(session, "泽塔电子", name_en="Alpha Electronics")
    session.commit()
    log_in(client, me)
    html = client.get("/firms?sort=name").text  # pinyin: a… before z…
    assert html.index("阿尔法科技") < html.index("泽塔电子")
    switch_language(client, "en")
    html = client.get("/firms?sort=name").text  # English names: Alpha… before Zeta…
    assert html.index("Alpha Electronics") < html.index("Zeta Tech")
    assert 'aria-sort="ascending"' in html
    rows = sheet(client.get("/firms/export.xlsx?sort=name").content)
    assert [r[1] for r in rows[1:]] == ["泽塔电子", "阿尔法科技"]  # the export as shown
