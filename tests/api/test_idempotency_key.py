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


def _every_count(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Every table's row count: a refused request leaves the whole database as it was."""
    from crm.models import metadata

    session.expire_all()
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in metadata.sorted_tables
    }


def _reused(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["error"] == "idempotency_key_reused", out
    assert "已用于另一次提交" in out["message"]
    assert "location" not in out  # the first request's record is no answer to this one


def test_a_key_reused_on_another_endpoint_is_refused_not_answered_as_submitted(
    client, session, people
):
    """ATTACK12 F2: the contact's key sent with a follow-up was answered 409 already_submitted
    naming the contact, and the follow-up was silently dropped. It is refused as a reuse
    (nothing recorded); the same follow-up with a new key records."""
    firm = make_firm(session, "键复用企业", owner_id=people.officer.id)
    session.commit()
    me = people.auth("officer")
    key = _key(200)
    contact = client.post(
        f"/api/v1/firms/{firm.id}/contacts", json={"name": "王五"}, headers={**me, **key}
    )
    assert contact.status_code == 201, contact.text
    before = _every_count(session)
    followup = {"title": "复用键的跟进", "due_at": "2030-01-02T09:00:00+08:00", "firm_id": firm.id}
    _reused(client.post("/api/v1/followups", json=followup, headers={**me, **key}))
    assert _every_count(session) == before
    # the client's retry with a fresh key records it
    r = client.post("/api/v1/followups", json=followup, headers={**me, **_key(201)})
    assert r.status_code == 201, r.text
    assert _every_count(session)["followup"] == before["followup"] + 1
    # and the key still answers its own request as before
    again = client.post(
        f"/api/v1/firms/{firm.id}/contacts", json={"name": "王五"}, headers={**me, **key}
    )
    assert again.status_code == 409 and again.json()["error"] == "already_submitted"
    assert again.json()["location"] == f"/api/v1/contacts/{contact.json()['id']}"


def test_a_key_reused_with_another_body_target_or_flag_is_refused(client, session, people):
    firm = make_firm(session, "键复用企业二", owner_id=people.officer.id)
    other = make_firm(session, "键复用企业三", owner_id=people.officer.id)
    session.commit()
    me = people.auth("officer")
    key = _key(300)
    body = {"kind": "call", "summary": "第一次", "firm_ids": [firm.id], "project_ids": []}
    first = client.post("/api/v1/activities", json=body, headers={**me, **key})
    assert first.status_code == 201, first.text
    before = _every_count(session)
    # same endpoint, other content: another record the client meant, not a retry
    _reused(
        client.post("/api/v1/activities", json={**body, "summary": "第二次"}, headers={**me, **key})
    )
    _reused(
        client.post(
            "/api/v1/activities", json={**body, "firm_ids": [other.id]}, headers={**me, **key}
        )
    )
    # the same contact added to another firm: another target in the path
    ckey = _key(301)
    assert (
        client.post(
            f"/api/v1/firms/{firm.id}/contacts", json={"name": "赵六"}, headers={**me, **ckey}
        ).status_code
        == 201
    )
    mid = _every_count(session)
    _reused(
        client.post(
            f"/api/v1/firms/{other.id}/contacts", json={"name": "赵六"}, headers={**me, **ckey}
        )
    )
    # a firm added, then the same key with confirm=true (a flag that changes what is written)
    fkey = _key(302)
    assert (
        client.post(
            "/api/v1/firms", json={"name_zh": "复用键新企业"}, headers={**me, **fkey}
        ).status_code
        == 201
    )
    after_firm = _every_count(session)
    _reused(
        client.post(
            "/api/v1/firms?confirm=true", json={"name_zh": "复用键新企业"}, headers={**me, **fkey}
        )
    )
    assert _every_count(session) == after_firm
    assert mid["contact"] == before["contact"] + 1
    assert mid["activity"] == before["activity"]
    # in English for an English reader
    people.officer.language = "en"
    session.add(people.officer)
    session.commit()
    en = client.post("/api/v1/activities", json={**body, "summary": "third"}, headers={**me, **key})
    assert en.status_code == 422 and en.json()["error"] == "idempotency_key_reused"
    assert "already used for a different submission" in en.json()["message"], en.json()


def test_a_retry_of_the_same_body_is_already_submitted_however_it_is_written(
    client, session, people
):
    """The digest is of the body as read (pydantic), not its bytes: another key order, other
    spacing, a default spelled out, a number written as a string where the schema reads one
    — the same request, answered 409 already_submitted, nothing recorded twice."""
    firm = make_firm(session, "重试企业", owner_id=people.officer.id)
    session.commit()
    me = people.auth("officer")
    key = _key(400)
    body = f'{{"title": "重试跟进", "due_at": "2030-01-02T09:00:00+08:00", "firm_id": {firm.id}}}'
    first = client.post(
        "/api/v1/followups", content=body, headers={**me, **key, "Content-Type": "application/json"}
    )
    assert first.status_code == 201, first.text
    once = _every_count(session)
    retry = f'{{ "firm_id":{firm.id},"due_at":"2030-01-02T01:00:00Z",   "title":"重试跟进" }}'
    again = client.post(
        "/api/v1/followups",
        content=retry,
        headers={**me, **key, "Content-Type": "application/json"},
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "already_submitted"
    assert again.json()["location"] == f"/api/v1/followups/{first.json()['id']}"
    assert _every_count(session) == once


def test_a_key_kept_before_the_digest_is_answered_as_before(client, session, people):
    """A key claimed before migration 0028 (no digest) is "already submitted" for any request
    with it, as it was."""
    from sqlalchemy import update

    firm = make_firm(session, "旧键企业", owner_id=people.officer.id)
    session.commit()
    me = people.auth("officer")
    key = _key(500)
    body = {"kind": "call", "summary": "旧键", "firm_ids": [firm.id]}
    assert client.post("/api/v1/activities", json=body, headers={**me, **key}).status_code == 201
    session.execute(update(FormSubmission).values(digest=None))
    session.commit()
    before = _every_count(session)
    r = client.post("/api/v1/activities", json={**body, "summary": "别的"}, headers={**me, **key})
    assert r.status_code == 409 and r.json()["error"] == "already_submitted", r.text
    assert _every_count(session) == before
