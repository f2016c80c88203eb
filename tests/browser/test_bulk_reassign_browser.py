"""Bulk reassignment in headless Chromium: tick "select all" on the firm list, the bar counts
the rows, pick the heir, confirm: the firms change hands and the page says so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models.firms import Firm
from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    assert_no_csp_violations,
    require_chromium,
    watch_csp,
)
from tests.factories import PASSWORD, make_department, make_firm, make_user

pytestmark = pytest.mark.browser


def test_select_all_and_reassign_from_the_firm_list(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    dept = make_department(session)
    make_user(session, "manager", dept, username="bulkmgr", password=PASSWORD)
    leaver = make_user(session, "officer", dept)
    heir = make_user(session, "officer", dept, display_name="接手专员")
    for name in ("批量甲", "批量乙"):
        make_firm(session, name, owner_id=leaver.id)
    session.commit()
    heir_id = heir.id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        found = watch_csp(page)
        page.goto(f"{base_url}/login")
        page.fill("#username", "bulkmgr")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base_url}/firms")
        page.check("input[data-select-all]")
        assert page.inner_text("[data-bulk-count]") == "已选 2 项"
        page.select_option("#bulk-to", str(heir_id))
        page.click("#bulk-reassign button[type=submit]")
        page.wait_for_selector("#bulk-reassign .alert.ok")
        assert "已转交 2 条记录" in page.inner_text("#bulk-reassign")
        assert_no_csp_violations(found)
        browser.close()
    session.expire_all()
    owners = set(session.scalars(select(Firm.owner_id).where(Firm.name_zh.like("批量%"))))
    assert owners == {heir_id}
