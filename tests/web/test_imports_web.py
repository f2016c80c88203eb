"""The import page: check, then import; rejected rows listed; officers refused."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.firms.models import Firm
from crm.imports import worker
from server.app import create_app
from tests.factories import PASSWORD, make_department, make_user


def login(client: TestClient, username: str) -> str:
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return token


@pytest.fixture
def manager_client(session):
    u = make_user(session, "manager", make_department(session))
    session.commit()
    with TestClient(create_app()) as c:
        token = login(c, u.username)
        c.headers.update({"X-CSRFToken": token, "HX-Request": "true"})
        yield c


def run_id_of(html: str) -> int:
    m = re.search(r'data-run="(\d+)"', html)
    assert m, html
    return int(m.group(1))


def upload(client, body: str | bytes, mode: str, name: str = "firms.csv", kind: str = "firms"):
    """Upload (the page answers at once with the queued run, which polls itself), then wait
    for the worker thread and return the run's fragment as the page's poll gets it."""
    data = body.encode() if isinstance(body, str) else body
    r = client.post(
        "/imports", data={"kind": kind, "mode": mode}, files={"file": (name, data, "text/csv")}
    )
    assert r.status_code == 200, r.text
    assert 'hx-trigger="every 1s"' in r.text  # the page polls the run
    worker.wait_idle(120)
    r = client.get(f"/imports/runs/{run_id_of(r.text)}")
    assert r.status_code == 200
    assert "hx-trigger" not in r.text  # finished: the polling stops
    return r


def test_check_then_import(manager_client, session):
    body = "企业名称,产业集群\n甲电子,NB\n乙电子,NOPE\n"
    r = upload(manager_client, body, "check")
    assert r.status_code == 200
    assert "1 行可以导入" in r.text and "未知产业集群：NOPE" in r.text
    r = upload(manager_client, body, "all")
    assert "未导入任何数据" in r.text
    assert session.scalar(select(func.count()).select_from(Firm)) == 0
    r = upload(manager_client, body, "skip")
    assert "已导入" in r.text
    assert set(session.scalars(select(Firm.name_zh))) == {"甲电子"}


def test_missing_file_and_template(manager_client):
    r = manager_client.post("/imports", data={"kind": "firms", "mode": "check"})
    assert r.status_code == 422 and "请选择文件" in r.text
    r = manager_client.get("/imports/template/projects.xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.cell(1, 1).value == "企业名称" and ws.cell(1, 3).value == "产业集群"


def test_officer_is_refused(session):
    u = make_user(session, "officer", make_department(session))
    session.commit()
    with TestClient(create_app()) as c:
        login(c, u.username)
        assert c.get("/imports").status_code == 403
