"""Another writer holding the database's lock never turns a page into a 500.

A page view only stamps the session's "last seen" time, best effort and outside the request's
transaction: while another connection holds SQLite's write lock (or the session's row on
PostgreSQL) the page still answers and the stamp is skipped. A real write waits for the lock
(the busy timeout) and succeeds once it is free; when the lock stays held past the timeout,
nothing is saved and the answer is a 503 with Retry-After — a clear "try again", never a 500.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

import crm.db
from crm.db import get_engine, reset_engine
from crm.models.accounts import WebSession
from crm.models.activities import Activity
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_user


def _sqlite() -> bool:
    return get_engine().dialect.name == "sqlite"


@pytest.fixture
def firm_and_officer(session, login):  # type: ignore[no-untyped-def]
    dept = make_department(session)
    officer = make_user(session, "officer", dept)
    firm = make_firm(session, "重庆长安汽车")
    session.commit()
    login(officer)
    # the session was last seen long enough ago that this request would stamp it
    session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    session.commit()
    return firm, officer


def _last_seen(session) -> object:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(WebSession.last_seen_at))


def _activities(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Activity)) or 0


@pytest.fixture
def sqlite_writer() -> Iterator[sqlite3.Connection]:
    """Another process's connection to the same SQLite file, able to hold the write lock."""
    if not _sqlite():
        pytest.skip("SQLite's database-wide write lock")
    path = get_engine().url.database
    assert path
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


@pytest.fixture
def short_busy_timeout() -> Iterator[None]:
    """Writes give up after 0.3 s instead of 10 s (new connections read the setting)."""
    saved = crm.db.BUSY_TIMEOUT_MS
    crm.db.BUSY_TIMEOUT_MS = 300
    reset_engine()
    yield
    crm.db.BUSY_TIMEOUT_MS = saved
    reset_engine()


def test_a_page_answers_while_another_writer_holds_the_lock(
    client, session, firm_and_officer, sqlite_writer
) -> None:  # type: ignore[no-untyped-def]
    firm, _ = firm_and_officer
    before = _last_seen(session)
    sqlite_writer.execute("BEGIN IMMEDIATE")  # the write lock, held throughout
    r = client.get(f"/firms/{firm.id}")
    assert r.status_code == 200, r.text[:300]
    assert "重庆长安汽车" in r.text
    sqlite_writer.execute("ROLLBACK")
    assert _last_seen(session) == before  # the stamp was skipped, not waited for
    # with the lock free, the next page stamps the session
    assert client.get(f"/firms/{firm.id}").status_code == 200
    assert _last_seen(session) > before


def test_a_writing_request_stamps_its_session_in_its_own_transaction(
    client, login, session, firm_and_officer
) -> None:  # type: ignore[no-untyped-def]
    """A write request that holds SQLite's write lock from its start (``begin_write``) stamps
    its session in that transaction: on a connection of its own the stamp would wait for the
    request's own lock and be skipped."""
    firm, _ = firm_and_officer
    before = _last_seen(session)
    r = client.post(
        "/activities/new",
        data={"kind": "call", "summary": "电话回访", "firm_ids": str(firm.id)} | login.csrf,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    assert _activities(session) == 1
    assert _last_seen(session) > before


def test_a_writer_waits_for_the_lock_and_keeps_its_busy_timeout(sqlite_writer) -> None:  # type: ignore[no-untyped-def]
    """``begin_write`` tries ``BEGIN IMMEDIATE`` again until the other writer lets go, then
    holds the lock; its connection keeps the busy timeout for its other statements."""
    from sqlmodel import Session

    from crm.db import begin_write

    sqlite_writer.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: sqlite_writer.execute("ROLLBACK")).start()
    with Session(get_engine()) as s:
        begin_write(s)
        dbapi = s.connection().connection.driver_connection
        assert dbapi is not None and dbapi.in_transaction
        busy = dbapi.execute("PRAGMA busy_timeout").fetchone()[0]
        assert busy == crm.db.BUSY_TIMEOUT_MS
        s.rollback()


def test_a_contact_log_waits_for_the_lock_and_succeeds(
    client, login, session, firm_and_officer, sqlite_writer
) -> None:  # type: ignore[no-untyped-def]
    firm, _ = firm_and_officer
    sqlite_writer.execute("BEGIN IMMEDIATE")
    threading.Timer(0.5, lambda: sqlite_writer.execute("ROLLBACK")).start()
    r = client.post(
        f"/firms/{firm.id}/activities",
        headers=login.htmx,
        data={"kind": "call", "occurred_at": "", "summary": "电话回访"},
    )
    assert r.status_code == 200, r.text[:300]
    assert _activities(session) == 1


def test_a_contact_log_gets_a_retryable_503_when_the_lock_stays_held(
    client, login, session, firm_and_officer, sqlite_writer, short_busy_timeout
) -> None:  # type: ignore[no-untyped-def]
    firm, _ = firm_and_officer
    sqlite_writer.execute("BEGIN IMMEDIATE")
    data = {"kind": "call", "occurred_at": "", "summary": "电话回访"}
    r = client.post(f"/firms/{firm.id}/activities", headers=login.htmx, data=data)
    assert r.status_code == 503, r.text[:300]
    assert r.headers["Retry-After"] == "1"
    assert "请稍后重试" in r.text and "Traceback" not in r.text and "locked" not in r.text
    sqlite_writer.execute("ROLLBACK")
    assert _activities(session) == 0  # nothing half-saved
    # the same request again, with the lock free, is saved
    r = client.post(f"/firms/{firm.id}/activities", headers=login.htmx, data=data)
    assert r.status_code == 200, r.text[:300]
    assert _activities(session) == 1


def test_the_api_answers_busy_as_json(client, session, sqlite_writer, short_busy_timeout) -> None:  # type: ignore[no-untyped-def]
    from crm.accounts.service import issue_api_token

    dept = make_department(session)
    officer = make_user(session, "officer", dept)
    firm = make_firm(session, "重庆长安汽车")
    token = issue_api_token(session, officer)[0]
    session.commit()
    sqlite_writer.execute("BEGIN IMMEDIATE")
    r = client.post(
        "/api/v1/activities",
        headers={"Authorization": f"Bearer {token}"},
        json={"kind": "call", "summary": "电话", "firm_ids": [firm.id]},
    )
    sqlite_writer.execute("ROLLBACK")
    assert r.status_code == 503, r.text[:300]
    assert r.json()["error"] == "busy" and r.headers["Retry-After"] == "1"


def test_a_page_answers_while_the_session_row_is_locked_on_postgresql(
    client, session, firm_and_officer
) -> None:  # type: ignore[no-untyped-def]
    if _sqlite():
        pytest.skip("PostgreSQL row locks")
    firm, _ = firm_and_officer
    before = _last_seen(session)
    with get_engine().connect() as other:
        other.execute(text("SELECT id FROM web_session FOR UPDATE"))  # held until rollback
        r = client.get(f"/firms/{firm.id}")
        other.rollback()
    assert r.status_code == 200, r.text[:300]
    assert _last_seen(session) == before
