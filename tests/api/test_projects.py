"""/api/v1/projects: lists and filters, confidential projects, stage moves, history, capital."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models.projects import Project, StageChange
from tests.factories import make_firm, make_project


def _secret(session, people):  # type: ignore[no-untyped-def]
    """Department B's confidential project, and department A's open one."""
    firm = make_firm(session, "机密电子", clusters=("IC",))
    secret = make_project(
        session,
        firm,
        "IC",
        owner=people.officer_b,
        is_confidential=True,
        code_name="星河",
        title="机密电子-IC",
    )
    open_ = make_project(
        session,
        make_firm(session, "公开汽车"),
        "NB",
        owner=people.officer,
        park_code="LJ",
        title="公开汽车-NB",
    )
    session.commit()
    return secret, open_


def test_confidential_project_does_not_exist_for_other_departments(client, people, session):
    secret, open_ = _secret(session, people)
    for who, sees in (("officer", False), ("officer_b", True), ("manager", True), ("admin", True)):
        h = people.auth(who)
        ids = [p["id"] for p in client.get("/api/v1/projects", headers=h).json()["items"]]
        assert (secret.id in ids) is sees, who
        assert open_.id in ids
        for path in ("", "/history", "/capital"):
            r = client.get(f"/api/v1/projects/{secret.id}{path}", headers=h)
            assert r.status_code == (200 if sees else 404), (who, path)
        if not sees:
            for r in (
                client.patch(
                    f"/api/v1/projects/{secret.id}", headers=h, json={"notes": "x", "version": 1}
                ),
                client.post(
                    f"/api/v1/projects/{secret.id}/stage",
                    headers=h,
                    json={"stage": "contacted", "version": 1},
                ),
                client.delete(f"/api/v1/projects/{secret.id}", headers=h, params={"version": 1}),
                client.post(
                    f"/api/v1/projects/{secret.id}/capital",
                    headers=h,
                    json={"amount": "1", "arrived_on": "2026-01-02"},
                ),
            ):
                assert r.status_code == 404 and r.json()["error"] == "not_found"
                assert "星河" not in r.text and "机密" not in r.text
            r = client.get("/api/v1/projects", params={"q": "机密"}, headers=h)
            assert r.json()["total"] == 0


def test_filters(client, people, session):
    secret, open_ = _secret(session, people)
    h = people.auth("admin")

    def ids(**params):  # type: ignore[no-untyped-def]
        r = client.get("/api/v1/projects", params=params, headers=h)
        assert r.status_code == 200, r.text
        return {p["id"] for p in r.json()["items"]}

    assert ids(cluster="IC") == {secret.id}
    assert ids(park="LJ") == {open_.id}
    assert ids(owner_id=people.officer.id) == {open_.id}
    assert ids(department_id=people.dept_b.id) == {secret.id}
    assert ids(stage="lead") == {secret.id, open_.id}
    assert ids(stage="signed") == set()
    assert ids(updated_since="2000-01-01T00:00:00") == {secret.id, open_.id}
    assert ids(updated_since="2099-01-01T00:00:00Z") == set()
    for bad in (
        {"cluster": "ZZ"},
        {"park": "ZZ"},
        {"stage": "won"},
        {"updated_since": "yesterday"},
        {"updated_since": "0001-01-01T00:00:00"},
    ):
        r = client.get("/api/v1/projects", params=bad, headers=h)
        assert r.status_code == 422 and r.json()["field"], bad


def test_create_update_stage_moves_and_history(client, people, session):
    firm = make_firm(session, "长安福特")
    session.commit()
    h = people.auth("officer")
    r = client.post(
        "/api/v1/projects",
        headers=h,
        json={
            "firm_id": firm.id,
            "cluster": "NB",
            "park": "LJ",
            "planned_investment": "12.5",
            "expected_sign_date": "2027-01-01",
            "expected_land_date": "2027-06-01",
        },
    )
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["department_id"] == people.dept_a.id and p["planned_investment"] == "12.5000"
    url = f"/api/v1/projects/{p['id']}"
    r = client.post(url + "/stage", headers=h, json={"stage": "lost", "version": 1})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(
        url + "/stage", headers=h, json={"stage": "lost", "reason": "预算取消", "version": 1}
    )
    assert r.status_code == 200 and r.json()["stage"] == "lost" and r.json()["version"] == 2
    r = client.post(
        url + "/stage", headers=h, json={"stage": "lost", "reason": "again", "version": 2}
    )
    assert r.status_code == 409
    r = client.post(url + "/stage", headers=h, json={"stage": "signed", "version": 1})
    assert r.status_code == 409 and r.json()["current"]["stage"] == "lost"
    r = client.post(url + "/stage", headers=h, json={"stage": "signed", "version": 2})
    assert r.status_code == 200 and r.json()["lost_reason"] is None
    hist = client.get(url + "/history", headers=h).json()
    assert [x["to_stage"] for x in hist] == ["lead", "lost", "signed"]
    assert hist[1]["reason"] == "预算取消"
    r = client.patch(url, headers=h, json={"notes": "stale", "version": 1})
    assert r.status_code == 409 and r.json()["current"]["version"] == 3
    r = client.patch(url, headers=h, json={"expected_output": "30", "version": 3})
    assert r.status_code == 200 and r.json()["expected_output"] == "30.0000"
    # the stage is not a field of PATCH
    r = client.patch(url, headers=h, json={"stage": "operating", "version": 4})
    assert r.status_code == 422
    r = client.post(
        url + "/capital",
        headers=h,
        json={"amount": "2.5", "arrived_on": "2026-03-01", "note": "首期"},
    )
    assert r.status_code == 201 and r.json()["amount"] == "2.5000"
    assert [c["amount"] for c in client.get(url + "/capital", headers=h).json()] == ["2.5000"]
    assert client.delete(url, headers=h, params={"version": 5}).status_code == 409  # has capital


def test_bad_project_input_is_422_and_saves_nothing(client, people, session):
    firm = make_firm(session)
    session.commit()
    h = people.auth("officer")
    base = {"firm_id": firm.id, "cluster": "NB"}
    for extra in (
        {"cluster": "XX"},
        {"park": "XX"},
        {"planned_investment": "-1"},
        {"planned_investment": "1e20"},
        {"expected_jobs": False},
        {"expected_jobs": 2**31},
        {"expected_sign_date": "2027-05-01", "expected_land_date": "2027-01-01"},
        {"firm_id": 999999},
        {"firm_id": "1"},
        {"notes": "x" * 4001},
        {"is_confidential": True},
        {"stage": "lost"},
        {"title": "a\x00b"},
        {"department_id": people.dept_b.id},
    ):
        r = client.post("/api/v1/projects", headers=h, json={**base, **extra})
        assert r.status_code == 422, (extra, r.text)
        assert r.json()["field"], extra
    assert session.scalar(select(func.count()).select_from(Project)) == 0
    assert session.scalar(select(func.count()).select_from(StageChange)) == 0
    p = make_project(session, firm, "NB", "signed", owner=people.officer)
    session.commit()
    for body in (
        {"amount": "0", "arrived_on": "2026-01-01"},
        {"amount": "-3", "arrived_on": "2026-01-01"},
        {"amount": "1", "arrived_on": "1066-10-14"},
    ):
        r = client.post(f"/api/v1/projects/{p.id}/capital", headers=h, json=body)
        assert r.status_code == 422, body


def test_edit_rules_by_role(client, people, session):
    firm = make_firm(session)
    p = make_project(session, firm, "NB", owner=people.officer)
    session.commit()
    url = f"/api/v1/projects/{p.id}"
    r = client.patch(url, headers=people.auth("officer_b"), json={"notes": "x", "version": 1})
    assert r.status_code == 403  # visible (not confidential) but not theirs
    move = {"stage": "contacted", "version": 1}
    r = client.post(url + "/stage", headers=people.auth("officer_b"), json=move)
    assert r.status_code == 403
    r = client.post(url + "/stage", headers=people.auth("manager"), json=move)
    assert r.status_code == 200
    r = client.post(
        url + "/stage", headers=people.auth("admin"), json={"stage": "negotiating", "version": 2}
    )
    assert r.status_code == 200
    assert (
        client.delete(url, headers=people.auth("officer"), params={"version": 1}).status_code == 409
    )
    assert (
        client.delete(url, headers=people.auth("officer"), params={"version": 3}).status_code == 204
    )


def test_a_title_is_never_emptied(client, people, session):
    """Blank or spaces-only titles are refused as required and nothing changes; left out, the
    title stays."""
    firm = make_firm(session, "长安福特")
    p = make_project(session, firm, "NB", owner=people.officer, title="长安福特-NB")
    session.commit()
    h = people.auth("officer")
    before = client.get(f"/api/v1/projects/{p.id}", headers=h).json()
    for blank in ("", "   ", "\u3000"):
        r = client.patch(f"/api/v1/projects/{p.id}", headers=h, json={"title": blank, "version": 1})
        assert r.status_code == 422 and r.json()["field"] == "title", (blank, r.text)
    assert client.get(f"/api/v1/projects/{p.id}", headers=h).json() == before
    r = client.patch(f"/api/v1/projects/{p.id}", headers=h, json={"notes": "x", "version": 1})
    assert r.status_code == 200 and r.json()["title"] == "长安福特-NB"


def test_a_title_search_takes_every_character_as_itself(client, people, session):
    """The title search (``q``) looks for a backslash, ``%``, ``_`` and a quote as themselves,
    on SQLite and PostgreSQL alike (PostgreSQL's LIKE reads a backslash as an escape unless told
    otherwise; the pattern once dropped ``%`` and ``_``, which then matched every title)."""
    firm = make_firm(session, "字符企业")
    titles = {
        "back": "项目a\\b斜杠",
        "pct": "增长50%计划",
        "under": "a_b项目",
        "quote": "O'Brien项目",
        "plain": "普通项目ab",
    }
    made = {
        k: make_project(session, firm, "IC", owner=people.officer, title=t)
        for k, t in titles.items()
    }
    session.commit()
    h = people.auth("admin")

    def found(q: str) -> set[str]:
        r = client.get("/api/v1/projects", params={"q": q, "limit": 100}, headers=h)
        assert r.status_code == 200, r.text
        ids = {p["id"] for p in r.json()["items"]}
        return {k for k, p in made.items() if p.id in ids}

    assert found("a\\") == {"back"}
    assert found("\\b") == {"back"}
    assert found("%") == {"pct"}
    assert found("50%") == {"pct"}
    assert found("_") == {"under"}
    assert found("a_b") == {"under"}
    assert found("'") == {"quote"}
    assert found("\\'") == set()
    assert found("ab") == {"plain"}  # not a\b, a_b: the characters between count


def test_a_title_search_is_blind_to_case_beyond_ascii(client, people, session):
    """'Äpfel' and 'äpfel' find 'Äpfel-Werk' on SQLite as on PostgreSQL (SQLite's lower()
    changes ASCII letters only)."""
    firm = make_firm(session, "大小写企业")
    p = make_project(session, firm, "IC", owner=people.officer, title="Äpfel-Werk Ausbau")
    make_project(session, firm, "IC", owner=people.officer, title="Birnen")
    session.commit()
    h = people.auth("admin")
    for q in ("Äpfel", "äpfel", "ÄPFEL", "werk"):
        r = client.get("/api/v1/projects", params={"q": q}, headers=h)
        assert [x["id"] for x in r.json()["items"]] == [p.id], q
