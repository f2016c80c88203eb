"""The city map in headless Chromium: the districts drawn from the vendored GeoJSON, the parks
placed, and a cluster filter that colours the guided parks by that cluster's status."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARGS, CHROMIUM, require_chromium, watch_csp
from tests.factories import PASSWORD
from tests.reports_data import coverage_world

pytestmark = pytest.mark.browser


def test_city_map_with_a_cluster_filter(base_url, session):
    require_chromium()
    from playwright.sync_api import sync_playwright

    w = coverage_world(session)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        found = watch_csp(page)
        page.goto(f"{base_url}/login")
        page.fill("#username", w.manager.username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base_url}/reports/map")
        page.wait_for_selector("#map-chart[data-drawn='1'] svg path", timeout=20000)
        assert page.locator("#map-chart svg path").count() >= 38  # the 38 districts at least
        assert page.locator("#map-chart svg text", has_text="两江新区").count() >= 1
        # the cluster filter
        page.select_option("#f-cluster", "NB")
        page.click("form.report-filters button[type=submit]")
        page.wait_for_url("**cluster=NB**")
        page.wait_for_selector("#map-chart[data-drawn='1'] svg path", timeout=20000)
        assert page.locator("tr[data-park='LJ'][data-status='covered']").count() == 1
        assert page.locator("tr[data-park='XY'][data-status='gap']").count() == 1
        assert page.locator("tr[data-park='WZ']").count() == 1  # NB is guided to the points
        assert page.locator("#map-chart svg text", has_text="西永微电园").count() >= 1
        page.screenshot(path="/tmp/i17-map-test.png")
        browser.close()
        assert not found, found
