"""/api/v1/firms and contacts: pages, search, edits, permissions, errors, stale versions."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models.audit import AuditRecord
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster
from tests.factories import make_firm, make_user


def test_needs_a_bearer_token(client):
    r = client.get("/api/v1/firms")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = client.get("/api/v1/firms", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_create_read_search_and_page(client, people, session):
    r = client.post(
        "/api/v1/firms",
        headers=people.auth("officer"),
        json={
            "name_zh": "华为技术有限公司",
            "name_en": "Huawei",
            "aliases": ["华为"],
            "clusters": ["NB", "IC"],
            "global500_rank": 100,
        },
    )
    assert r.status_code == 201, r.text
    firm = r.json()
    assert firm["tier"] == "global500" and set(firm["clusters"]) == {"NB", "IC"}
    assert firm["owner_id"] == people.officer.id and firm["version"] == 1
    for i in range(3):
        make_firm(session, f"测试电子{i}")
    session.commit()
    for q in ("华为", "huawei", "hwjs"):
        r = client.get("/api/v1/firms", params={"q": q}, headers=people.auth("officer_b"))
        assert [f["id"] for f in r.json()["items"]] == [firm["id"]], q
    r = client.get("/api/v1/firms", params={"limit": 2, "offset": 1}, headers=people.auth("admin"))
    body = r.json()
    assert body["total"] == 4 and body["limit"] == 2 and body["offset"] == 1
    assert len(body["items"]) == 2
    r = client.get(
        "/api/v1/firms", params={"cluster": "IC", "tier": "global500"}, headers=people.auth("admin")
    )
    assert r.json()["total"] == 1
    assert (
        client.get(f"/api/v1/firms/{firm['id']}", headers=people.auth("officer_b")).json()[
            "name_en"
        ]
        == "Huawei"
    )


def test_duplicate_name_is_409_with_candidates(client, people, session):
    f = make_firm(session, "长安汽车股份有限公司")
    session.commit()
    r = client.post(
        "/api/v1/firms", headers=people.auth("officer"), json={"name_zh": "长安汽车有限公司"}
    )
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "duplicate_firm" and body["candidates"][0]["id"] == f.id


def test_bad_input_is_422_and_saves_nothing(client, people, session):
    h = people.auth("officer")
    bad = [
        {"name_zh": "甲公司", "clusters": ["XX"]},
        {"name_zh": "甲公司", "global500_rank": -1},
        {"name_zh": "甲公司", "global500_rank": False},
        {"name_zh": "甲公司", "owner_id": 2**31},
        {"name_zh": "甲\x00公司"},
        {"name_zh": "甲" * 201},
        {"name_zh": "甲公司", "credit_code": "123"},
        {"name_zh": "甲公司", "unknown": 1},
        {"name_zh": 5},
    ]
    for body in bad:
        r = client.post("/api/v1/firms", headers=h, json=body)
        assert r.status_code == 422, (body, r.text)
        err = r.json()
        assert err["error"] == "validation_error" and err["message"] and err.get("field"), err
        assert "Traceback" not in r.text and "SELECT" not in r.text
    assert session.scalar(select(func.count()).select_from(Firm)) == 0
    for params in (
        {"limit": 201},
        {"limit": 0},
        {"offset": -1},
        {"owner_id": 2**31},
        {"q": "a\x00"},
        {"cluster": "XX"},
        {"tier": "gold"},
    ):
        r = client.get("/api/v1/firms", params=params, headers=h)
        assert r.status_code == 422, params
    # a path's id that is no id (past the range, 0) is a missing record (ATTACK11 F6)
    assert client.get(f"/api/v1/firms/{2**31}", headers=h).status_code == 404
    assert client.get("/api/v1/firms/0", headers=h).status_code == 404
    assert client.get("/api/v1/firms/999999", headers=h).status_code == 404


def test_update_stale_version_is_409_with_current(client, people, session):
    h = people.auth("officer")
    firm = client.post("/api/v1/firms", headers=h, json={"name_zh": "京东方科技集团"}).json()
    r = client.patch(
        f"/api/v1/firms/{firm['id']}", headers=h, json={"name_en": "BOE", "version": 1}
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.patch(
        f"/api/v1/firms/{firm['id']}", headers=h, json={"name_en": "stale", "version": 1}
    )
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "stale_version" and body["current"]["name_en"] == "BOE"
    assert body["current"]["version"] == 2
    session.expire_all()
    assert session.get(Firm, firm["id"]).name_en == "BOE"
    r = client.delete(f"/api/v1/firms/{firm['id']}", params={"version": 2}, headers=h)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"  # firms: managers delete
    m = people.auth("manager")
    r = client.delete(f"/api/v1/firms/{firm['id']}", params={"version": 1}, headers=m)
    assert r.status_code == 409 and session.get(Firm, firm["id"]) is not None
    r = client.delete(f"/api/v1/firms/{firm['id']}", params={"version": 2}, headers=m)
    assert r.status_code == 204
    session.expire_all()
    assert session.get(Firm, firm["id"]) is None


def test_only_owner_department_or_admin_may_edit(client, people):
    firm = client.post(
        "/api/v1/firms", headers=people.auth("officer"), json={"name_zh": "重庆测试科技"}
    ).json()
    url = f"/api/v1/firms/{firm['id']}"
    r = client.patch(url, headers=people.auth("officer_b"), json={"notes": "x", "version": 1})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = client.patch(url, headers=people.auth("manager"), json={"notes": "经理", "version": 1})
    assert r.status_code == 200
    r = client.patch(url, headers=people.auth("admin"), json={"notes": "管理员", "version": 2})
    assert r.status_code == 200 and r.json()["notes"] == "管理员"
    r = client.delete(url, headers=people.auth("officer_b"), params={"version": 3})
    assert r.status_code == 403


def test_contacts(client, people, session):
    h = people.auth("officer")
    firm = client.post("/api/v1/firms", headers=h, json={"name_zh": "惠普"}).json()
    r = client.post(
        f"/api/v1/firms/{firm['id']}/contacts",
        headers=h,
        json={"name": "王经理", "email": "wang@example.com", "title": "总监"},
    )
    assert r.status_code == 201
    c = r.json()
    r = client.get(f"/api/v1/firms/{firm['id']}/contacts", headers=people.auth("officer_b"))
    assert r.json()["total"] == 1 and r.json()["items"][0]["name"] == "王经理"
    r = client.post(
        f"/api/v1/firms/{firm['id']}/contacts",
        headers=h,
        json={"name": "x", "email": "not-an-email"},
    )
    assert r.status_code == 422 and r.json()["field"] == "email"
    # a phone is digits with the usual separators, at most 20 digits (ATTACK8 P3-7)
    for phone in ("abc", "1" * 40, "023-6388 <b>"):
        r = client.post(
            f"/api/v1/firms/{firm['id']}/contacts", headers=h, json={"name": "x", "phone": phone}
        )
        assert r.status_code == 422 and r.json()["field"] == "phone", (phone, r.text)
        assert "电话号码" in r.json()["errors"][0]["message"]
    r = client.patch(
        f"/api/v1/contacts/{c['id']}",
        headers=people.auth("officer_b"),
        json={"phone": "1", "version": 1},
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/contacts/{c['id']}", headers=h, json={"phone": "023-1", "version": 1}
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.patch(f"/api/v1/contacts/{c['id']}", headers=h, json={"phone": "9", "version": 1})
    assert r.status_code == 409 and r.json()["current"]["phone"] == "023-1"
    assert (
        client.delete(f"/api/v1/contacts/{c['id']}", headers=h, params={"version": 2}).status_code
        == 204
    )
    assert client.get(f"/api/v1/contacts/{c['id']}", headers=h).status_code == 404
    assert session.scalar(select(func.count()).select_from(Contact)) == 0
    assert client.get("/api/v1/firms/999999/contacts", headers=h).status_code == 404


def test_what_the_fuzz_run_found(client, people):
    h = people.auth("officer")
    r = client.post("/api/v1/firms", headers=h, json={"name_zh": "甲公司", "is_leader": 0})
    assert r.status_code == 422 and r.json()["field"] == "is_leader"
    r = client.post(
        "/api/v1/firms", headers={**h, "Content-Type": "application/json"}, content=b"\n\x19\xff\\"
    )
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = client.request("QUERY", "/api/v1/firms", headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert client.request("QUERY", "/healthz").status_code == 405
    assert client.put("/healthz").status_code == 405
    firm = client.post("/api/v1/firms", headers=h, json={"name_zh": "乙公司"}).json()
    r = client.patch(
        f"/api/v1/firms/{firm['id']}",
        headers=h,
        json={"is_leader": None, "notes": "无", "version": 1},
    )
    assert r.status_code == 200 and r.json()["is_leader"] is False
    r = client.post(
        f"/api/v1/firms/{firm['id']}/contacts", headers=h, json={"name": "丙", "email": ""}
    )
    assert r.status_code == 201 and r.json()["email"] is None


def test_an_alias_taken_meanwhile_is_a_409_and_saves_nothing(client, people, session, monkeypatch):
    """Aliases are unique across firms in the database itself (a unique index): when another
    writer takes an alias between the service's check and the write, the answer is the same
    409 as the check's, naming the firm, and the refused change saves nothing."""
    import crm.firms.service as firms_service
    from crm.models.firms import FirmAlias

    hp = client.post(
        "/api/v1/firms", headers=people.auth("officer"), json={"name_zh": "惠普", "aliases": ["HP"]}
    ).json()
    acer = client.post(
        "/api/v1/firms", headers=people.auth("officer"), json={"name_zh": "宏碁", "notes": "原样"}
    ).json()
    real, calls = firms_service.alias_clashes, []

    def checked_before_the_other_writer(*args, **kw):  # the service's first look finds nothing
        calls.append(1)
        return [] if len(calls) == 1 else real(*args, **kw)

    monkeypatch.setattr(firms_service, "alias_clashes", checked_before_the_other_writer)
    firm_row = session.execute(select(Firm.__table__).where(Firm.id == acer["id"])).one()
    aliases = session.execute(select(FirmAlias.__table__).order_by(FirmAlias.id)).all()
    r = client.patch(
        f"/api/v1/firms/{acer['id']}",
        headers=people.auth("officer"),
        json={"version": acer["version"], "aliases": ["hp"], "notes": "改了"},
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["field"] == "aliases" and [c["id"] for c in body["candidates"]] == [hp["id"]]
    assert len(calls) == 2  # the unique index refused the write; the second look named the firm
    session.expire_all()
    assert session.execute(select(Firm.__table__).where(Firm.id == acer["id"])).one() == firm_row
    assert session.execute(select(FirmAlias.__table__).order_by(FirmAlias.id)).all() == aliases


def _firm_state(session, firm_id):  # type: ignore[no-untyped-def]
    """The whole firm row, its aliases and clusters, and the size of the audit trail."""
    session.expire_all()
    return (
        session.get(Firm, firm_id).model_dump(),
        sorted(session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == firm_id))),
        sorted(
            session.scalars(select(FirmCluster.cluster_id).where(FirmCluster.firm_id == firm_id))
        ),
        session.scalar(select(func.count()).select_from(AuditRecord)),
    )


def test_who_may_set_a_firms_owner(client, people, session):  # type: ignore[no-untyped-def]
    """may_set_owner on the API: an officer takes over no unowned firm and gives his own to
    nobody; a manager names owners of his department only; a refused change writes nothing."""
    unowned = make_firm(session, "无主企业甲")
    mine = make_firm(session, "自有企业乙", owner_id=people.officer.id)
    colleague = make_user(session, "officer", people.dept_a)
    session.commit()
    refused = [
        ("officer", unowned.id, people.officer.id),  # taking over an unowned firm
        ("officer", mine.id, colleague.id),  # giving it away, even within the department
        ("officer", mine.id, people.officer_b.id),  # to another department
        ("manager", unowned.id, people.officer_b.id),  # a manager, to another department
        ("officer", mine.id, None),  # clearing it (managers only)
    ]
    for who, firm_id, owner in refused:
        before = _firm_state(session, firm_id)
        version = before[0]["version"]
        r = client.patch(
            f"/api/v1/firms/{firm_id}",
            json={"owner_id": owner, "name_en": "Changed", "version": version},
            headers=people.auth(who),
        )
        assert r.status_code == 403, (who, firm_id, r.text)
        assert r.json()["field"] == "owner_id"
        assert _firm_state(session, firm_id) == before, (who, firm_id)
    # what is allowed still works: a manager within the department, an admin to anyone
    r = client.patch(
        f"/api/v1/firms/{unowned.id}",
        json={"owner_id": colleague.id, "version": 1},
        headers=people.auth("manager"),
    )
    assert r.status_code == 200 and r.json()["owner_id"] == colleague.id
    r = client.patch(
        f"/api/v1/firms/{mine.id}",
        json={"owner_id": people.officer_b.id, "version": 1},
        headers=people.auth("admin"),
    )
    assert r.status_code == 200 and r.json()["owner_id"] == people.officer_b.id
    session.expire_all()
    assert session.get(Firm, mine.id).version == 2


def test_creating_a_firm_for_another_owner(client, people, session):  # type: ignore[no-untyped-def]
    def counts():  # type: ignore[no-untyped-def]
        session.expire_all()
        return [session.scalar(select(func.count()).select_from(m)) for m in (Firm, AuditRecord)]

    before = counts()
    for who, owner in (("officer", people.officer_b.id), ("manager", people.officer_b.id)):
        r = client.post(
            "/api/v1/firms",
            json={"name_zh": f"代建企业{who}", "owner_id": owner},
            headers=people.auth(who),
        )
        assert r.status_code == 403, (who, r.text)
        assert counts() == before
    r = client.post(
        "/api/v1/firms",
        json={"name_zh": "本人企业", "owner_id": people.officer.id},
        headers=people.auth("officer"),
    )
    assert r.status_code == 201 and r.json()["owner_id"] == people.officer.id


def test_a_no_op_firm_change_writes_nothing(client, people, session):  # type: ignore[no-untyped-def]
    firm = make_firm(session, "原样企业", owner_id=people.officer.id, name_en="Same")
    session.commit()
    before = _firm_state(session, firm.id)
    r = client.patch(
        f"/api/v1/firms/{firm.id}",
        json={"name_zh": "原样企业", "name_en": "Same", "aliases": [], "version": 1},
        headers=people.auth("officer"),
    )
    assert r.status_code == 200 and r.json()["version"] == 1
    assert _firm_state(session, firm.id) == before


def test_a_list_too_long_counts_items_not_characters(client, people, session):
    r = client.post(
        "/api/v1/firms/reassign",
        headers={**people.auth("manager"), "accept-language": "en"},
        json={"ids": list(range(1, 1002)), "to_user_id": people.officer.id},
    )
    assert r.status_code == 422, r.text
    (err,) = [e for e in r.json()["errors"] if e["field"] == "ids"]
    assert "items" in err["message"] or "项" in err["message"], err
    assert "characters" not in err["message"] and "字符" not in err["message"], err
