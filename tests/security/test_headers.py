"""Security headers on every response: the CSP (no 'unsafe-inline'), nosniff, frame-ancestors,
referrer policy, no-store — on every page (walked from the route table), static files and
errors."""

from __future__ import annotations

import pytest

from tests.security.access_table import ACCESS
from tests.security.routes import fill_path
from tests.security.test_route_access import APP, ROUTES
from tests.security.world import build_world, client_for

GETS = [p for m, p in ROUTES if m == "GET"]


def check_headers(r, where: str) -> None:  # type: ignore[no-untyped-def]
    csp = r.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("script-src") == "script-src 'self'", (where, csp)
    assert directives.get("style-src") == "style-src 'self'", (where, csp)
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (where, csp)
    assert directives.get("object-src") == "object-src 'none'", (where, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (where, csp)
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") == "same-origin", where
    assert r.headers.get("x-frame-options") == "DENY", where


@pytest.mark.parametrize("path", GETS)
def test_every_page_sends_the_security_headers(path, session):
    world = build_world(session)
    for role in ("anon", "admin"):
        client = client_for(APP, session, world, role)
        token = client.headers.pop("X-Test-Bearer", None)
        headers = {"Authorization": f"Bearer {token}"} if token and path.startswith("/api/") else {}
        r = client.get(
            fill_path(path, ACCESS.get(("GET", path)), world),
            headers=headers,
            follow_redirects=False,
        )
        check_headers(r, f"GET {path} as {role}")
        if not path.startswith("/static/"):
            assert r.headers.get("cache-control") == "no-store", path
        client.close()


def test_static_files_errors_and_refusals_send_them_too(session):
    world = build_world(session)
    client = client_for(APP, session, world, "anon")
    for r, where in [
        (client.get("/static/app.js"), "static"),
        (client.get("/no-such-page"), "404"),
        (client.get("/api/v1/no-such-thing"), "API 404"),
        (client.delete("/login"), "405"),
        (client.post("/logout"), "CSRF 403"),
        (client.post("/login", content=b"x" * 20, headers={"content-length": str(10**9)}), "413"),
    ]:
        check_headers(r, where)


def test_htmx_is_configured_without_indicator_styles(session):
    world = build_world(session)
    client = client_for(APP, session, world, "anon")
    html = client.get("/login").text
    assert '"includeIndicatorStyles": false' in html
    assert "<style" not in html and " style=" not in html
