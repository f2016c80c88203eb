"""Control characters and direction overrides in a project's, firm's or contact's text, and a
title with nothing visible, are refused beside the field — through the API, a page form and an
import alike (all read the same schemas: crm.schemas.Bounded) — and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.imports.service import import_contacts, import_firms
from crm.models.firms import Contact, Firm
from tests.factories import make_firm, make_project
from tests.web.conftest import log_in

BAD = {
    "a\x07b": "不能包含控制字符或文字方向控制符",  # BEL
    "a\x1bb": "不能包含控制字符或文字方向控制符",  # ESC
    "合同\u202efdp.exe": "不能包含控制字符或文字方向控制符",  # right-to-left override
    "\u2067名\u2069": "不能包含控制字符或文字方向控制符",  # an isolate
    "\u200b\u200b": "不能只有不可见字符",  # zero-width spaces only
}


@pytest.mark.parametrize("value", list(BAD))
def test_the_api_refuses_them_in_a_project_firm_and_contact(client, people, session, value):
    firm = make_firm(session, "长安福特")
    p = make_project(session, firm, "NB", owner=people.officer, title="长安福特-NB")
    firm.owner_id = people.officer.id
    session.add(firm)
    session.commit()
    h = people.auth("officer")
    before = client.get(f"/api/v1/projects/{p.id}", headers=h).json()
    for field in ("title", "notes", "code_name"):
        r = client.patch(f"/api/v1/projects/{p.id}", headers=h, json={field: value, "version": 1})
        assert r.status_code == 422 and r.json()["field"] == field, (field, r.text)
        assert BAD[value] in r.json()["message"]
    assert client.get(f"/api/v1/projects/{p.id}", headers=h).json() == before
    r = client.patch(f"/api/v1/firms/{firm.id}", headers=h, json={"name_zh": value, "version": 1})
    assert r.status_code == 422 and r.json()["field"] == "name_zh", r.text
    r = client.post(f"/api/v1/firms/{firm.id}/contacts", headers=h, json={"name": value})
    assert r.status_code == 422 and r.json()["field"] == "name", r.text
    # tabs and line breaks are text (notes keep their lines)
    r = client.patch(
        f"/api/v1/projects/{p.id}", headers=h, json={"notes": "一\r\n二\t三", "version": 1}
    )
    assert r.status_code == 200, r.text


def test_an_import_row_with_them_is_refused_by_field(session, people):
    firm = make_firm(session, "望江工业")
    firm.owner_id = people.manager.id
    session.add(firm)
    session.flush()
    before = session.scalar(select(func.count()).select_from(Firm))
    rep = import_firms(
        session,
        people.manager,
        "企业名称,英文名称\n甲科技,Alpha\n乙\u202e科技,Beta\n丙科技,Ga\x07mma\n".encode(),
        "firms.csv",
    )
    assert not rep.applied
    assert {(e.row, e.field) for e in rep.rejected} == {(3, "name_zh"), (4, "name_en")}
    assert session.scalar(select(func.count()).select_from(Firm)) == before
    rep = import_contacts(
        session, people.manager, "企业名称,姓名\n望江工业,\u200b\n".encode(), "c.csv"
    )
    assert not rep.applied and [(e.row, e.field) for e in rep.rejected] == [(2, "name")]
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_the_project_form_shows_the_refusal_beside_the_title(client, people, session):
    firm = make_firm(session, "长安福特")
    p = make_project(session, firm, "NB", owner=people.officer, title="长安福特-NB")
    session.commit()
    token = log_in(client, people.officer)
    r = client.post(
        f"/projects/{p.id}/edit",
        data={"title": "\u202e\u202d", "version": "1", "csrf_token": token},
    )
    assert r.status_code == 422 and 'id="err-title"' in r.text
    assert "不能包含控制字符或文字方向控制符" in r.text
    session.refresh(p)
    assert p.title == "长安福特-NB" and p.version == 1
