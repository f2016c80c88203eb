"""API test fixtures: the app, two departments, their people and bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from crm.accounts.service import issue_api_token
from crm.models.accounts import Department, User
from server.app import create_app
from tests.factories import make_department, make_user


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return create_app()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@dataclass
class People:
    dept_a: Department
    dept_b: Department
    officer: User  # department A
    officer_b: User  # department B
    manager: User  # department A
    admin: User
    headers: dict[str, dict[str, str]]

    def auth(self, who: str) -> dict[str, str]:
        return self.headers[who]


@pytest.fixture
def people(session) -> People:  # type: ignore[no-untyped-def]
    a, b = make_department(session, name="两江招商局", code="LJZS"), make_department(session)
    users = {
        "officer": make_user(session, "officer", a, display_name="张三"),
        "officer_b": make_user(session, "officer", b, display_name="李四"),
        "manager": make_user(session, "manager", a),
        "admin": make_user(session, "admin"),
    }
    headers = {
        k: {"Authorization": f"Bearer {issue_api_token(session, u)[0]}"} for k, u in users.items()
    }
    session.commit()
    return People(dept_a=a, dept_b=b, headers=headers, **users)
