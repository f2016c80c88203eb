"""PostgreSQL: a pooled connection the server closed (a restart, an administrator ending the
backends) is noticed before a request uses it, and renewed — the next page is served, not
answered with an error — though a healthy connection is no longer pinged at each checkout."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from crm.db import get_engine
from server.app import create_app
from tests.factories import make_department, make_user
from tests.web.conftest import log_in


def _end_every_backend_of_the_pool() -> None:
    """As a server restart does: the server ends each connection of this database."""
    url = get_engine().url
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # this database's backends only, listed first (a terminating function in the same
        # WHERE may run before the database is compared, on every backend of the server)
        pids = (
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            .scalars()
            .all()
        )
        assert pids  # the app's pooled connections
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"), {"p": pids}
            ).scalar_one()
            if not left:
                break
            time.sleep(0.05)
    admin.dispose()


def test_pages_are_served_after_the_server_ended_the_pooled_connections(session) -> None:
    if get_engine().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connections")
    officer = make_user(session, "officer", make_department(session))
    session.commit()
    with TestClient(create_app()) as client:
        log_in(client, officer)
        assert client.get("/account").status_code == 200
        assert client.get("/").status_code == 200
        _end_every_backend_of_the_pool()
        for url in ("/account", "/", "/firms"):
            r = client.get(url, follow_redirects=False)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
