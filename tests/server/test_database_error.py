"""A database error other than "busy" (a table missing after a bad restore, a dropped server),
or any error our code did not handle, is answered with the fixed 500 and the client's
keep-alive connection survives it: the next request on the same connection is served (it used
to be reset). Through a real uvicorn, a real SQL error and a real exception."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy import text

from crm.db import get_engine
from tests.servers import free_port


@pytest.fixture
def server(database: str) -> Iterator[int]:
    from server.app import create_app

    app = create_app()

    def broken() -> None:  # a real database error: the statement names no table there is
        with get_engine().connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table_after_restore"))

    def crashing() -> None:  # not a database error: a fault in our own code
        raise RuntimeError("a bug nobody handled")

    def duplicate() -> None:  # a real unique violation, as the loser of a race meets it
        with get_engine().begin() as conn:
            conn.execute(text("CREATE TEMP TABLE raced (k integer PRIMARY KEY)"))
            conn.execute(text("INSERT INTO raced VALUES (1)"))
            conn.execute(text("INSERT INTO raced VALUES (1)"))

    def orphan() -> None:  # a real foreign-key violation: the row it points at is gone
        with get_engine().begin() as conn:
            conn.execute(text("CREATE TEMP TABLE gone (k integer PRIMARY KEY)"))
            conn.execute(text("CREATE TEMP TABLE child (k integer REFERENCES gone (k))"))
            conn.execute(text("INSERT INTO child VALUES (7)"))

    app.add_api_route("/api/v1/raced-unique", duplicate, methods=["POST"])
    app.add_api_route("/api/v1/raced-gone", orphan, methods=["POST"])
    app.add_api_route("/api/v1/broken-table", broken, methods=["GET"])
    app.add_api_route("/broken-table", broken, methods=["GET"])
    app.add_api_route("/api/v1/broken-code", crashing, methods=["GET"])
    app.add_api_route("/broken-code", crashing, methods=["GET"])
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(400):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield port
    srv.should_exit = True
    thread.join(10)


def test_the_connection_survives_a_database_error(server, caplog):
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        conn.request("GET", "/api/v1/broken-table", headers={"Accept-Language": "en"})
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and body["error"] == "internal_error"
        assert "no_such_table" not in json.dumps(body) and "SELECT" not in json.dumps(body)
        assert r.getheader("Content-Security-Policy")  # the headers of every answer
        # the same connection, again: a page this time, then a page that works
        conn.request("GET", "/broken-table")
        r = conn.getresponse()
        page = r.read().decode()
        assert r.status == 500 and "服务器内部错误" in page and "no_such_table" not in page
        conn.request("GET", "/login")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    finally:
        conn.close()
    assert "no_such_table_after_restore" in caplog.text  # the log keeps what happened


def test_the_connection_survives_an_unhandled_error(server, caplog):
    """ATTACK8 P2-3: after an unhandled exception (not a database error) the next request on
    the same keep-alive connection used to be reset."""
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        for path in ("/api/v1/broken-code", "/broken-code", "/api/v1/broken-code"):
            conn.request("GET", path, headers={"Accept-Language": "en"})
            r = conn.getresponse()
            body = r.read().decode()
            assert r.status == 500 and "a bug nobody handled" not in body, body
            assert "Traceback" not in body and r.getheader("Content-Security-Policy")
        conn.request("GET", "/login")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    finally:
        conn.close()
    assert "a bug nobody handled" in caplog.text


def test_a_write_that_lost_a_race_to_a_constraint_is_a_409(server, caplog):
    """ATTACK8 P2-9: on PostgreSQL the loser of two simultaneous creations of one firm (a
    unique key), or a contact added to a firm merged away meanwhile (a foreign key), got the
    fixed 500; it is told what happened (a conflict either way: the row it points at was there
    when it asked — never "not found"), and the connection stays."""
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        for path, status, code in (
            ("/api/v1/raced-unique", 409, "conflict"),
            ("/api/v1/raced-gone", 409, "conflict"),
        ):
            conn.request("POST", path, headers={"Accept-Language": "en"})
            r = conn.getresponse()
            body = json.loads(r.read())
            assert (r.status, body["error"]) == (status, code), body
            assert "raced" not in json.dumps(body) and "INSERT" not in json.dumps(body)
        conn.request("GET", "/login")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    finally:
        conn.close()
