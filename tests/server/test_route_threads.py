"""A route that reads the database runs in a worker thread, never on the event loop: a page
form's route takes its form from ``web.forms.FormBody`` (read on the loop) and is a plain
``def``. An ``async def`` route that ran SQL would hold every other request of its process
while the database answers."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator

import pytest
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from crm.db import get_engine
from crm.models.activities import Activity
from server.app import create_app
from server.deps import get_session
from tests.factories import make_department, make_firm, make_user
from tests.web.conftest import log_in
from web.visit import page_visit, short_write_visit

# async routes that still take the request's session (their SQL runs on the event loop): to
# be converted as above; the list may only shrink
STILL_ASYNC = {
    "web.bulk.reassign_firms",
    "web.bulk.reassign_projects",
    "web.followups.create_followup_form",
    "web.followups.edit_followup_form",
    "web.handover.handover_submit",
    "web.policy_admin.preview",
    "web.policy_admin.apply",
    "web.projects.create_project_form",
    "web.projects.edit_project_form",
    "web.projects.add_capital",
}


def _takes_session(dependant) -> bool:  # type: ignore[no-untyped-def]
    return any(
        d.call in (get_session, page_visit, short_write_visit) or _takes_session(d)
        for d in dependant.dependencies
    )


def test_no_new_async_route_runs_sql_on_the_event_loop() -> None:
    routes = [rc.original_route for rc in iter_route_contexts(create_app().routes)]
    assert len(routes) > 100  # the routers' routes, not only the app's own
    found = {
        f"{r.endpoint.__module__}.{r.endpoint.__name__}"
        for r in routes
        if isinstance(r, APIRoute)
        and inspect.iscoroutinefunction(r.endpoint)
        and _takes_session(r.dependant)
    }
    assert found <= STILL_ASYNC, sorted(found - STILL_ASYNC)
    assert "web.firm_page.log_contact" not in found


@pytest.fixture
def sql_threads() -> Iterator[list[int]]:
    """The thread of every statement sent to the database."""
    seen: list[int] = []

    def before(*_: object) -> None:
        seen.append(threading.get_ident())

    event.listen(get_engine(), "before_cursor_execute", before)
    yield seen
    event.remove(get_engine(), "before_cursor_execute", before)


def test_logging_a_contact_runs_no_sql_on_the_event_loop(session, sql_threads) -> None:
    officer = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "惠普")
    session.commit()
    app = create_app()

    @app.get("/_test/loop")
    async def loop_thread() -> PlainTextResponse:
        return PlainTextResponse(str(threading.get_ident()))

    with TestClient(app) as client:
        token = log_in(client, officer)
        loop = int(client.get("/_test/loop").text)
        sql_threads.clear()
        r = client.post(
            f"/firms/{firm.id}/activities",
            headers={"HX-Request": "true", "X-CSRFToken": token},
            data={"kind": "call", "occurred_at": "2026-11-20T10:30", "summary": "电话沟通"},
        )
    assert r.status_code == 200, r.text[:500]
    assert session.scalar(select(Activity.summary)) == "电话沟通"
    assert sql_threads and loop not in sql_threads
