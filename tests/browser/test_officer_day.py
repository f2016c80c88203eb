"""End to end in headless Chromium (Debian's, driven by Playwright): log in, find a firm by
pinyin, log a contact with a follow-up, see it on My day, move projects on the board (drag and
button), switch the language. A missing browser fails; any CSP violation fails."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from crm.clock import now_local
from crm.models.projects import Project
from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    assert_no_csp_violations,
    require_chromium,
    watch_csp,
)
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, output_dir):  # type: ignore[no-untyped-def]
    ctx = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(60_000)  # CI machines under load are slow; no timed assertions
    pg = ctx.new_page()
    violations = watch_csp(pg)  # the DOM's securitypolicyviolation events, and the console
    problems: list[str] = []
    pg.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} at {m.location}")
            if ("Content Security Policy" in m.text or m.type == "error")
            else None
        ),
    )
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.problems = problems
    (output_dir / "screenshots").mkdir(parents=True, exist_ok=True)
    yield pg
    ctx.close()
    assert_no_csp_violations(violations)
    csp = [p for p in problems if "Content Security Policy" in p]
    assert not csp, f"CSP violations: {csp}"
    errors = [p for p in problems if "page error" in p]
    assert not errors, errors


def shot(page, output_dir, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(output_dir / "screenshots" / f"{name}.png"), full_page=True)


def _login(page, base_url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation(url=f"{base_url}/", timeout=90_000):
        page.click("button[type=submit]")


def test_log_a_contact_with_a_follow_up_and_see_it_on_my_day(page, base_url, session, output_dir):
    me = make_user(
        session, "officer", make_department(session), display_name="陈官员", username="e2e_officer"
    )
    firm = make_firm(session, "惠普", name_en="HP Inc.")
    make_project(session, firm, "NB", "contacted", owner=me, title="惠普笔电基地")
    session.commit()
    _login(page, base_url, "e2e_officer")
    shot(page, output_dir, "myday-empty")

    # find the firm by pinyin
    page.goto(f"{base_url}/firms")
    page.fill("#q", "huipu")
    link = page.locator(f'a[href="/firms/{firm.id}"]').first
    link.wait_for()
    shot(page, output_dir, "firms-search-huipu")
    link.click()
    page.wait_for_url(f"{base_url}/firms/{firm.id}")

    # log a contact with a follow-up, inline on the firm page
    started = time.monotonic()
    page.locator("#log-form label.seg", has_text="拜访").first.click()
    page.fill("#log-summary", "拜访惠普重庆，谈笔电二期")
    page.locator("#log-form details.followup-box summary").click()
    page.fill("#log-fu-title", "寄送园区资料")
    due = (now_local() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#log-fu-due", due)
    page.locator("#log-form button[type=submit]").first.click()
    page.get_by_text("拜访惠普重庆，谈笔电二期").first.wait_for()
    print(f"log a contact with a follow-up: {time.monotonic() - started:.1f}s of scripted input")
    shot(page, output_dir, "firm-page-logged")

    # it is on My day
    page.goto(f"{base_url}/")
    item = page.locator("#myday-followups .fu-item", has_text="寄送园区资料")
    item.wait_for()
    shot(page, output_dir, "myday")
    # one click: done; the row goes away
    item.locator("button", has_text="完成").click()
    page.locator("#myday-followups .fu-item", has_text="寄送园区资料").wait_for(state="detached")
    page.locator("#toasts .toast").first.wait_for()

    page.goto(f"{base_url}/followups?status=all")
    page.get_by_text("寄送园区资料").first.wait_for()
    shot(page, output_dir, "followups")


def test_move_projects_on_the_board_and_switch_language(page, base_url, session, output_dir):
    me = make_user(
        session, "officer", make_department(session), display_name="周官员", username="e2e_board"
    )
    firm = make_firm(session, "长安汽车")
    dragged = make_project(
        session, firm, "NEV", "lead", owner=me, title="长安新能源", investment="50"
    )
    buttoned = make_project(session, firm, "NB", "lead", owner=me, title="长安电子")
    lost = make_project(session, firm, "DATA", "lead", owner=me, title="长安数据")
    session.commit()
    _login(page, base_url, "e2e_board")
    page.goto(f"{base_url}/pipeline")
    page.locator(f"#cards-lead #card-{dragged.id}").wait_for()
    shot(page, output_dir, "pipeline-board")

    # drag a card to the next column
    page.drag_and_drop(f"#card-{dragged.id} .ptitle", "#cards-contacted")
    page.locator(f"#cards-contacted #card-{dragged.id}[data-stage=contacted]").wait_for()
    # the button
    card = page.locator(f"#card-{buttoned.id}")
    card.locator("select[name=stage]").select_option("negotiating")
    card.locator("button", has_text="移动").click()
    page.locator(f"#cards-negotiating #card-{buttoned.id}[data-stage=negotiating]").wait_for()
    # lost asks for the reason in a dialog
    card = page.locator(f"#card-{lost.id}")
    card.locator("select[name=stage]").select_option("lost")
    card.locator("button", has_text="移动").click()
    page.locator("#lost-dialog textarea[name=reason]").wait_for()
    shot(page, output_dir, "pipeline-lost-dialog")
    page.fill("#lost-dialog textarea[name=reason]", "选择了其他城市")
    page.locator("#lost-dialog button[type=submit]").click()
    page.locator(f"#cards-lost #card-{lost.id}[data-stage=lost]").wait_for()
    shot(page, output_dir, "pipeline-moved")
    session.expire_all()
    assert session.get(Project, dragged.id).stage == "contacted"
    assert session.get(Project, buttoned.id).stage == "negotiating"
    saved = session.get(Project, lost.id)
    assert saved.stage == "lost" and saved.lost_reason == "选择了其他城市"

    page.goto(f"{base_url}/pipeline?view=table")
    page.get_by_text("长安新能源").first.wait_for()
    shot(page, output_dir, "pipeline-table")
    page.goto(f"{base_url}/projects/{dragged.id}")
    page.get_by_text("阶段历史").wait_for()
    shot(page, output_dir, "project")

    # switch the language
    page.locator("header .me .lang-switch button", has_text="English").click()  # saved on the user
    page.get_by_text("Stage history").wait_for()
    assert page.locator("header nav").inner_text().count("My day") == 1
    shot(page, output_dir, "project-en")
    page.goto(f"{base_url}/pipeline")
    page.locator(".column header .stage", has_text="Negotiating").wait_for()
    shot(page, output_dir, "pipeline-en")
    # back to Chinese by the header's switch (a GET of /lang/… changes nothing once signed in)
    page.locator("header .me .lang-switch button[value=zh_CN]").click()
    page.get_by_text("我的一天").first.wait_for()
