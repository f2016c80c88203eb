"""An import in headless Chromium: upload a file, watch the run's progress as the page polls it,
read the report, open the import history and download the rejected rows as .xlsx."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.models.firms import Firm
from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    assert_no_csp_violations,
    require_chromium,
    watch_csp,
)
from tests.factories import PASSWORD, make_department, make_user

pytestmark = pytest.mark.browser

# every state the run's fragment shows, in order, as the page swaps it in
STATES = """
window.__runStates = [];
new MutationObserver(function () {
  var el = document.getElementById('import-run');
  if (!el) return;
  var s = el.getAttribute('data-status');
  if (window.__runStates[window.__runStates.length - 1] !== s) window.__runStates.push(s);
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def test_upload_progress_history_and_rejected_rows(base_url, session, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    mgr = make_user(session, "manager", make_department(session), username="mgr", password=PASSWORD)
    session.commit()
    who = mgr.display_name or mgr.username
    rows = [f"导入测试企业{i:04d},NB" for i in range(1, 1201)]
    rows[6] = "导入测试坏企业,没有这个集群"  # spreadsheet row 8
    path = tmp_path / "企业名单.csv"
    path.write_text("企业名称,产业集群\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        found = watch_csp(page)
        page.add_init_script(STATES)
        page.goto(f"{base_url}/login")
        page.fill("#username", "mgr")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base_url}/imports")
        page.select_option("#kind", "firms")
        page.set_input_files("#file", str(path))
        page.check("input[name=mode][value=skip]")
        page.click("#import-form button[type=submit]")
        done = page.locator("#import-done")
        done.wait_for(timeout=120_000)
        assert "1199 / 1200" in done.inner_text()
        states = page.evaluate("window.__runStates")
        assert states[0] == "queued" and states[-1] == "done", states  # it polled to the end
        assert page.locator("#import-run tbody tr").first.inner_text().split()[0] == "8"
        session.expire_all()
        assert session.scalar(select(Firm.id).where(Firm.name_zh == "导入测试企业1200"))

        page.click("#import-history-link")
        page.wait_for_url("**/imports/history")
        row = page.locator("#import-history tbody tr").first
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        assert cells[2:5] == [who, "企业名单.csv", "企业"]
        assert cells[5] == "完成" and cells[6] == "1199" and cells[9] == "1"
        with page.expect_download() as dl:
            row.locator("a.rejected-xlsx").click()
        data = dl.value.path().read_bytes()
        ws = load_workbook(io.BytesIO(data)).active
        got = list(ws.iter_rows(values_only=True))
        assert got[0] == ("行号", "企业名称", "产业集群", "不合格原因")
        assert got[1][:3] == (8, "导入测试坏企业", "没有这个集群") and len(got) == 2
        assert "未知产业集群" in got[1][3]
        assert_no_csp_violations(found)
        browser.close()
