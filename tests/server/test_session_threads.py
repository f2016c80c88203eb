"""The request's session: a reading request opens and ends it on the event loop (no thread
round trips beside its handler's), a request that wrote commits it in a worker thread — and
every write is committed either way."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session

from crm.db import get_engine
from crm.models.accounts import Department
from server.app import create_app
from server.deps import SessionDep
from tests.factories import make_department


@pytest.fixture
def commits() -> Iterator[list[int]]:
    """The thread of every commit of a request's session."""
    seen: list[int] = []

    def after_commit(session: Session) -> None:
        if "client_ip" in session.info:  # a request's session (server.deps.get_session)
            seen.append(threading.get_ident())

    event.listen(Session, "after_commit", after_commit)
    yield seen
    event.remove(Session, "after_commit", after_commit)


def _name(department_id: int) -> str:
    with get_engine().connect() as conn:  # a separate connection: sees committed rows only
        return conn.execute(
            text("SELECT name FROM department WHERE id = :i"), {"i": department_id}
        ).scalar_one()


def _app(department_id: int):  # type: ignore[no-untyped-def]
    app = create_app()

    @app.get("/_test/loop")
    async def loop_thread() -> PlainTextResponse:
        return PlainTextResponse(str(threading.get_ident()))

    @app.get("/_test/read")
    def read(session: SessionDep) -> PlainTextResponse:
        return PlainTextResponse(str(session.execute(text("SELECT count(*) FROM department"))))

    @app.get("/_test/raw-write")
    def raw_write(session: SessionDep) -> PlainTextResponse:
        session.execute(
            text("UPDATE department SET name = 'raw' WHERE id = :i"), {"i": department_id}
        )
        return PlainTextResponse("ok")

    @app.get("/_test/orm-write")
    def orm_write(session: SessionDep) -> PlainTextResponse:
        dep = session.get(Department, department_id)
        assert dep is not None
        dep.name = "orm"
        session.flush()
        return PlainTextResponse("ok")

    return app


def test_a_read_commits_on_the_loop_and_a_write_in_a_thread(session, commits) -> None:
    dep = make_department(session, name="start", code="D1")
    session.commit()
    sqlite = get_engine().dialect.name == "sqlite"
    with TestClient(_app(dep.id)) as client:
        loop = int(client.get("/_test/loop").text)

        assert client.get("/_test/read").status_code == 200
        # no worker thread for the session of a reading request; on SQLite, whose driver
        # tells that nothing was written, no commit at all (the session is only closed)
        assert commits == ([] if sqlite else [loop])
        commits.clear()

        assert client.get("/_test/raw-write").status_code == 200
        assert _name(dep.id) == "raw"  # committed
        if sqlite:  # the driver tells that the transaction wrote: its commit off the loop
            assert len(commits) == 1 and commits[0] != loop
        commits.clear()

        assert client.get("/_test/orm-write").status_code == 200
        assert _name(dep.id) == "orm"
        assert len(commits) == 1 and commits[0] != loop
