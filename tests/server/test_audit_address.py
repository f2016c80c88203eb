"""Every audit row says from where: the client's address, direct and through a trusted reverse
proxy (CRM_TRUSTED_PROXIES); an untrusted X-Forwarded-For is ignored. Failed logins name the
user name tried, with no account as their actor."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm.config import get_settings
from crm.models.audit import AuditRecord
from server.app import create_app
from tests.factories import PASSWORD, make_department, make_firm, make_user


@pytest.fixture
def trust(monkeypatch):  # type: ignore[no-untyped-def]
    def set_(value: str) -> None:
        monkeypatch.setenv("CRM_TRUSTED_PROXIES", value)
        get_settings.cache_clear()

    yield set_
    monkeypatch.delenv("CRM_TRUSTED_PROXIES", raising=False)
    get_settings.cache_clear()


def _login_and_change(session, headers: dict[str, str]) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    user = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "审计地址企业")
    session.commit()
    with TestClient(create_app()) as c:
        c.get("/login")
        token = c.cookies["csrftoken"]
        c.post(
            "/login",
            data={"username": user.username, "password": "wrong-password", "csrf_token": token},
            headers=headers,
        )
        r = c.post(
            "/login",
            data={"username": user.username, "password": PASSWORD, "csrf_token": token},
            headers=headers,
            follow_redirects=False,
        )
        assert r.status_code == 303
        # a change through a page (a sync dependency in a worker thread, an async handler)
        r = c.post(
            "/followups/new",
            data={
                "title": "回访",
                "due_at": "2030-01-01T09:00",
                "firm_id": str(firm.id),
                "csrf_token": token,
            },
            headers=headers,
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
    session.expire_all()
    rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id))
    # the rows the requests wrote (not the test's own arranging)
    return [
        r
        for r in rows
        if r.action in ("login_failed", "login") or (r.action, r.entity) == ("create", "followup")
    ]


def test_the_address_is_on_every_row_direct(session, trust):  # type: ignore[no-untyped-def]
    trust("")
    rows = _login_and_change(session, {"X-Forwarded-For": "203.0.113.9"})
    mine = rows
    assert {r.action for r in mine} >= {"login_failed", "login", "create"}
    assert all(r.ip == "testclient" for r in mine), [(r.action, r.ip) for r in mine]


def test_the_forwarded_address_through_a_trusted_proxy(session, trust):  # type: ignore[no-untyped-def]
    trust("testclient, 10.0.0.2")
    rows = _login_and_change(session, {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.2"})
    mine = rows
    assert len(mine) >= 3
    # the right-most address no trusted proxy added: not the spoofable left-most one
    assert all(r.ip == "203.0.113.9" for r in mine), [(r.action, r.ip) for r in mine]


def test_a_failed_login_names_what_was_tried_not_the_account(session, trust):  # type: ignore[no-untyped-def]
    trust("")
    rows = _login_and_change(session, {})
    (failed,) = [r for r in rows if r.action == "login_failed"]
    assert failed.actor_id is None
    assert (
        json.loads(failed.after)["username"].startswith("officer")
        or json.loads(failed.after)["username"]
    )
