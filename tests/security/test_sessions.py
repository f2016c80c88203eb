"""Browser sessions (cookie flags, renewal at login, idle and absolute expiry, logout) and API
tokens (expiry, revocation)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from crm.accounts import service as accounts
from crm.config import get_settings
from crm.models.accounts import User, WebSession
from server.app import create_app
from tests.factories import make_user
from tests.security.conftest import login


def _sid(session, user_id):  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(
        session.scalars(
            select(WebSession).where(WebSession.user_id == user_id).order_by(WebSession.created_at)
        )
    )


def test_session_cookie_flags(client, session):
    u = make_user(session, "officer")
    session.commit()
    r = login(client, u.username)
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("crm_session="))
    low = cookie.lower()
    assert "httponly" in low and "samesite=lax" in low and "path=/" in low
    assert "secure" not in low.replace("samesite", "")  # not behind HTTPS in tests


def test_secure_cookies_behind_https(monkeypatch, session):
    monkeypatch.setenv("CRM_COOKIE_SECURE", "true")
    get_settings.cache_clear()
    try:
        app = create_app()
        u = make_user(session, "officer")
        session.commit()
        with TestClient(app, base_url="https://testserver") as c:
            r = c.get("/login")
            assert "secure" in r.headers["set-cookie"].lower()
            assert r.headers["strict-transport-security"].startswith("max-age=")
            r = login(c, u.username)
            cookie = next(
                h for h in r.headers.get_list("set-cookie") if h.startswith("crm_session=")
            )
            assert "; secure" in cookie.lower()
    finally:
        monkeypatch.delenv("CRM_COOKIE_SECURE")
        get_settings.cache_clear()


def test_session_id_is_renewed_at_login(client, session):
    u = make_user(session, "officer")
    session.commit()
    login(client, u.username)
    first_cookie = client.cookies["crm_session"]
    login(client, u.username)
    rows = _sid(session, u.id)
    assert len(rows) == 2 and rows[0].id != rows[1].id
    assert rows[0].ended_at is not None and rows[1].ended_at is None  # the old one is over
    # replaying the old cookie gets nowhere
    with TestClient(client.app) as thief:
        thief.cookies.set("crm_session", first_cookie)
        assert thief.get("/account", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(client, session):
    u = make_user(session, "officer")
    session.commit()
    login(client, u.username)
    stolen = client.cookies["crm_session"]
    r = client.post(
        "/logout", data={"csrf_token": client.cookies["csrftoken"]}, follow_redirects=False
    )
    assert r.status_code == 303
    assert _sid(session, u.id)[0].ended_at is not None
    with TestClient(client.app) as thief:
        thief.cookies.set("crm_session", stolen)
        assert thief.get("/account", follow_redirects=False).status_code == 303


def test_idle_timeout(client, session, clock):
    idle = get_settings().session_idle_minutes
    u = make_user(session, "officer")
    session.commit()
    login(client, u.username)
    clock.advance(minutes=idle - 1)
    assert client.get("/account", follow_redirects=False).status_code == 200  # touches it
    clock.advance(minutes=idle - 1)
    assert client.get("/account", follow_redirects=False).status_code == 200  # still active
    clock.advance(minutes=idle + 1)
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _sid(session, u.id)[0].ended_at is not None


def test_absolute_lifetime(client, session, clock):
    s = get_settings()
    u = make_user(session, "officer")
    session.commit()
    login(client, u.username)
    step = max(1, s.session_idle_minutes // 2)
    elapsed = 0
    while elapsed + step < s.session_max_hours * 60:  # busy all day: never idle
        clock.advance(minutes=step)
        elapsed += step
        assert client.get("/account", follow_redirects=False).status_code == 200, elapsed
    clock.advance(minutes=step)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_api_tokens_expire_and_can_be_revoked(client, session, clock):
    u = make_user(session, "officer")
    session.commit()
    r = client.post(
        "/api/v1/auth/token", data={"username": u.username, "password": "Correct-Horse-42"}
    )
    assert r.status_code == 200
    token = r.json()["access_token"]
    assert r.json()["expires_in"] == get_settings().api_token_hours * 3600
    user = session.get(User, u.id)
    assert accounts.resolve_api_token(session, token).id == u.id
    clock.advance(hours=get_settings().api_token_hours, seconds=1)
    assert accounts.resolve_api_token(session, token) is None
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/revoke", headers=h).status_code == 401
    clock.offset = clock.offset * 0
    assert client.post("/api/v1/auth/revoke", headers=h).status_code == 204
    assert client.post("/api/v1/auth/revoke", headers=h).status_code == 401
    assert user.id


def test_an_inactive_users_token_is_refused(client, session):
    """Whatever made the user inactive (here a write outside the services, which end the
    tokens), their live token no longer signs them in; an unknown token neither."""
    u = make_user(session, "officer")
    session.commit()
    token, _ = accounts.issue_api_token(session, session.get(User, u.id))
    session.commit()
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/followups", headers=h).status_code == 200
    session.execute(update(User).where(User.id == u.id).values(is_active=False))
    session.commit()
    assert client.get("/api/v1/followups", headers=h).status_code == 401
    assert accounts.resolve_api_token(session, token) is None
    assert accounts.resolve_api_token(session, token[:-1] + "x") is None
