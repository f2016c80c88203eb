"""Page input as strict as the API's: a walk of every page route with NUL bytes, ids past 2^63
and invalid UTF-8 (path, query string and form body) sees a 4xx and never a 500, and a refused
form changes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crm.models.firms import Firm
from crm.models.projects import Project
from server.app import create_app
from tests.factories import make_department, make_firm, make_project, make_user
from tests.security.conftest import login
from tests.security.routes import app_routes

HUGE = str(2**63 + 7)
PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}")


def _page_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        (m, p)
        for m, p in app_routes(app)
        if not p.startswith(("/api/", "/static")) and m != "WEBSOCKET" and p != "/logout"
    ]


@pytest.fixture
def admin_client(session):  # type: ignore[no-untyped-def]
    dep = make_department(session)
    make_user(session, "admin", username="inputadmin")
    officer = make_user(session, "officer", dep, username="inputofficer")
    firm = make_firm(session, "输入测试企业")
    project = make_project(session, firm, "IC", "signed", owner=officer)
    session.commit()
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as c:
        assert login(c, "inputadmin").status_code == 303
        c.project_id = project.id  # type: ignore[attr-defined]
        c.app_ = app  # type: ignore[attr-defined]
        yield c


def _post(c: TestClient, path: str, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return c.post(
        path,
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "X-CSRFToken": c.cookies["csrftoken"],
            **headers,
        },
        follow_redirects=False,
    )


def test_every_page_route_refuses_huge_ids_nul_and_bad_utf8_without_a_500(admin_client, session):
    c = admin_client
    before = (session.scalar(select(func.count()).select_from(Firm)),)
    seen = []
    for method, path in _page_routes(c.app_):
        filled = PARAM.sub(HUGE, path)
        if method == "GET":
            answers = [
                c.get(filled, follow_redirects=False),
                c.get(path.split("{")[0] + "?q=a%00b&parent_q=a%00b", follow_redirects=False),
                c.get(path.split("{")[0] + "?q=%FF%FE", follow_redirects=False),
            ]
        else:
            token = "csrf_token=" + c.cookies["csrftoken"]
            answers = [
                _post(c, filled, f"{token}&name=x".encode()),
                _post(c, filled, f"{token}&name_zh=a%00b&title=a%00b".encode()),
                _post(c, filled, f"{token}&name_zh=%FF%FE&title=%C3%28".encode()),
            ]
        for r in answers:
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
            assert "Traceback" not in r.text
        seen.append(path)
    assert len(seen) > 30, seen  # the walk saw the pages
    session.expire_all()
    assert (session.scalar(select(func.count()).select_from(Firm)),) == before


def test_the_named_cases_answer_4xx_in_the_pages_language(admin_client, session):
    c = admin_client
    for url in ("/firms?q=a%00b", "/projects/new?q=a%00b", "/firms/parents?parent_q=a%00b"):
        r = c.get(url)
        assert r.status_code == 400, (url, r.status_code)
        assert "无效字符" in r.text and "<main" in r.text
    assert c.get(f"/firms/{HUGE}").status_code == 404
    assert c.get("/firms?owner_id=" + HUGE).status_code in (400, 404, 422)
    pid = c.project_id  # type: ignore[attr-defined]
    row = session.get(Project, pid)
    assert row is not None
    snapshot = row.model_dump()
    token = "csrf_token=" + c.cookies["csrftoken"]
    for body in (f"{token}&stage=bogus&version=1", f"{token}&stage=landed&version=abc"):
        r = _post(c, f"/projects/{pid}/stage", body.encode())
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text[:300])
    r = c.get("/pipeline/column/signed")
    assert r.status_code < 500
    # invalid UTF-8 in a form is refused, not stored as U+FFFD
    r = _post(c, "/firms/new", f"{token}&name_zh=%E6%83%A0%FF".encode())
    assert r.status_code == 400
    session.expire_all()
    assert session.scalar(select(func.count()).where(Firm.name_zh.contains("\ufffd"))) == 0
    assert session.get(Project, pid).model_dump() == snapshot  # type: ignore[union-attr]


def test_an_id_is_ascii_digits_up_to_the_column_range_everywhere(admin_client, session):
    """One reading of a page's ids (``crm.schemas.read_id``, ``unreadable_id``): a superscript,
    Unicode digits, or 20 digits below zero are "no such record" in a path or under an id's
    name — not a 500 from ``int("²")`` or from the database (OverflowError on SQLite)."""
    from crm.schemas import read_id, unreadable_id

    assert [read_id(v) for v in ("12", " 12 ", "0", str(2**31 - 1))] == [12, 12, 0, 2**31 - 1]
    for bad in ("１２", "²", "-3", "1e3", "0x10", str(2**31), "9" * 20, "", None, True, 1.5):
        assert read_id(bad) is None, bad
    for v in ("１２", "٣", "²", "-" + "1" * 20, "1" * 20 + ".0", "1_" * 12, str(2**31)):
        assert unreadable_id(v), v
    for v in ("12", "-3", "abc", "1e30", "0x10", "1.5", "", "-"):
        assert not unreadable_id(v), v
    # a path's or query string's id: str(n) for 1 … 2^31−1, nothing else (ATTACK11 F6)
    from crm.schemas import MAX_ID, parse_id

    assert [parse_id(v) for v in ("1", "12", "1000000000", str(MAX_ID))] == [1, 12, 10**9, MAX_ID]
    for bad in ("0", "01", "+1", " 1", "1 ", "1\n", "1.0", "1e0", "-1", "１", str(MAX_ID + 1)):
        assert parse_id(bad) is None, bad
    for n in (2**31 - 2, 2**31 - 10, 2**31 + 1, 2 * 10**9 - 1, 2147483599, 2147483700, 10**10):
        assert (parse_id(str(n)) == n) == (n <= MAX_ID), n
    c = admin_client
    for url in ("/firms/%C2%B2", "/activities/-12345678901234567890", "/firms/%EF%BC%91%EF%BC%92"):
        assert c.get(url).status_code == 404, url
    assert c.get("/firms/similar?name_zh=x&exclude=%C2%B2").status_code < 500
    assert c.get("/pipeline?officer=%EF%BC%91" + "0" * 20).status_code == 404
    token = "csrf_token=" + c.cookies["csrftoken"]
    before = session.scalar(select(func.count()).select_from(Firm))
    fullwidth = "%EF%BC%91" * 20  # "１" × 20
    for body in (
        f"{token}&name_zh=新企业&parent_id={fullwidth}",
        f"{token}&name_zh=新企业&parent_id=%C2%B2",
    ):
        r = _post(c, "/firms/new", body.encode())
        assert 400 <= r.status_code < 500, (body, r.status_code)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Firm)) == before
