"""The admin and account pages in headless Chromium with the CSP enforced: no violation reported,
the forms work (CSRF token in the form), an XSS payload in a name stays text."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    assert_no_csp_violations,
    require_chromium,
    watch_csp,
)
from tests.factories import PASSWORD, make_department, make_user

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_url(base_url: str) -> str:
    return base_url


def test_admin_pages_under_csp(server_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    dep = make_department(session, name="<img src=x onerror=alert(1)>局", code="X1")
    make_user(session, "admin", username="boss", password=PASSWORD)
    make_user(session, "officer", dep, username="xss", display_name="<script>alert(1)</script>")
    session.commit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        found = watch_csp(page)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{server_url}/login")
        page.fill("#username", "boss")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url.rstrip("/") == server_url, (page.url, page.content()[:2000])
        for path in ("/admin", "/admin/users", "/admin/departments", "/admin/audit", "/account"):
            page.goto(server_url + path)
            assert page.locator("main").count() == 1
        page.goto(f"{server_url}/admin/users")
        assert page.get_by_text("<script>alert(1)</script>").count() >= 1  # shown as text
        # filter the audit trail through HTMX (the CSRF header and CSP both in play)
        page.goto(f"{server_url}/admin/audit")
        page.select_option("select[name=action]", "login")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**action=login**")
        # the filtered rows: each shows the action by name, its code as the cell's title
        assert page.locator("#audit-results td[title=login]").count() >= 1
        assert page.locator("#audit-results td[title=create]").count() == 0
        # change a department's name through a plain form POST (csrf_token field)
        page.goto(f"{server_url}/admin/departments")
        row = page.locator("form[action^='/admin/departments/']").first
        row.locator("input[name=name]").fill("新部门名")
        row.locator("button").click()
        page.wait_for_url("**done=updated**")
        assert page.locator("input[value='新部门名']").count() == 1
        browser.close()
    assert not dialogs, f"a script ran: {dialogs}"
    assert_no_csp_violations(found)


def test_api_reference_renders_under_csp(server_url):
    """/api/docs: Swagger UI from the app's own static files (no CDN), started by a static
    script (no inline one), lists the API's operations with the CSP enforced."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        found = watch_csp(page)
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{server_url}/api/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock").count() > 40  # every operation of /api/v1
        assert page.get_by_text("/api/v1/firms", exact=True).count() >= 1
        browser.close()
    assert all(u.startswith(server_url) for u in requested), [
        u for u in requested if not u.startswith(server_url)
    ]
    assert_no_csp_violations(found)
