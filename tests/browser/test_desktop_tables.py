"""In headless Chromium at desktop width: every list's headings sit over their columns (the
phone layout's card class, which the page script adds to every table, must not change a table's
layout on a desktop; a board rule named ``.cards`` once made every table a flex box, so the
headings bunched up on the left while the rows spread across the page)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, require_chromium
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

pytestmark = pytest.mark.browser

COLUMNS = """() => [...document.querySelectorAll('main table')].map(t => {
  const xs = row => [...row.children].map(c => Math.round(c.getBoundingClientRect().x));
  const head = t.querySelector('thead tr'), first = t.querySelector('tbody tr');
  return {display: getComputedStyle(t).display, head: head ? xs(head) : null,
          body: first && first.children.length === (head ? head.children.length : -1)
                ? xs(first) : null};
})"""


def test_headings_sit_over_their_columns_on_a_desktop(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    dept = make_department(session)
    manager = make_user(session, "manager", dept, username="tables_manager")
    firm = make_firm(session, "惠普有限公司", name_en="HP Inc.")
    make_project(session, firm, "NB", "contacted", owner=manager, title="惠普笔电基地")
    session.commit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(f"{base_url}/login")
        page.fill("#username", manager.username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        checked = 0
        for path in ("/firms", "/pipeline?view=table", "/followups", "/reports/layout"):
            page.goto(base_url + path)
            page.wait_for_load_state("networkidle")
            for t in page.evaluate(COLUMNS):
                assert t["display"] == "table", (path, t)
                if t["head"] and t["body"]:
                    assert t["head"] == t["body"], (path, t)
                    checked += 1
        browser.close()
    assert checked >= 3  # the lists with rows were compared
