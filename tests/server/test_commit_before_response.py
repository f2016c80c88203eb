"""A write is committed before its response starts: the redirect after a form post, or the
API's 201, can never reach the client ahead of the data it reports (read-your-writes)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from crm.db import get_engine
from server.app import create_app
from tests.factories import make_department, make_user
from tests.web.conftest import log_in


def _name_in_db(department_id: int) -> str:
    with get_engine().connect() as conn:  # a separate connection: sees committed rows only
        return conn.execute(
            text("SELECT name FROM department WHERE id = :i"), {"i": department_id}
        ).scalar_one()


def test_form_post_is_committed_when_the_redirect_starts(session) -> None:
    dep = make_department(session, name="旧名", code="D1")
    admin = make_user(session, "admin", username="boss")
    session.commit()
    app = create_app()
    seen: list[tuple[int, str]] = []

    async def watching(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_and_look(message: dict[str, Any]) -> None:
            if (
                message["type"] == "http.response.start"
                and scope["method"] == "POST"
                and scope["path"] == f"/admin/departments/{dep.id}"
            ):
                seen.append((message["status"], _name_in_db(dep.id)))
            await send(message)

        await app(scope, receive, send_and_look)

    with TestClient(watching) as client:
        token = log_in(client, admin)
        r = client.post(
            f"/admin/departments/{dep.id}",
            data={"name": "新名", "code": "D1", "version": dep.version, "csrf_token": token},
            follow_redirects=False,
        )
    assert r.status_code == 303, r.text[:500]
    assert seen == [(303, "新名")]
