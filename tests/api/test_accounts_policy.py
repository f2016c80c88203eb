"""/api/v1/users, /departments, /me, /clusters and /parks: reading, admin-only changes, 409s."""

from __future__ import annotations

from sqlalchemy import update

from crm.models.policy import Cluster
from tests.factories import PASSWORD, cluster


def test_me_and_my_own_name(client, people):
    h = people.auth("officer")
    me = client.get("/api/v1/me", headers=h).json()
    assert me["username"] == people.officer.username and "password_hash" not in me
    r = client.patch("/api/v1/me", headers=h, json={"display_name": "张三丰", "version": 1})
    assert r.status_code == 200 and r.json()["display_name"] == "张三丰"
    r = client.patch("/api/v1/me", headers=h, json={"display_name": "旧", "version": 1})
    assert r.status_code == 409 and r.json()["current"]["display_name"] == "张三丰"
    r = client.patch("/api/v1/me", headers=h, json={"role": "admin", "version": 2})
    assert r.status_code == 422  # not a field of /me
    r = client.patch(
        f"/api/v1/users/{people.officer.id}", headers=h, json={"role": "admin", "version": 2}
    )
    assert r.status_code == 403


def test_users_admin_only_changes(client, people, session):
    r = client.get(
        "/api/v1/users",
        headers=people.auth("officer"),
        params={"department_id": people.dept_a.id, "role": "officer"},
    )
    assert [u["id"] for u in r.json()["items"]] == [people.officer.id]
    body = {
        "username": "newbie",
        "password": "Long-Enough-Pass-1",
        "department_id": people.dept_b.id,
    }
    assert (
        client.post("/api/v1/users", headers=people.auth("manager"), json=body).status_code == 403
    )
    r = client.post("/api/v1/users", headers=people.auth("admin"), json=body)
    assert r.status_code == 201
    uid = r.json()["id"]
    assert client.post("/api/v1/users", headers=people.auth("admin"), json=body).status_code == 409
    fresh = {**body, "username": "fresh1"}
    for bad in (
        {**body, "username": "x y"},
        {**fresh, "password": "short"},
        {**fresh, "role": "root"},
        {**fresh, "department_id": 2**30},
        {**fresh, "email": "nope"},
    ):
        assert (
            client.post("/api/v1/users", headers=people.auth("admin"), json=bad).status_code == 422
        ), bad
    r = client.patch(
        f"/api/v1/users/{uid}", headers=people.auth("admin"), json={"role": "manager", "version": 1}
    )
    assert r.status_code == 200 and r.json()["role"] == "manager"
    r = client.delete(f"/api/v1/users/{uid}", headers=people.auth("admin"), params={"version": 1})
    assert r.status_code == 409
    r = client.delete(f"/api/v1/users/{uid}", headers=people.auth("admin"), params={"version": 2})
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = client.post(
        "/api/v1/auth/token", data={"username": "newbie", "password": "Long-Enough-Pass-1"}
    )
    assert r.status_code == 401
    r = client.delete(
        f"/api/v1/users/{people.admin.id}", headers=people.auth("admin"), params={"version": 1}
    )
    assert r.status_code == 409  # the last active administrator stays


def test_an_officer_or_manager_needs_a_department(client, people, session):
    """ATTACK9 P3-8: an officer created without a department could see nothing of his own
    and belonged to no manager's view; he is refused, as a change to no department is."""
    users_before = client.get("/api/v1/users", headers=people.auth("admin")).json()["total"]
    for role in ("officer", "manager"):
        body = {"username": f"nodept_{role}", "password": "Long-Enough-Pass-1", "role": role}
        r = client.post("/api/v1/users", headers=people.auth("admin"), json=body)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "department_id" and "部门" in r.json()["message"]
        r = client.post(
            "/api/v1/users", headers=people.auth("admin"), json={**body, "department_id": None}
        )
        assert r.status_code == 422, r.text
    assert client.get("/api/v1/users", headers=people.auth("admin")).json()["total"] == users_before
    body = {"username": "nodept_admin", "password": "Long-Enough-Pass-1", "role": "admin"}
    r = client.post("/api/v1/users", headers=people.auth("admin"), json=body)
    assert r.status_code == 201 and r.json()["department_id"] is None


def test_token_endpoint_bounds_its_form(client, people):
    r = client.post(
        "/api/v1/auth/token", data={"username": people.officer.username, "password": PASSWORD}
    )
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["id"] == people.officer.id
    for data in (
        {"username": "a\x00b", "password": "x"},
        {"username": "u" * 61, "password": "x"},
        {"username": "u"},
    ):
        assert client.post("/api/v1/auth/token", data=data).status_code == 422


def test_departments(client, people, session):
    r = client.get("/api/v1/departments", headers=people.auth("officer"))
    assert r.json()["total"] == 2 and "webhook_url" not in r.json()["items"][0]
    body = {"name": "新区招商局", "code": "XQ"}
    assert (
        client.post("/api/v1/departments", headers=people.auth("manager"), json=body).status_code
        == 403
    )
    r = client.post("/api/v1/departments", headers=people.auth("admin"), json=body)
    assert r.status_code == 201
    url = f"/api/v1/departments/{r.json()['id']}"
    assert (
        client.post("/api/v1/departments", headers=people.auth("admin"), json=body).status_code
        == 409
    )
    r = client.patch(url, headers=people.auth("admin"), json={"name": "新区投促局", "version": 1})
    assert r.status_code == 200 and r.json()["code"] == "XQ" and r.json()["version"] == 2
    assert (
        client.patch(
            url, headers=people.auth("admin"), json={"code": "bad code", "version": 2}
        ).status_code
        == 422
    )
    assert (
        client.patch(
            url, headers=people.auth("manager"), json={"name": "x", "version": 2}
        ).status_code
        == 403
    )
    assert (
        client.patch(
            url, headers=people.auth("admin"), json={"name": "x", "version": 1}
        ).status_code
        == 409
    )
    dept_a = f"/api/v1/departments/{people.dept_a.id}"
    r = client.delete(dept_a, headers=people.auth("admin"), params={"version": 1})
    assert r.status_code == 409 and r.json()["error"] == "conflict"  # it has users
    assert (
        client.delete(url, headers=people.auth("admin"), params={"version": 2}).status_code == 204
    )


def test_clusters_and_parks(client, people, session):
    r = client.get("/api/v1/clusters", headers=people.auth("officer"))
    assert len(r.json()) == 12
    nb = cluster(session, "NB")
    one = client.get(f"/api/v1/clusters/{nb.id}", headers=people.auth("officer")).json()
    assert one["code"] == "NB" and one["chain_links"] and "." in one["target_2015"]
    parks = client.get("/api/v1/parks", headers=people.auth("officer")).json()
    assert any(p["within"] for p in parks)  # the bonded zones
    body = {"lead_department_id": people.dept_a.id, "version": one["version"]}
    url = f"/api/v1/clusters/{nb.id}"
    assert client.patch(url, headers=people.auth("manager"), json=body).status_code == 403
    try:
        r = client.patch(url, headers=people.auth("admin"), json=body)
        assert r.status_code == 200 and r.json()["lead_department_id"] == people.dept_a.id
        r = client.patch(url, headers=people.auth("admin"), json=body)
        assert r.status_code == 409 and r.json()["current"]["version"] == one["version"] + 1
        r = client.patch(
            url,
            headers=people.auth("admin"),
            json={"lead_department_id": 2**30, "version": one["version"] + 1},
        )
        assert r.status_code == 422
    finally:  # the pack's tables are kept between tests
        session.execute(update(Cluster).values(lead_department_id=None))
        session.commit()
    assert client.get("/api/v1/parks/99999", headers=people.auth("admin")).status_code == 404
