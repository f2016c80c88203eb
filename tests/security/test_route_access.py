"""Record-level rules on every route: walk app.routes, call each as five users, compare with
tests/security/access_table.py. A route without an entry fails."""

from __future__ import annotations

import pytest

from server.app import create_app
from tests.security.access_table import ACCESS, LOGIN
from tests.security.routes import UNSAFE, app_routes, fill_path
from tests.security.world import MARKER, ROLES, build_world, client_for, response_text

APP = create_app()
ROUTES = app_routes(APP)


def test_every_route_has_an_entry_in_the_access_table():
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in ACCESS]
    assert not missing, (
        "routes without an entry in tests/security/access_table.py "
        "(add one per route: who may call it?):\n  " + "\n  ".join(missing)
    )


def test_the_access_table_names_only_real_routes():
    stale = [f"{m} {p}" for m, p in ACCESS if (m, p) not in set(ROUTES)]
    assert not stale, "entries for routes the app does not serve:\n  " + "\n  ".join(stale)


def _reset(session):  # type: ignore[no-untyped-def]
    from tests.conftest import _clean

    session.rollback()
    session.expunge_all()
    _clean()
    return build_world(session)


def _check(role: str, expected, r, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    where = f"{method} {path} as {role}"
    assert r.status_code != 500, f"{where}: 500\n{r.text[:500]}"
    if expected == LOGIN:
        assert r.status_code in (303, 401), f"{where}: {r.status_code}, expected the login page"
        target = r.headers.get("location") or r.headers.get("hx-redirect") or ""
        assert target.startswith("/login"), f"{where}: sent to {target!r}, not /login"
        return
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert r.status_code in allowed, (
        f"{where}: got {r.status_code}, expected {expected}\n{r.text[:400]}"
    )


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_access(method: str, path: str, session) -> None:  # type: ignore[no-untyped-def]
    entry = ACCESS.get((method, path))
    if entry is None:
        pytest.fail(f"{method} {path} has no entry in tests/security/access_table.py")
    is_api = path.startswith("/api/")
    world = build_world(session)
    for i, role in enumerate(ROLES):
        if method in UNSAFE and i > 0:
            world = _reset(session)  # one caller's change must not decide the next one's status
        client = client_for(APP, session, world, role)
        token = client.headers.pop("X-Test-Bearer", None)
        headers: dict[str, str] = {}
        if is_api and token:
            headers["Authorization"] = f"Bearer {token}"
        if method in UNSAFE and not is_api:
            headers["X-CSRFToken"] = client.cookies.get("csrftoken", "")
        if entry.htmx:
            headers["HX-Request"] = "true"
        kwargs: dict = {}
        if method in UNSAFE:
            if is_api and entry.json is not None:
                kwargs["json"] = entry.json
            elif entry.form is not None:
                kwargs["data"] = entry.form
        url = fill_path(path, entry, world)
        r = client.request(
            method, url, params=entry.query, headers=headers, follow_redirects=False, **kwargs
        )
        _check(role, entry.expected(role), r, method, path)
        text = response_text(r.content, r.headers.get("content-type", ""))
        if role == "other":
            assert MARKER not in text, (
                f"{method} {path}: the confidential project leaks to an "
                f"officer of another department:\n{text[:600]}"
            )
        elif entry.lists_secret and role in ("own", "manager", "admin"):
            assert MARKER in text, (
                f"{method} {path} as {role}: the confidential project "
                "should be listed here (lists_secret=True)"
            )
        client.close()


def test_the_api_ignores_the_session_cookie(session) -> None:  # type: ignore[no-untyped-def]
    """The API is CSRF-exempt because it authenticates by token only: a browser session must
    not open it."""
    world = build_world(session)
    client = client_for(APP, session, world, "admin")
    client.headers.pop("X-Test-Bearer")
    for method, path in ROUTES:
        entry = ACCESS.get((method, path))
        if not path.startswith("/api/") or entry is None or entry.anon != 401:
            continue
        r = client.request(method, fill_path(path, entry, world), follow_redirects=False)
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} to a cookie"
