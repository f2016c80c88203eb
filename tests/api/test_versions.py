"""Every change through the API carries the version its caller read: without it the answer is
422 with a JSON error naming ``version``; with a stale one 409 and the current record; either
way nothing changes (the whole row and the audit trail are compared)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import Project, StageChange
from tests.factories import make_firm, make_followup, make_project


def _state(session):  # type: ignore[no-untyped-def]
    session.expire_all()
    return {
        m.__name__: sorted(
            (r.id, tuple(sorted(r.model_dump().items()))) for r in session.scalars(select(m))
        )
        for m in (Firm, Contact, Project, Followup, StageChange)
    } | {"audit": session.scalar(select(func.count()).select_from(AuditRecord))}


@pytest.fixture
def things(session, people):  # type: ignore[no-untyped-def]
    firm = make_firm(session, "版本企业", owner_id=people.officer.id)
    contact = Contact(firm_id=firm.id, name="联系人")
    session.add(contact)
    project = make_project(session, firm, "NB", "contacted", owner=people.officer)
    fu = make_followup(session, people.officer, due_in=timedelta(days=1), firm_id=firm.id)
    session.commit()
    return {"firm": firm, "contact": contact, "project": project, "followup": fu}


CALLS = [
    ("post", "/api/v1/followups/{followup}/complete", None),
    ("post", "/api/v1/followups/{followup}/cancel", None),
    ("delete", "/api/v1/followups/{followup}", None),
    ("delete", "/api/v1/contacts/{contact}", None),
    ("delete", "/api/v1/projects/{project}", None),
    ("post", "/api/v1/projects/{project}/stage", {"stage": "negotiating"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_a_change_without_its_version_is_422(client, people, session, things, method, path, body):  # type: ignore[no-untyped-def]
    url = path.format(**{k: v.id for k, v in things.items()})
    before = _state(session)
    kw = {"json": body} if body is not None else {}
    r = client.request(method.upper(), url, headers=people.auth("officer"), **kw)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["error"] == "validation_error" and err["field"] == "version"
    assert "Traceback" not in r.text
    assert _state(session) == before
    # a stale one: 409 with the record as it is now, and still nothing changed
    kw = {"json": {**body, "version": 7}} if body is not None else {"params": {"version": 7}}
    r = client.request(method.upper(), url, headers=people.auth("officer"), **kw)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "stale_version"
    assert _state(session) == before
    # the right one goes through
    kw = {"json": {**body, "version": 1}} if body is not None else {"params": {"version": 1}}
    r = client.request(method.upper(), url, headers=people.auth("officer"), **kw)
    assert r.status_code in (200, 204), r.text
    assert _state(session) != before


def test_the_openapi_document_says_the_version_is_required(client):  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").json()
    for method, path, body in CALLS:
        op = doc["paths"][
            path.replace("{followup}", "{followup_id}")
            .replace("{contact}", "{contact_id}")
            .replace("{project}", "{project_id}")
        ][method]
        if body is None:
            (param,) = [p for p in op["parameters"] if p["name"] == "version"]
            assert param["required"] is True and param["in"] == "query", path
        else:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert "version" in schema["required"], path


PATCHES = {
    "/api/v1/projects/{project}": (
        "title park chain_link planned_investment expected_output expected_jobs actual_jobs "
        "owner_id is_confidential code_name notes expected_sign_date"
    ),
    "/api/v1/firms/{firm}": (
        "name_zh name_en aliases clusters is_leader country headquarters global500_rank "
        "website credit_code parent_id owner_id notes"
    ),
    "/api/v1/contacts/{contact}": "name title phone email wechat notes",
    "/api/v1/followups/{followup}": "title notes due_at remind_at assignee_id",
    "/api/v1/activities/{activity}": (
        "kind occurred_at summary outcome firm_ids project_ids contact_ids officer_ids"
    ),
    "/api/v1/users/{user}": "display_name email role department_id is_active",
    "/api/v1/departments/{department}": "name code",
    "/api/v1/me": "display_name email language",
}


@pytest.mark.parametrize("path", sorted(PATCHES))
def test_null_on_any_field_of_a_change_is_never_a_server_error(
    client, people, session, things, path
):  # type: ignore[no-untyped-def]
    """null on a required field (a project's title, a firm's name…) is a 422 naming the field
    and changes nothing; on an optional one it clears it. Never a 500."""
    ids = {k: v.id for k, v in things.items()} | {
        "user": people.officer_b.id,
        "department": people.dept_b.id,
    }
    if "{activity}" in path:
        r = client.post(
            "/api/v1/activities",
            headers=people.auth("admin"),
            json={
                "kind": "visit",
                "occurred_at": "2026-01-05T10:00:00+08:00",
                "summary": "拜访",
                "firm_ids": [ids["firm"]],
            },
        )
        assert r.status_code == 201, r.text
        ids["activity"] = r.json()["activity"]["id"]
    url = path.format(**ids)
    for field in PATCHES[path].split():
        before = _state(session)
        version = client.get(url, headers=people.auth("admin")).json()["version"]
        r = client.patch(url, headers=people.auth("admin"), json={field: None, "version": version})
        assert r.status_code in (200, 422), (field, r.status_code, r.text)
        if r.status_code == 422:
            assert r.json()["field"] == field, r.text
            assert _state(session) == before, field
