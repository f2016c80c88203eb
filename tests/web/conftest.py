"""Web test helpers: the app through TestClient, and logging a user in the way a browser does.

def test_x(client, login, session):
    user = make_user(session, "officer", make_department(session)); session.commit()
    login(user)                      # POST /login with the csrftoken cookie
    client.get("/firms")             # now logged in
    client.post("/x", data={...} | login.csrf)   # form posts carry the token
    client.post("/x", data={...}, headers=login.htmx)  # HTMX posts send it as a header
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from crm.models.accounts import User
from server.app import create_app
from tests.factories import PASSWORD


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


class Login:
    """Callable: ``login(user)`` logs ``user`` in on the test client (password PASSWORD)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def token(self) -> str:
        if "csrftoken" not in self.client.cookies:
            self.client.get("/login")
        return self.client.cookies["csrftoken"]

    @property
    def csrf(self) -> dict[str, str]:
        """Form data carrying the CSRF token: ``data={...} | login.csrf``."""
        return {"csrf_token": self.token}

    @property
    def htmx(self) -> dict[str, str]:
        """Headers of an HTMX request (with the CSRF header app.js adds)."""
        return {"HX-Request": "true", "X-CSRFToken": self.token}

    def __call__(self, user: User, password: str = PASSWORD) -> User:
        self.client.cookies.clear()
        r = self.client.post(
            "/login",
            data={"username": user.username, "password": password, "csrf_token": self.token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
        return user


@pytest.fixture
def login(client: TestClient) -> Login:
    return Login(client)


def log_in(client: TestClient, user: User, password: str = PASSWORD) -> str:
    """Log ``user`` in on ``client`` (a plain function); returns the CSRF token for posts."""
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/login",
        data={"username": user.username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client.cookies.get("csrftoken") or token


def hx(token: str) -> dict[str, str]:
    """Headers of an HTMX request (with the CSRF header app.js adds)."""
    return {"HX-Request": "true", "X-CSRFToken": token}


def switch_language(client: TestClient, code: str) -> None:
    """The header's language switch of a signed-in user: a POST, saved on the account (a GET
    of ``/lang/{code}`` only serves the login page and changes nothing once signed in)."""
    r = client.post(
        "/lang",
        data={"code": code, "next": "/", "csrf_token": client.cookies["csrftoken"]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
