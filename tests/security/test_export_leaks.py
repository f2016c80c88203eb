"""No export holds a row its list would not show. Every list's export — from the page and from
the API, as Excel — is read cell by cell as an officer of another department (the world's
confidential project, its activities and follow-ups are department A's): the marker never
appears. The project's own officer gets it from the lists that list it, so its absence means
something."""

from __future__ import annotations

import pytest

from server.app import create_app
from tests.security.world import MARKER, build_world, client_for, response_text

APP = create_app()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (url, lists the confidential records for the project's own officer)
PAGE_EXPORTS = [
    ("/firms/export.xlsx", False),
    ("/contacts?format=xlsx", False),
    ("/pipeline?view=table&format=xlsx", True),
    ("/followups?status=all&format=xlsx", True),
    ("/activities?format=xlsx", True),
]
API_EXPORTS = [
    ("/api/v1/firms?format=xlsx", False),
    ("/api/v1/contacts?format=xlsx", False),
    ("/api/v1/projects?format=xlsx", True),
    ("/api/v1/followups?format=xlsx", True),
    ("/api/v1/activities?format=xlsx", True),
]
ADMIN_EXPORTS = ["/admin/audit?format=xlsx", "/admin/users?format=xlsx"]


def _get(client, url: str):  # type: ignore[no-untyped-def]
    token = client.headers.get("X-Test-Bearer")
    headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
    r = client.get(url, headers=headers)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith(XLSX), url
    return response_text(r.content, r.headers["content-type"])


@pytest.mark.parametrize(("url", "listed"), PAGE_EXPORTS + API_EXPORTS)
def test_an_export_never_holds_another_departments_confidential_rows(session, url, listed):  # type: ignore[no-untyped-def]
    world = build_world(session)
    session.commit()
    other = client_for(APP, session, world, "other")
    assert MARKER not in _get(other, url)
    if listed:
        own = client_for(APP, session, world, "own")
        assert MARKER in _get(own, url)


def test_the_admin_exports_are_for_admins_only(session):  # type: ignore[no-untyped-def]
    world = build_world(session)
    session.commit()
    for role in ("other", "own", "manager"):
        c = client_for(APP, session, world, role)
        for url in ADMIN_EXPORTS:
            assert c.get(url).status_code == 403, (role, url)
    admin = client_for(APP, session, world, "admin")
    for url in ADMIN_EXPORTS:
        _get(admin, url)
