"""The login page, sessions and the health check, through the real app."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.factories import PASSWORD, make_department, make_user


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def csrf(client: TestClient) -> str:
    client.get("/login")
    return client.cookies["csrftoken"]


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_login_page_in_chinese_by_default(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert "登录" in r.text and 'name="csrf_token"' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_anonymous_is_sent_to_login(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_and_logout(client, session):
    u = make_user(session, "officer", make_department(session), display_name="张三")
    session.commit()
    token = csrf(client)
    r = client.post(
        "/login",
        data={"username": u.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    home = client.get("/")
    assert home.status_code == 200 and "张三" in home.text
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_user_say_the_same(client, session):
    u = make_user(session, "officer")
    session.commit()
    token = csrf(client)
    a = client.post(
        "/login", data={"username": u.username, "password": "nope-nope-nope", "csrf_token": token}
    )
    b = client.post(
        "/login", data={"username": "ghost", "password": "nope-nope-nope", "csrf_token": token}
    )
    msg = re.compile(r'role="alert">([^<]+)<')
    assert a.status_code == b.status_code == 401
    assert msg.search(a.text).group(1) == msg.search(b.text).group(1)


def test_post_without_csrf_token_is_refused(client, session):
    u = make_user(session, "officer")
    session.commit()
    client.get("/login")
    r = client.post("/login", data={"username": u.username, "password": PASSWORD})
    assert r.status_code == 403


def test_a_method_a_page_does_not_take_is_an_html_page(client):
    client.get("/login")
    r = client.delete("/login", headers={"x-csrftoken": client.cookies["csrftoken"]})
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    assert "GET" in r.headers["allow"] and "<html" in r.text
    r = client.put("/api/v1/firms/1")
    assert r.status_code == 405 and r.headers["content-type"] == "application/json"
