"""ATTACK7's small findings on the API: a merge body with an unknown field or without the
versions (P3-9), a robot PUT without ``kind`` (P3-10). Refused with 422; nothing changes."""

from __future__ import annotations

from crm.models.accounts import Department
from crm.models.firms import Firm
from tests.factories import make_firm


def test_a_merge_body_refuses_unknown_fields_and_requires_both_versions(client, people, session):
    m = people.auth("manager")
    a = make_firm(session, "甲企业", owner_id=people.officer.id)
    b = make_firm(session, "甲企业重庆公司", owner_id=people.officer.id)
    session.commit()
    url = f"/api/v1/firms/{a.id}/merge"
    for body, field in (
        ({"other_id": b.id, "survivor_version": 999, "other_version": 1, "version": 1}, None),
        ({"other_id": b.id}, "version"),
        ({"other_id": b.id, "version": a.version}, "other_version"),
    ):
        r = client.post(url, json=body, headers=m)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert r.json()["field"] == field, r.json()
        session.expire_all()
        assert session.get(Firm, b.id) is not None  # nothing merged
    r = client.post(
        url,
        json={"other_id": b.id, "version": a.version, "other_version": b.version},
        headers=m,
    )
    assert r.status_code == 200, r.text


def test_a_robot_put_without_kind_is_refused_and_keeps_the_robot(client, people, session):
    adm = people.auth("admin")
    dep = people.dept_a
    url = f"/api/v1/departments/{dep.id}/webhook"
    hook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    r = client.put(url, json={"kind": "wecom", "url": hook, "version": dep.version}, headers=adm)
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    r = client.put(url, json={"url": "https://x.example/", "version": version}, headers=adm)
    assert r.status_code == 422 and r.json()["field"] == "kind", r.text
    session.expire_all()
    assert session.get(Department, dep.id).webhook_kind == "wecom"  # not removed
    r = client.put(url, json={"kind": None, "version": version}, headers=adm)
    assert r.status_code == 200, r.text  # an explicit null clears it
    session.expire_all()
    assert session.get(Department, dep.id).webhook_kind is None
