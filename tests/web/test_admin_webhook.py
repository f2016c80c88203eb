"""A department's group robot (企业微信 / 钉钉), set by an admin on /admin/departments or with
PUT /api/v1/departments/{id}/webhook: validated, never shown back, audited without the key."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select

from crm.accounts.service import issue_api_token
from crm.config import get_settings
from crm.models.accounts import Department
from crm.models.audit import AuditRecord
from crm.outbox.channels import DeliveryError, Webhook, post_robot
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


@pytest.fixture
def public_only(monkeypatch):  # type: ignore[no-untyped-def]
    """As installed: no network allowed beside the public internet (the suite allows this
    host for its own robots)."""
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_NETWORKS", "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


INTERNAL = [
    "http://127.0.0.1:8000/api/v1/firms",
    "http://localhost/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/robot",
    "http://192.168.1.1/",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::127.0.0.1]/",  # IPv4-compatible, NAT64 and 6to4 forms of 127.0.0.1 (ATTACK11 F5)
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://2130706433/",
    "http://0.0.0.0:22/",
]


def test_a_robot_url_into_this_host_or_a_private_network_is_refused_beside_the_field(
    client, login, session, public_only
):
    """SSRF: an admin's robot URL may not make the server post to itself, the cloud metadata
    address or the office network — refused beside the field (page) and as webhook_url (API),
    nothing changed; an allowed network (CRM_WEBHOOK_ALLOW_NETWORKS) is taken."""
    dep = make_department(session, name="SSRF招商局", code="SSRF1")
    admin = make_user(session, "admin", username="root9")
    session.commit()
    login(admin)
    for url in [*INTERNAL, "file:///etc/passwd", "gopher://127.0.0.1:25/"]:
        r = client.post(
            f"/admin/departments/{dep.id}/webhook",
            data={"kind": "wecom", "url": url, "version": dep.version} | login.csrf,
        )
        assert r.status_code == 422, url
        assert 'id="err-webhook_url' in r.text or "机器人地址" in r.text, url
        assert _dep(session, dep.id).webhook_url is None
    token = issue_api_token(session, admin)[0]
    session.commit()
    r = client.put(
        f"/api/v1/departments/{dep.id}/webhook",
        headers={"Authorization": f"Bearer {token}"},
        json={"kind": "wecom", "url": INTERNAL[2], "version": dep.version},
    )
    assert r.status_code == 422 and r.json()["field"] == "webhook_url", r.text
    assert "内网" in r.json()["message"] or "private" in r.json()["message"].lower()
    # an on-premise robot gateway, allowed by the administrator of the server
    os.environ["CRM_WEBHOOK_ALLOW_NETWORKS"] = "10.0.0.0/8"
    get_settings.cache_clear()
    r = client.post(
        f"/admin/departments/{dep.id}/webhook",
        data={"kind": "wecom", "url": "http://10.1.2.3/robot", "version": dep.version} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _dep(session, dep.id).webhook_url == "http://10.1.2.3/robot"


def test_a_robot_whose_address_turned_internal_is_not_posted_to(session, robot, public_only):
    """Checked again when sending (a name may resolve elsewhere by then): a robot URL stored
    pointing at this host — saved before the rule, or a name now resolving here — fails as
    final, and nothing reaches the address."""
    dep = make_department(session, webhook_kind="wecom", webhook_url=robot.url + "/wecom")
    session.commit()
    with pytest.raises(DeliveryError) as caught:
        post_robot(Webhook("wecom", robot.url + "/wecom"), "标题", "正文")
    assert caught.value.permanent
    assert robot.requests == []
    assert dep.webhook_url
