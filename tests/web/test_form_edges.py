"""Edges of the create forms (ATTACK11 F7, F8): a picked value the form does not offer is
refused beside its field, nothing saved; an add under a firm deleted or merged away since the
page was shown says so (409, HTMX as a toast), never a bare "not found" page."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from crm.accounts.service import issue_api_token
from crm.firms.merge import merge_firms
from crm.firms.service import delete_firm
from crm.models.activities import Activity
from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_user
from tests.web.conftest import hx
from tests.web.conftest import log_in as login

GONE = "该企业已被删除或合并，本次未保存，请刷新后查看"


def _state(session, firm_id=None):  # type: ignore[no-untyped-def]
    session.expire_all()
    row = session.get(Firm, firm_id).model_dump() if firm_id else None
    counts = {
        m.__name__: session.scalar(select(func.count()).select_from(m))
        for m in (Activity, AuditRecord, Contact, Followup, Firm, Project)
    }
    return row, counts


def _world(session):  # type: ignore[no-untyped-def]
    dept = make_department(session)
    me = make_user(session, "officer", dept)
    boss = make_user(session, "manager", dept)
    firm = make_firm(session, "选项边界企业", owner_id=me.id)
    session.commit()
    return me, boss, firm


def _due() -> str:
    return (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def test_a_reminder_not_offered_is_refused_beside_it(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    before = _state(session, firm.id)
    for remind in ("7", "abc", "-15", "１５"):
        data = {
            "csrf_token": token,
            "kind": "visit",
            "summary": "提醒越界",
            "followup_title": "aa",
            "followup_due": _due(),
            "remind": remind,
        }
        r = client.post(f"/firms/{firm.id}/activities", data=data, headers=hx(token))
        assert r.status_code == 422, (remind, r.status_code)
        assert 'id="err-remind"' in r.text and "请从列表中选择" in r.text, remind
        assert 'aria-describedby="err-remind"' in r.text
        # the log-anywhere form (the project page's) too
        r = client.post(
            "/activities/new",
            data={**data, "firm_ids": str(firm.id)},
            headers=hx(token),
        )
        assert r.status_code == 422, (remind, r.status_code)
        assert 'id="err-remind"' in r.text and "请从列表中选择" in r.text, remind
        assert _state(session, firm.id) == before, remind
    # the offered ones are taken
    for remind in ("0", "15", "60", "1440"):
        r = client.post(
            f"/firms/{firm.id}/activities",
            data={
                "csrf_token": token,
                "kind": "visit",
                "summary": f"提醒 {remind}",
                "followup_title": "aa",
                "followup_due": _due(),
                "remind": remind,
            },
            headers=hx(token),
        )
        assert r.status_code == 200, remind


def test_other_picked_values_not_offered_are_refused(client, session):
    """The other select-backed fields of the create forms: each refused beside its field or
    at the form's top, nothing saved."""
    me, _, firm = _world(session)
    token = login(client, me)
    before = _state(session, firm.id)
    base = {"csrf_token": token, "kind": "visit", "summary": "选项"}
    refused = [
        {"kind": "dance"},
        {"project_id": "999999"},
        {"contact_ids": "999999"},
    ]
    for extra in refused:
        r = client.post(f"/firms/{firm.id}/activities", data={**base, **extra}, headers=hx(token))
        assert r.status_code == 422, extra
        assert _state(session, firm.id) == before, extra
    due = _due()
    for extra in ({"assignee_id": "999999"}, {"assignee_id": "abc"}):
        r = client.post(
            "/followups/new",
            data={"csrf_token": token, "title": "t", "due_at": due, "firm_id": str(firm.id)}
            | extra,
        )
        assert r.status_code == 422, extra
        assert 'id="err-assignee_id"' in r.text or "alert error" in r.text, extra
        assert _state(session, firm.id) == before, extra


def _delete(session, boss, firm):  # type: ignore[no-untyped-def]
    delete_firm(session, boss, firm.id, firm.version)
    session.commit()


def test_adding_under_a_deleted_firm_says_so(client, session):
    me, boss, firm = _world(session)
    token = login(client, me)
    page = client.get(f"/firms/{firm.id}").text
    assert "submission_key" in page
    _delete(session, boss, firm)
    _, before = _state(session)
    posts = [
        (f"/firms/{firm.id}/activities", {"kind": "visit", "summary": "删后记录"}),
        (f"/firms/{firm.id}/contacts", {"name": "李四"}),
        ("/followups/new", {"title": "删后跟进", "due_at": _due(), "firm_id": str(firm.id)}),
        (
            "/activities/new",
            {"kind": "visit", "summary": "删后多家", "firm_ids": str(firm.id)},
        ),
    ]
    for url, data in posts:
        plain = client.post(url, data={"csrf_token": token, **data})
        assert plain.status_code in (409, 422), (url, plain.status_code)
        assert GONE in plain.text, url
        assert "企业不存在" not in plain.text, url
        r = client.post(url, data={"csrf_token": token, **data}, headers=hx(token))
        assert r.status_code in (409, 422), (url, r.status_code)
        if r.headers.get("HX-Reswap") == "none":  # no form to show it in: a toast
            toast = json.loads(r.headers["HX-Trigger"])["crm:toast"]
            assert toast["message"] == GONE, url
        else:
            assert GONE in r.text, url
        assert _state(session)[1] == before, url


def test_adding_under_a_merged_firm_says_where_it_went(client, session):
    me, boss, firm = _world(session)
    survivor = make_firm(session, "合并后的企业", owner_id=me.id)
    session.commit()
    token = login(client, me)
    merge_firms(session, boss, survivor.id, firm.id)
    session.commit()
    _, before = _state(session)
    for url, data in (
        (f"/firms/{firm.id}/activities", {"kind": "visit", "summary": "并后记录"}),
        (f"/firms/{firm.id}/contacts", {"name": "王五"}),
        ("/followups/new", {"title": "并后跟进", "due_at": _due(), "firm_id": str(firm.id)}),
    ):
        r = client.post(url, data={"csrf_token": token, **data}, headers=hx(token))
        assert r.status_code == 409, (url, r.status_code)
        toast = json.loads(r.headers["HX-Trigger"])["crm:toast"]
        assert "合并后的企业" in toast["message"], url
        assert _state(session)[1] == before, url
    # the API says so too, with the firm it went into
    api_token = issue_api_token(session, me)[0]
    session.commit()
    r = client.post(
        f"/api/v1/firms/{firm.id}/contacts",
        json={"name": "赵六"},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert r.status_code == 409, r.text
    assert r.json()["merged_into"] == survivor.id
    assert _state(session)[1] == before


def test_project_and_firm_forms_refuse_choices_they_do_not_offer(client, session):
    me, _, firm = _world(session)
    token = login(client, me)
    before = _state(session, firm.id)
    base = {"csrf_token": token, "title": "选项项目", "firm_id": str(firm.id), "cluster": "NB"}
    for extra in (
        {"cluster": "ZZZ"},
        {"park": "ZZZ"},
        {"chain_link": "ZZZ"},
        {"stage": "flying"},
        {"owner_id": "999999"},
        {"owner_id": "abc"},
    ):
        r = client.post("/projects/new", data=base | extra)
        assert r.status_code in (409, 422), (extra, r.status_code)
        field = next(iter(extra))
        assert f'id="err-{field}"' in r.text or 'class="alert error"' in r.text, extra
        assert _state(session, firm.id) == before, extra
    for extra in ({"clusters": "ZZZ"}, {"owner_id": "999999"}, {"parent_id": "999999"}):
        r = client.post(
            "/firms/new", data={"csrf_token": token, "name_zh": "选项新企业有限公司"} | extra
        )
        assert r.status_code in (403, 409, 422), (extra, r.status_code)
        assert _state(session, firm.id) == before, extra
