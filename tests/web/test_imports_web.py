"""The import page: check, then import; rejected rows listed; officers refused."""

from __future__ import annotations

import io
import os
import re
import threading

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.config import get_settings
from crm.imports import worker
from crm.models.firms import Firm
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
    worker.wait_idle()  # the worker runs at nice 10: slow on a busy machine
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


def test_possible_duplicates_imported_anyway_per_row(manager_client, session):
    """A check shows each possible duplicate with the firms it may duplicate and an "import
    anyway" box; the ticked row goes in with the others, the unticked one is skipped and is in
    the rejected rows."""
    from tests.factories import make_firm

    boe = make_firm(session, "京东方")
    se = make_firm(session, "施耐德电气", name_en="Schneider Electric")
    session.commit()
    body = "企业名称\n京东方科技集团有限公司\n施耐德电气（中国）有限公司\n完全不同的公司\n"
    r = upload(manager_client, body, "check")
    rows = re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', r.text, re.S)
    assert [n for n, _ in rows] == ["2", "3"]
    assert f'href="/firms/{boe.id}"' in rows[0][1] and f'href="/firms/{se.id}"' in rows[1][1]
    assert 'name="row" value="2"' in rows[0][1]
    check_id = run_id_of(r.text)
    r = manager_client.post(
        f"/imports/runs/{check_id}/import-anyway", data={"row": ["2"], "mode": "skip"}
    )
    assert r.status_code == 200, r.text
    new_id = run_id_of(r.text)
    assert new_id != check_id
    worker.wait_idle()  # the worker runs at nice 10: slow on a busy machine
    r = manager_client.get(f"/imports/runs/{new_id}")
    assert "已导入 2 / 3" in r.text, r.text
    names = set(session.scalars(select(Firm.name_zh)))
    assert {"京东方科技集团有限公司", "完全不同的公司"} <= names
    assert "施耐德电气（中国）有限公司" not in names
    book = load_workbook(
        io.BytesIO(manager_client.get(f"/imports/runs/{new_id}/rejected.xlsx").content)
    )
    cells = [[c.value for c in row] for row in book.active.iter_rows()]
    assert cells[1][0] == 3 and "仍然导入" in cells[1][-1]
    # a row that was not a possible duplicate cannot be "confirmed"
    r = manager_client.post(f"/imports/runs/{check_id}/import-anyway", data={"row": ["4"]})
    assert r.status_code == 422 and "第 4 行不是待确认的行" in r.text


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


@pytest.fixture
def import_in_a_thread():
    """The import held from inside this process: it runs in a thread of it, not a process."""
    os.environ["CRM_IMPORT_WORKER"] = "thread"
    get_settings.cache_clear()
    yield
    del os.environ["CRM_IMPORT_WORKER"]
    get_settings.cache_clear()


def test_other_users_pages_and_writes_go_on_during_an_import(
    session, monkeypatch, import_in_a_thread
):
    """The import is held in the middle of its write (its transaction holding SQLite's write
    lock): another user's page answers meanwhile, and their write waits for the lock and is
    saved once the import commits — no 'database is locked', no 500."""
    from crm.imports import firm_writer
    from crm.models.activities import Activity
    from crm.models.imports import ImportRun
    from tests.factories import make_firm
    from tests.web.conftest import hx, log_in

    dept = make_department(session)
    mgr = make_user(session, "manager", dept)
    officer = make_user(session, "officer", dept)
    firm = make_firm(session, "重庆长安汽车")
    session.commit()
    writing, release = threading.Event(), threading.Event()
    real = firm_writer._insert_many

    def held(s, table, rows):
        real(s, table, rows)
        if table.name == "firm":
            writing.set()
            assert release.wait(120)

    monkeypatch.setattr(firm_writer, "_insert_many", held)
    body = "企业名称\n" + "".join(f"并发导入企业{i}\n" for i in range(50))
    with TestClient(create_app()) as importer, TestClient(create_app()) as other:
        token = log_in(importer, mgr)
        other_token = log_in(other, officer)  # (a login is a write too: before the import)
        r = importer.post(
            "/imports",
            data={"kind": "firms", "mode": "all"},
            files={"file": ("f.csv", body.encode(), "text/csv")},
            headers=hx(token),
        )
        assert r.status_code == 200
        run_id = run_id_of(r.text)
        assert writing.wait(120)  # the import is writing now
        page = other.get(f"/firms/{firm.id}")
        assert page.status_code == 200 and "重庆长安汽车" in page.text
        results = []
        t = threading.Thread(
            target=lambda: results.append(
                other.post(
                    f"/firms/{firm.id}/activities",
                    headers=hx(other_token),
                    data={"kind": "call", "occurred_at": "", "summary": "导入期间的电话"},
                )
            )
        )
        t.start()
        release.set()
        t.join(120)
        assert results and results[0].status_code == 200, results[0].text[:300]
        worker.wait_idle()  # the worker runs at nice 10: slow on a busy machine
    session.expire_all()
    assert session.get(ImportRun, run_id).status == "done"
    assert session.scalar(select(func.count()).select_from(Firm)) == 51
    assert session.scalar(select(func.count()).select_from(Activity)) == 1
