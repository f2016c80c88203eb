"""CSRF: every unsafe page route (walked from the app's route table) refuses a request without
the token, with a wrong one, or from another origin — and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.models.audit import AuditRecord
from tests.security.access_table import ACCESS
from tests.security.routes import UNSAFE, fill_path
from tests.security.test_route_access import APP, ROUTES
from tests.security.world import build_world, client_for

PAGE_UNSAFE = [(m, p) for m, p in ROUTES if m in UNSAFE and not p.startswith("/api/")]


def test_there_are_unsafe_page_routes_to_check():
    assert ("POST", "/logout") in PAGE_UNSAFE and ("POST", "/admin/users") in PAGE_UNSAFE


@pytest.mark.parametrize(("method", "path"), PAGE_UNSAFE, ids=[f"{m} {p}" for m, p in PAGE_UNSAFE])
def test_unsafe_page_route_refuses_a_request_without_a_valid_token(method, path, session):
    world = build_world(session)
    entry = ACCESS.get((method, path))
    url = fill_path(path, entry, world)
    form = dict(entry.form or {}) if entry else {}
    audit_before = session.scalar(select(func.count()).select_from(AuditRecord))
    for role in ("admin", "own"):  # the most powerful caller, and the record's owner
        client = client_for(APP, session, world, role)
        client.headers.pop("X-Test-Bearer", None)
        token = client.cookies["csrftoken"]
        attempts = {
            "no token": dict(data=form),
            "wrong form token": dict(data={**form, "csrf_token": "x" * len(token)}),
            "wrong header": dict(data=form, headers={"X-CSRFToken": token[:-2] + "zz"}),
            "non-ascii token": dict(data=form, headers={"X-CSRFToken": "токен".encode()}),
            "JSON body": dict(json=form),
            "multipart without token": dict(data=form, files={"f": ("a.txt", b"x")}),
            "other origin": dict(
                data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
            ),
            "other referer": dict(
                data={**form, "csrf_token": token}, headers={"Referer": "https://evil.example/form"}
            ),
        }
        for what, kw in attempts.items():
            r = client.request(method, url, follow_redirects=False, **kw)
            assert r.status_code == 403, f"{method} {path} as {role}, {what}: {r.status_code}"
            assert r.json()["error"] == "csrf"
        client.close()
    session.expire_all()
    # the logins above wrote their own audit rows (two per caller at most); nothing else
    assert session.scalar(select(func.count()).select_from(AuditRecord)) <= audit_before + 4


def test_a_multipart_form_with_the_token_passes(session):
    world = build_world(session)
    client = client_for(APP, session, world, "own")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/logout", data={"csrf_token": token}, files={"f": ("a.txt", b"x")}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303  # logged out


def test_same_origin_header_and_token_pass(session):
    world = build_world(session)
    client = client_for(APP, session, world, "own")
    r = client.post(
        "/logout",
        headers={"X-CSRFToken": client.cookies["csrftoken"], "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert r.status_code == 303
