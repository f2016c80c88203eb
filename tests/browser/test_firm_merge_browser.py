"""Merging from the duplicate warning in headless Chromium: the firm page warns, the merge page
shows both side by side, the merge moves the projects, and undo puts the other firm back."""

from __future__ import annotations

import pytest

from crm.models.firms import Firm
from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    assert_no_csp_violations,
    require_chromium,
    watch_csp,
)
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

pytestmark = pytest.mark.browser


def test_merge_from_the_duplicate_warning(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    dept = make_department(session)
    manager = make_user(session, "manager", dept, username="mgr", password=PASSWORD)
    hp = make_firm(session, "惠普", website="https://hp.example")
    dup = make_firm(session, "惠普（重庆）有限公司", country="美国")
    make_project(session, dup, "NB", "signed", owner=manager, title="惠普重庆笔电基地")
    session.commit()
    hp_id, dup_id = hp.id, dup.id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        found = watch_csp(page)
        page.goto(f"{base_url}/login")
        page.fill("#username", "mgr")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base_url}/firms/{hp_id}")
        warning = page.locator("#duplicate-warning")
        assert warning.get_by_text("惠普（重庆）有限公司").count() == 1
        warning.locator("a.merge-link").first.click()
        page.wait_for_url(f"**/firms/{hp_id}/merge?other={dup_id}")
        assert page.locator("tr.differs").count() >= 1  # the names differ
        page.check("input[name=choice_name_zh][value=this]")
        page.click("#merge-submit")
        page.wait_for_url(f"**/firms/{hp_id}?merged=*")
        assert page.locator("#projects").get_by_text("惠普重庆笔电基地").count() == 1  # moved
        assert page.get_by_text("惠普（重庆）有限公司").count() >= 1  # now an alias
        session.expire_all()
        assert session.get(Firm, dup_id) is None
        page.click("#undo-merge")
        page.wait_for_url(f"**/firms/{hp_id}")
        session.expire_all()
        assert session.get(Firm, dup_id).country == "美国"
        assert_no_csp_violations(found)
        browser.close()
