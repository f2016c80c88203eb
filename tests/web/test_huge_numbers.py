"""A number longer than Python will convert (4,300 digits) in a path, a query string, a form or
an API body is refused with a 4xx like any other id past the database's range — never a 500
(ATTACK8 P2-3)."""

from __future__ import annotations

import pytest

from crm.accounts.tokens import issue_api_token
from tests.factories import make_department, make_user
from tests.web.conftest import log_in

HUGE = "9" * 5000

PAGES = [
    f"/firms/{HUGE}",
    f"/projects/{HUGE}",
    f"/firms?page={HUGE}",
    f"/followups?page={HUGE}",
    f"/pipeline?view=table&page={HUGE}",
]
API = [
    f"/api/v1/firms/{HUGE}",
    f"/api/v1/projects/{HUGE}",
    f"/api/v1/firms?offset={HUGE}",
    f"/api/v1/projects?limit={HUGE}",
]


@pytest.fixture
def admin(session):
    user = make_user(session, "admin", make_department(session))
    session.commit()
    return user


@pytest.mark.parametrize("url", PAGES)
def test_a_huge_number_in_a_page_request_is_a_4xx(client, admin, url):
    log_in(client, admin)
    r = client.get(url)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("url", API)
def test_a_huge_number_in_an_api_request_is_a_4xx(client, admin, session, url):
    token, _ = issue_api_token(session, admin)
    session.commit()
    r = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.json()["error"]


def test_a_huge_version_in_a_page_form_is_a_4xx(client, admin, login):
    log_in(client, admin)
    r = client.post("/firms/1/edit", data={"version": HUGE, "name_zh": "x"} | login.csrf)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
