"""The firm list's filters in Chromium (ATTACK7 P3-1): the form's ``hx-trigger`` parses (htmx
reported ``htmx:syntax:error`` twice on every load: ``from:`` takes one token unless the selector
is in parentheses) and choosing a filter brings the list without a page load."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, require_chromium, watch_csp
from tests.factories import PASSWORD, make_department, make_firm, make_user

pytestmark = pytest.mark.browser

_WATCH = """
window.__htmxErrors = [];
['htmx:syntax:error', 'htmx:error'].forEach(function (name) {
  document.addEventListener(name, function (e) { window.__htmxErrors.push(name); });
});
"""


def test_the_firm_filters_parse_and_a_select_filters_the_list(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    d = make_department(session)
    make_user(session, "officer", d, username="filterer")
    make_firm(session, "惠普（重庆）有限公司", global500_rank=26)
    make_firm(session, "本地小企业")
    session.commit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(locale="zh-CN")
            ctx.set_default_timeout(60_000)  # slow machines; no timed assertions
            page = ctx.new_page()
            violations = watch_csp(page)
            page.add_init_script(_WATCH)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base_url}/login")
            page.fill("#username", "filterer")
            page.fill("#password", PASSWORD)
            with page.expect_navigation(url=f"{base_url}/", timeout=90_000):
                page.click("button[type=submit]")
            page.goto(f"{base_url}/firms")
            assert page.evaluate("window.__htmxErrors") == []
            with page.expect_response(lambda r: "tier=global500" in r.url):
                page.select_option("select[name=tier]", "global500")
            page.wait_for_function("!document.body.innerText.includes('本地小企业')")
            assert "惠普（重庆）有限公司" in page.inner_text("#results")
            assert "tier=global500" in page.url  # pushed: the filter survives a reload
            assert page.evaluate("window.__htmxErrors") == []
            assert not errors, errors
            assert not violations, violations
        finally:
            browser.close()
