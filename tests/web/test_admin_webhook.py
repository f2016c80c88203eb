"""A department's group robot (企业微信 / 钉钉), set by an admin on /admin/departments or with
PUT /api/v1/departments/{id}/webhook: validated, never shown back, audited without the key."""

from __future__ import annotations

import json

from sqlalchemy import select

from crm.accounts.service import issue_api_token
from crm.models.accounts import Department
from crm.models.audit import AuditRecord
from tests.factories import make_department, make_user

HOOK = "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN-123"


def _dep(session, dep_id: int) -> Department:
    session.expire_all()
    return session.get(Department, dep_id)


def test_admin_sets_changes_and_clears_the_robot_on_the_page(client, login, session):
    dep = make_department(session, name="两江招商局", code="LJ1")
    admin = make_user(session, "admin", username="root1")
    session.commit()
    login(admin)
    r = client.post(
        f"/admin/departments/{dep.id}/webhook",
        data={"kind": "dingtalk", "url": HOOK, "secret": "SECxyz", "version": dep.version}
        | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    d = _dep(session, dep.id)
    assert (d.webhook_kind, d.webhook_url, d.webhook_secret) == ("dingtalk", HOOK, "SECxyz")
    page = client.get("/admin/departments").text
    assert "SECRET-TOKEN-123" not in page and "SECxyz" not in page  # never shown back
    assert "已设置" in page
    # the audit says that the address was set, never what it is
    rows = session.scalars(select(AuditRecord).where(AuditRecord.entity == "department")).all()
    dumped = " ".join(f"{r.before} {r.after}" for r in rows)
    assert "SECRET-TOKEN-123" not in dumped and "SECxyz" not in dumped
    assert json.loads(rows[-1].after)["webhook_url_set"] is True

    # switch to WeCom keeping nothing blank-filled: a blank URL keeps the one set
    r = client.post(
        f"/admin/departments/{dep.id}/webhook",
        data={"kind": "wecom", "url": "", "secret": "", "version": d.version} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    d = _dep(session, dep.id)
    assert (d.webhook_kind, d.webhook_url, d.webhook_secret) == ("wecom", HOOK, "SECxyz")

    # bad input: an error beside the form, nothing changed
    for bad in (
        {"kind": "slack", "url": HOOK},
        {"kind": "wecom", "url": "ftp://x/y"},
        {"kind": "wecom", "url": "javascript:alert(1)"},
    ):
        r = client.post(
            f"/admin/departments/{dep.id}/webhook", data=bad | {"version": d.version} | login.csrf
        )
        assert r.status_code == 422, bad
        assert 'class="error"' in r.text
        assert _dep(session, dep.id).webhook_kind == "wecom"

    # no kind clears the robot
    r = client.post(
        f"/admin/departments/{dep.id}/webhook",
        data={"kind": "", "version": d.version} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    d = _dep(session, dep.id)
    assert (d.webhook_kind, d.webhook_url, d.webhook_secret) == (None, None, None)


def test_robot_through_the_api_admins_only_and_stale_versions_refused(client, session):
    dep = make_department(session, name="西永招商局", code="XY1")
    admin = make_user(session, "admin", username="root2")
    officer = make_user(session, "officer", dep, username="off2")
    session.commit()
    admin_h = {"Authorization": f"Bearer {issue_api_token(session, admin)[0]}"}
    officer_h = {"Authorization": f"Bearer {issue_api_token(session, officer)[0]}"}
    session.commit()
    body = {
        "kind": "wecom",
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1",
        "version": dep.version,
    }
    url = f"/api/v1/departments/{dep.id}/webhook"
    assert client.put(url, headers=officer_h, json=body).status_code == 403
    r = client.put(url, headers=admin_h, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["webhook_kind"] == "wecom" and out["has_webhook"] is True
    assert "K1" not in r.text
    # the version moved on: the old one is refused, nothing changes
    r = client.put(url, headers=admin_h, json=body | {"kind": "dingtalk"})
    assert r.status_code == 409
    assert _dep(session, dep.id).webhook_kind == "wecom"
    r = client.put(
        url, headers=admin_h, json={"kind": "wecom", "url": "not a url", "version": out["version"]}
    )
    assert r.status_code == 422
    r = client.put(url, headers=admin_h, json={"kind": None, "version": out["version"]})
    assert r.status_code == 200 and r.json()["has_webhook"] is False
