"""In headless Chromium at 1280 px: a title, name or link of one long unbroken word wraps
inside its column or card instead of widening the page (ATTACK9 P3-13: a 200-character title
made the pipeline table 1,602 px wide, pushing the stage column off-screen, and a firm's
website link ran out of its card; the firm page's "关联项目" select, as wide as its longest
option, widened that page too)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, require_chromium
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

pytestmark = pytest.mark.browser

WIDTH = 1280
LONG = "Q" * 200

TABLE = """() => { const t = document.querySelector('main table');
  return {scroll: t.scrollWidth, page: document.documentElement.scrollWidth}; }"""
LINK = """() => { const a = document.querySelector('main dd a[target=_blank]');
  const card = a.closest('.card, section, dl'); const r = a.getBoundingClientRect();
  const c = card.getBoundingClientRect();
  return {right: r.right, card: c.right, page: document.documentElement.scrollWidth}; }"""


def test_a_long_unbroken_title_or_link_stays_inside_the_page(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    dept = make_department(session)
    manager = make_user(session, "manager", dept, username="long_words_manager")
    firm = make_firm(session, "长词" + "W" * 120, name_en="Long words Inc.")
    firm.website = "https://example.com/" + "a" * 200
    make_project(session, firm, "NB", "contacted", owner=manager, title=LONG)
    session.commit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(f"{base_url}/login")
        page.fill("#username", manager.username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base_url}/pipeline?view=table")
        page.wait_for_load_state("networkidle")
        assert LONG in page.content()
        sizes = page.evaluate(TABLE)
        assert sizes["scroll"] <= WIDTH and sizes["page"] <= WIDTH, sizes
        page.goto(f"{base_url}/firms/{firm.id}")
        page.wait_for_load_state("networkidle")
        box = page.evaluate(LINK)
        assert box["right"] <= box["card"] + 1 and box["page"] <= WIDTH, box
        browser.close()
