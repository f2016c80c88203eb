"""Fixtures for the security tests: the app, clients and a controllable clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.factories import PASSWORD


class Clock:
    """The accounts service's clock, moved forward by the test (time passing, for real rules)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from crm.accounts import auth, sessions, tokens, users
    from crm.types import utcnow

    c = Clock()
    for module in (auth, sessions, tokens, users):
        monkeypatch.setattr(module, "utcnow", lambda: utcnow() + c.offset)
    return c


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    return create_app()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        c.get("/login")
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    if "csrftoken" not in client.cookies:
        client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
