"""In headless Chromium: a board move that loses to someone else's save (409) shows the toast
and swaps in the current card, so the next click moves it instead of repeating the 409 until
the page is reloaded (ATTACK9 P3-12)."""

from __future__ import annotations

import pytest

from crm.models.projects import Project
from tests.browser.conftest import ARGS, CHROMIUM, require_chromium
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

pytestmark = pytest.mark.browser


def test_a_stale_board_move_refreshes_the_card(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    dept = make_department(session)
    officer = make_user(session, "officer", dept, username="stale_board_officer")
    firm = make_firm(session, "陈旧卡片有限公司")
    p = make_project(session, firm, "NB", "lead", owner=officer, title="陈旧卡片项目")
    session.commit()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(f"{base_url}/login")
        page.fill("#username", officer.username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base_url}/pipeline")
        page.wait_for_load_state("networkidle")
        card = page.locator(f"#card-{p.id}")
        assert card.get_attribute("data-version") == "1"
        # someone else saves the project meanwhile
        row = session.get(Project, p.id)
        row.notes = "改于别处"
        row.version += 1
        session.commit()
        with page.expect_response(lambda r: r.url.endswith(f"/projects/{p.id}/stage")) as first:
            card.locator("button").click()
        assert first.value.status == 409
        page.wait_for_selector("#toasts .toast")
        assert "卡片已更新" in page.locator("#toasts").inner_text()
        page.wait_for_function(f"document.querySelector('#card-{p.id}').dataset.version === '2'")
        assert page.locator(f"#card-{p.id}").count() == 1
        assert page.locator(f"#cards-lead #card-{p.id}").count() == 1
        with page.expect_response(lambda r: r.url.endswith(f"/projects/{p.id}/stage")) as second:
            page.locator(f"#card-{p.id} button").click()
        assert second.value.status == 200
        page.wait_for_selector(f"#cards-contacted #card-{p.id}")
        browser.close()
    session.expire_all()
    assert session.get(Project, p.id).stage == "contacted"
