"""Duplicates and merging through the API: 409 with candidates unless confirmed; merge; undo."""

from __future__ import annotations

from crm.accounts.service import issue_api_token
from crm.models.firms import Firm
from tests.factories import make_firm, make_user


def test_region_qualified_name_is_409_with_candidates_unless_confirmed(client, people):
    h = people.auth("officer")
    hp = client.post("/api/v1/firms", json={"name_zh": "惠普", "name_en": "HP"}, headers=h).json()
    r = client.post("/api/v1/firms", json={"name_zh": "惠普（重庆）有限公司"}, headers=h)
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "duplicate_firm" and body["exact"] is False
    assert body["candidates"][0]["id"] == hp["id"]
    r = client.post(
        "/api/v1/firms", json={"name_zh": "HP (China) Co., Ltd."}, headers=h
    )  # the English form too
    assert r.status_code == 409 and r.json()["candidates"][0]["id"] == hp["id"]
    r = client.post(
        "/api/v1/firms?confirm=true", json={"name_zh": "惠普（重庆）有限公司"}, headers=h
    )
    assert r.status_code == 201
    # an alias another firm holds is refused, confirmed or not
    r = client.patch(
        f"/api/v1/firms/{r.json()['id']}",
        json={"aliases": ["HP"], "version": 1},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["field"] == "aliases"


def test_merge_and_undo(client, people):
    h, m = people.auth("officer"), people.auth("manager")
    hp = client.post("/api/v1/firms", json={"name_zh": "惠普"}, headers=h).json()
    dup = client.post(
        "/api/v1/firms?confirm=true",
        json={"name_zh": "中国惠普有限公司", "website": "https://hp.example"},
        headers=h,
    ).json()
    client.post(f"/api/v1/firms/{dup['id']}/contacts", json={"name": "李四"}, headers=h)
    assert (
        client.post(
            f"/api/v1/firms/{hp['id']}/merge",
            json={"other_id": dup["id"], "version": 1, "other_version": 1},
            headers=h,
        ).status_code
        == 403
    )
    pre = client.get(f"/api/v1/firms/{hp['id']}/merge?other_id={dup['id']}", headers=m).json()
    assert pre["other_holds"]["contacts"] == 1 and pre["differing"] == ["name_zh"]
    r = client.post(
        f"/api/v1/firms/{hp['id']}/merge",
        json={
            "other_id": dup["id"],
            "choices": {"name_zh": "survivor"},
            "version": hp["version"],
            "other_version": dup["version"],
        },
        headers=m,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["firm"]["aliases"] == ["中国惠普有限公司"]
    assert out["firm"]["website"] == "https://hp.example"
    assert client.get(f"/api/v1/firms/{dup['id']}", headers=m).status_code == 404
    contacts = client.get(f"/api/v1/firms/{hp['id']}/contacts", headers=m).json()
    assert [c["name"] for c in contacts["items"]] == ["李四"]
    r = client.post(f"/api/v1/firms/merges/{out['merge_id']}/undo", headers=m)
    assert r.status_code == 200, r.text
    back = client.get(f"/api/v1/firms/{dup['id']}", headers=m).json()
    assert back["name_zh"] == "中国惠普有限公司" and back["version"] == dup["version"]
    assert client.get(f"/api/v1/firms/{hp['id']}", headers=m).json()["aliases"] == []
    assert client.post(f"/api/v1/firms/merges/{out['merge_id']}/undo", headers=m).status_code == 409


def _row(session, model, id_):  # type: ignore[no-untyped-def]
    session.expire_all()
    row = session.get(model, id_)
    return None if row is None else row.model_dump()


def test_merge_and_undo_only_by_who_may_edit_the_firms(client, people, session):
    """A manager merges only firms they may edit (both: owned in their department, or
    ownerless); undo: an admin, or a manager who may edit the survivor. Refused: nothing
    changes. A firm is not merged with itself (preview 422 like the merge)."""
    m, adm = people.auth("manager"), people.auth("admin")
    other_manager = make_user(session, "manager", people.dept_b)
    mb = {"Authorization": f"Bearer {issue_api_token(session, other_manager)[0]}"}
    session.commit()
    fa = make_firm(session, "甲部门企业", owner_id=people.officer.id)
    fb = make_firm(session, "甲部门重复企业", owner_id=people.officer.id)
    session.commit()
    a, b = {"id": fa.id}, {"id": fb.id}
    before = (_row(session, Firm, a["id"]), _row(session, Firm, b["id"]))
    assert before[0]["owner_id"] == people.officer.id
    assert (
        client.patch(
            f"/api/v1/firms/{a['id']}", json={"notes": "x", "version": 1}, headers=mb
        ).status_code
        == 403
    )
    r = client.get(f"/api/v1/firms/{a['id']}/merge?other_id={b['id']}", headers=mb)
    assert r.status_code == 403, r.text
    both = {"other_id": b["id"], "version": 1, "other_version": 1}
    r = client.post(f"/api/v1/firms/{a['id']}/merge", json=both, headers=mb)
    assert r.status_code == 403, r.text
    assert (_row(session, Firm, a["id"]), _row(session, Firm, b["id"])) == before
    r = client.get(f"/api/v1/firms/{a['id']}/merge?other_id={a['id']}", headers=m)
    assert r.status_code == 422 and r.json()["field"] == "other_id"
    r = client.post(f"/api/v1/firms/{a['id']}/merge", json=both, headers=m)
    assert r.status_code == 200, r.text
    merge_id = r.json()["merge_id"]
    survivor = _row(session, Firm, a["id"])
    r = client.post(f"/api/v1/firms/merges/{merge_id}/undo", headers=mb)
    assert r.status_code == 403, r.text
    assert _row(session, Firm, a["id"]) == survivor and _row(session, Firm, b["id"]) is None
    r = client.post(f"/api/v1/firms/merges/{merge_id}/undo", headers=adm)
    assert r.status_code == 200, r.text
