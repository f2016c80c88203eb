"""The API's adds take an optional Idempotency-Key header (``crm.submissions``, as the pages'
create forms): the first request with it records; the same key again — the caller's own —
records nothing and gets 409 ``already_submitted`` naming the record the first one made.
Without the header nothing changes; a refused request leaves the key free."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models.activities import Activity
from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.projects import CapitalArrival, Project
from crm.models.submissions import FormSubmission
from tests.factories import make_firm, make_project


def _counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return {
        m.__name__: session.scalar(select(func.count()).select_from(m)) or 0
        for m in (Activity, AuditRecord, Contact, Followup, Firm, Project, CapitalArrival)
    }


def _key(n: int) -> dict[str, str]:
    return {"Idempotency-Key": f"api-test-key-{n:08d}"}


def test_each_add_records_once_per_key(client, session, people):
    firm = make_firm(session, "幂等企业", owner_id=people.officer.id)
    signed = make_project(session, firm, "NB", "signed", owner=people.officer)
    session.commit()
    me = people.auth("officer")
    adds = [
        ("/api/v1/firms", {"name_zh": "蓝鲸海洋科技有限公司"}, "Firm", "/api/v1/firms/"),
        (f"/api/v1/firms/{firm.id}/contacts", {"name": "李四"}, "Contact", "/api/v1/contacts/"),
        (
            "/api/v1/activities",
            {"kind": "call", "summary": "幂等记录", "firm_ids": [firm.id]},
            "Activity",
            "/api/v1/activities/",
        ),
        (
            "/api/v1/followups",
            {"title": "幂等跟进", "due_at": "2030-01-02T09:00:00+08:00", "firm_id": firm.id},
            "Followup",
            "/api/v1/followups/",
        ),
        (
            "/api/v1/projects",
            {"title": "幂等项目", "firm_id": firm.id, "cluster": "NB"},
            "Project",
            "/api/v1/projects/",
        ),
        (
            f"/api/v1/projects/{signed.id}/capital",
            {"amount": "1.5", "arrived_on": "2026-11-01"},
            "CapitalArrival",
            f"/api/v1/projects/{signed.id}/capital",
        ),
    ]
    for n, (url, body, model, where) in enumerate(adds):
        before = _counts(session)
        first = client.post(url, json=body, headers={**me, **_key(n)})
        assert first.status_code == 201, (url, first.text)
        once = _counts(session)
        assert once[model] == before[model] + 1, url
        again = client.post(url, json=body, headers={**me, **_key(n)})
        assert again.status_code == 409, (url, again.text)
        out = again.json()
        assert out["error"] == "already_submitted", url
        assert out["location"].startswith(where), (url, out)
        if model != "CapitalArrival":
            assert out["location"] == where + str(
                first.json().get("id") or first.json()["activity"]["id"]
            )
        assert _counts(session) == once, url


def test_without_the_header_nothing_changes_and_keys_are_per_user(client, session, people):
    firm = make_firm(session, "幂等企业二", owner_id=people.officer.id)
    session.commit()
    body = {"kind": "call", "summary": "无键", "firm_ids": [firm.id]}
    before = _counts(session)
    for _ in range(2):
        assert (
            client.post("/api/v1/activities", json=body, headers=people.auth("officer")).status_code
            == 201
        )
    assert _counts(session)["Activity"] == before["Activity"] + 2
    key = _key(99)
    assert (
        client.post(
            "/api/v1/activities", json=body, headers={**people.auth("officer"), **key}
        ).status_code
        == 201
    )
    # another user's request with my key is theirs: recorded
    r = client.post("/api/v1/activities", json=body, headers={**people.auth("officer_b"), **key})
    assert r.status_code == 201, r.text
    assert _counts(session)["Activity"] == before["Activity"] + 4
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(FormSubmission)) == 2


def test_a_bad_or_refused_request_leaves_the_key(client, session, people):
    firm = make_firm(session, "幂等企业三", owner_id=people.officer.id)
    session.commit()
    me = people.auth("officer")
    for bad in ("short", "x" * 65, "has space in it....", "中文键中文键中文键中文键中文键中文键"):
        r = client.post(
            "/api/v1/activities",
            json={"kind": "call", "summary": "坏键", "firm_ids": [firm.id]},
            headers={**me, "Idempotency-Key": bad.encode("utf-8")},
        )
        assert r.status_code == 422, (bad, r.text)
    before = _counts(session)
    key = _key(7)
    refused = client.post(
        "/api/v1/activities",
        json={"kind": "call", "summary": "拒绝", "firm_ids": [firm.id], "project_ids": [999999]},
        headers={**me, **key},
    )
    assert refused.status_code == 422, refused.text
    assert _counts(session) == before
    ok = client.post(
        "/api/v1/activities",
        json={"kind": "call", "summary": "拒绝后", "firm_ids": [firm.id]},
        headers={**me, **key},
    )
    assert ok.status_code == 201, ok.text
    assert _counts(session)["Activity"] == before["Activity"] + 1
