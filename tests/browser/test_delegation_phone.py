"""In headless Chromium: a delegation (three firms, two officers) logged from the page and seen
on every firm's timeline, then edited; the phone layout at 390 × 844; the language walk; and an
axe-core pass over the main pages (no critical or serious violation). Any CSP violation or
page error fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    assert_no_csp_violations,
    require_chromium,
    watch_csp,
)
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

pytestmark = pytest.mark.browser
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _page(chromium, viewport, output_dir, locale="zh-CN"):  # type: ignore[no-untyped-def]
    ctx = chromium.new_context(locale=locale, viewport=viewport)
    ctx.set_default_timeout(90_000)  # the machine is shared and slow; nothing here is timed
    pg = ctx.new_page()
    pg.csp = watch_csp(pg)
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    (output_dir / "screenshots").mkdir(parents=True, exist_ok=True)
    return ctx, pg


def _done(ctx, pg) -> None:  # type: ignore[no-untyped-def]
    ctx.close()
    assert_no_csp_violations(pg.csp)
    assert not pg.errors, pg.errors


def _shot(pg, output_dir, name: str) -> None:  # type: ignore[no-untyped-def]
    pg.screenshot(path=str(output_dir / "screenshots" / f"{name}.png"), full_page=True)


def _login(pg, base_url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(f"{base_url}/login")
    pg.fill("#username", username)
    pg.fill("#password", PASSWORD)
    with pg.expect_navigation(url=f"{base_url}/"):
        pg.click("button[type=submit]")


def _world(session):  # type: ignore[no-untyped-def]
    dept = make_department(session)
    me = make_user(session, "officer", dept, display_name="陈官员", username="deleg_officer")
    mate = make_user(session, "officer", dept, display_name="王同事", username="deleg_mate")
    firms = [
        make_firm(session, "惠普有限公司", name_en="HP Inc."),
        make_firm(session, "宏碁股份有限公司", name_en="Acer"),
        make_firm(session, "联想集团有限公司", name_en="Lenovo"),
    ]
    make_project(session, firms[0], "NB", "contacted", owner=me, title="惠普笔电基地")
    session.commit()
    return me, mate, firms


def _pick_firm(pg, query: str, name: str) -> None:  # type: ignore[no-untyped-def]
    pg.fill("#firm-q", query)
    pg.locator("#firm-options .option", has_text=name).first.click()
    pg.locator("#firm-chips .chip", has_text=name).wait_for()


def _pick_officer(pg, query: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """A colleague chip: typed, then picked with the keyboard (Enter takes the first match)."""
    pg.fill("#officer-q", query)
    pg.locator("#officer-options .option", has_text=name).first.wait_for()
    pg.press("#officer-q", "Enter")
    pg.locator("#officer-chips .chip", has_text=name).wait_for()


def test_a_delegation_from_the_page_on_every_timeline_then_edited(
    chromium, base_url, session, output_dir
):
    me, mate, firms = _world(session)
    ctx, pg = _page(chromium, {"width": 1280, "height": 900}, output_dir)
    _login(pg, base_url, "deleg_officer")
    pg.click("a.log-anywhere")  # "记录接触" from the header, on any page
    pg.wait_for_url(f"{base_url}/activities/new")
    pg.locator("label.seg", has_text="代表团").click()
    _pick_firm(pg, "hui pu", "惠普有限公司")
    _pick_firm(pg, "hongqi", "宏碁股份有限公司")
    _pick_firm(pg, "lianxiang", "联想集团有限公司")
    # the chosen firms' projects appear to tick
    pg.locator("#log-choices label.check", has_text="惠普笔电基地").click()
    # the signed-in officer is already a chip; the colleague is typed and picked
    assert pg.locator("#officer-chips .chip", has_text="陈官员").count() == 1
    _pick_officer(pg, "王", "王同事")
    assert pg.locator("#officer-chips input[name=officer_ids]").evaluate_all(
        "els => els.map(e => e.value)"
    ) == [str(me.id), str(mate.id)]
    pg.fill("#act-summary", "三家企业代表团来访西永")
    pg.locator("details.followup-box summary").click()
    pg.fill("#act-fu-title", "寄送园区资料")
    pg.fill("#act-fu-due", "2031-05-01T10:00")
    pg.check("input[name=followup_each]")
    _shot(pg, output_dir, "delegation-form")
    pg.locator("#activity-form button[type=submit]").click()
    pg.wait_for_url(re.compile(r"/activities/\d+\?saved=1"))
    aid = int(re.search(r"/activities/(\d+)", pg.url).group(1))  # type: ignore[union-attr]
    _shot(pg, output_dir, "activity-page")
    for f in firms:
        pg.goto(f"{base_url}/firms/{f.id}")
        entry = pg.locator(f"#activity-{aid}")
        entry.wait_for()
        others = entry.locator(".others").inner_text()
        for o in firms:
            if o.id != f.id:
                assert o.name_zh in others, (f.name_zh, others)
        assert "王同事" in entry.inner_text() and "陈官员" in entry.inner_text()
    _shot(pg, output_dir, "timeline-delegation")

    # edit: one firm fewer, one colleague fewer
    pg.goto(f"{base_url}/activities/{aid}")
    pg.click(f'a[href="/activities/{aid}/edit"]')
    pg.wait_for_url(f"{base_url}/activities/{aid}/edit")
    pg.locator("#firm-chips .chip", has_text="联想集团有限公司").locator(".chip-x").click()
    pg.locator("#officer-chips .chip", has_text="王同事").locator(".chip-x").click()
    pg.fill("#act-summary", "两家企业代表团来访西永")
    pg.locator("#activity-form button[type=submit]").click()
    pg.wait_for_url(re.compile(rf"/activities/{aid}\?saved=1"))
    assert "联想集团有限公司" not in pg.locator("main").inner_text()
    assert "王同事" not in pg.locator("main").inner_text()  # the colleague's chip was removed
    pg.goto(f"{base_url}/firms/{firms[2].id}")
    assert pg.locator(f"#activity-{aid}").count() == 0
    pg.goto(f"{base_url}/firms/{firms[0].id}")
    assert "两家企业代表团来访西永" in pg.locator(f"#activity-{aid}").inner_text()
    _done(ctx, pg)


def _no_sideways_scroll(pg) -> int:  # type: ignore[no-untyped-def]
    return pg.evaluate("document.documentElement.scrollWidth")


def test_the_phone_layout(chromium, base_url, session, output_dir):
    _, _, firms = _world(session)
    ctx, pg = _page(chromium, PHONE, output_dir)
    _login(pg, base_url, "deleg_officer")
    pages = {
        "phone-myday": "/",
        "phone-search": "/firms?q=huipu",
        "phone-global-search": "/search?q=hui",
        "phone-firm": f"/firms/{firms[0].id}",
        "phone-log": f"/activities/new?firm_id={firms[0].id}",
        "phone-board": "/pipeline",
        "phone-projects": "/pipeline?view=table",
        # setting a reminder in the field, and the password card (ATTACK7 P2-3: 526 and 410 px)
        "phone-followup-new": "/followups/new",
        "phone-account": "/account",
    }
    for name, path in pages.items():
        pg.goto(base_url + path)
        width = _no_sideways_scroll(pg)
        assert width <= PHONE["width"], f"{path}: the page is {width}px wide at 390"
        _shot(pg, output_dir, name)
    # the menu is closed until the button opens it; each item on one line
    pg.goto(base_url + "/")
    assert not pg.locator("#mainnav").is_visible()
    pg.click(".menu-toggle")
    link = pg.locator("#mainnav a", has_text="企业").first
    link.wait_for()
    box = link.bounding_box()
    assert box and box["height"] < 60 and box["width"] > 40, box  # not one character a line
    _shot(pg, output_dir, "phone-menu")
    # logging a contact with a thumb: the controls are at least 40 px high
    pg.goto(f"{base_url}/activities/new?firm_id={firms[0].id}")
    for sel in ("#act-summary", "#activity-form button[type=submit]", "#firm-q"):
        h = pg.locator(sel).bounding_box()["height"]
        assert h >= 40, (sel, h)
    _pick_firm(pg, "hongqi", "宏碁股份有限公司")
    pg.fill("#act-summary", "手机上记录的接触")
    pg.locator("#activity-form button[type=submit]").click()
    pg.wait_for_url(re.compile(r"/activities/\d+\?saved=1"))
    assert _no_sideways_scroll(pg) <= PHONE["width"]
    # tables become cards: the project table's rows are labelled blocks
    pg.goto(base_url + "/pipeline?view=table")
    cells = pg.locator("main table td[data-label]")
    if cells.count():
        assert pg.evaluate(
            "getComputedStyle(document.querySelector('main table td[data-label]')).display"
        ) in ("flex", "block")
    _done(ctx, pg)


def test_the_header_search_by_keyboard_on_a_phone(chromium, base_url, session, output_dir):
    """Typed in the header on a phone: firms and projects drop below the box, the arrow key
    walks into them, Enter opens one — and the results fit the screen."""
    _, _, firms = _world(session)
    ctx, pg = _page(chromium, PHONE, output_dir)
    _login(pg, base_url, "deleg_officer")
    pg.fill("#global-q", "huipu")
    pg.locator("#global-results a", has_text="惠普有限公司").first.wait_for()
    assert "惠普笔电基地" not in pg.locator("#global-results").inner_text()  # title ≠ "huipu"
    assert _no_sideways_scroll(pg) <= PHONE["width"]
    _shot(pg, output_dir, "phone-header-search")
    pg.press("#global-q", "ArrowDown")
    focused = pg.evaluate("document.activeElement.getAttribute('href')")
    assert focused == f"/firms/{firms[0].id}", focused
    pg.keyboard.press("Enter")
    pg.wait_for_url(f"{base_url}/firms/{firms[0].id}")
    # Enter in the box itself: every result on a page
    pg.fill("#global-q", "笔电")
    pg.press("#global-q", "Enter")
    pg.wait_for_url(re.compile(r"/search\?q="))
    assert "惠普笔电基地" in pg.locator("main").inner_text()
    _done(ctx, pg)


def test_the_language_walk(chromium, base_url, session, output_dir):
    me, _, firms = _world(session)
    from crm.models.accounts import Department

    department = session.get(Department, me.department_id).name  # a proper name
    ctx, pg = _page(chromium, {"width": 1280, "height": 900}, output_dir)
    pg.goto(f"{base_url}/login")
    pg.click('a[href="/lang/en?next=/login"]')  # chosen on the login page …
    pg.fill("#username", "deleg_officer")
    pg.fill("#password", PASSWORD)
    with pg.expect_navigation(url=f"{base_url}/"):
        pg.click("button[type=submit]")
    assert "My day" in pg.locator("nav#mainnav").inner_text()  # … and kept at login
    cjk = re.compile(r"[\u4e00-\u9fff]")
    names = "".join(f.name_zh for f in firms) + "陈官员王同事中文惠普笔电基地" + department
    for path in ("/", "/firms", f"/firms/{firms[0].id}", "/pipeline", "/followups", "/account"):
        pg.goto(base_url + path)
        text = pg.locator("body").inner_text()
        stray = {c for c in cjk.findall(text) if c not in names}
        assert not stray, f"{path}: Chinese on the English page: {sorted(stray)[:20]}"
    _shot(pg, output_dir, "english-firm-list")
    # the header switch saves the choice
    pg.locator("form.lang-switch button").click()
    pg.wait_for_load_state()
    assert "我的一天" in pg.locator("nav#mainnav").inner_text()
    _done(ctx, pg)


SERIOUS = ("critical", "serious")


def test_no_serious_accessibility_violations(chromium, base_url, session, output_dir):
    _, _, firms = _world(session)
    axe = AXE.read_text(encoding="utf-8")
    found = {}
    for viewport in ({"width": 1280, "height": 900}, PHONE):
        ctx, pg = _page(chromium, viewport, output_dir)
        _login(pg, base_url, "deleg_officer")
        for path in (
            "/",
            "/firms",
            "/firms?q=huipu",
            f"/firms/{firms[0].id}",
            "/activities/new",
            "/pipeline",
            "/pipeline?view=table",
            "/followups",
            "/followups/new",
            "/account",
            "/no-such-page",
        ):
            pg.goto(base_url + path)
            pg.evaluate(axe)  # page.evaluate is not subject to the page's CSP
            result = pg.evaluate(
                "axe.run(document, {resultTypes: ['violations']})"
                ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,"
                " target: v.nodes[0] && v.nodes[0].target})))"
            )
            bad = [v for v in result if v["impact"] in SERIOUS]
            if bad:
                found[f"{viewport['width']} {path}"] = bad
        _done(ctx, pg)
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_the_phone_layout_in_english_for_a_manager_and_an_admin(
    chromium, base_url, session, output_dir
):
    """English labels and cluster names are long: the reports' cluster filter (531 px), the
    project form (965 px), a firm's facts and buttons, the admin's user cards must still fit a
    390 px screen (ATTACK7 P2-3)."""
    _, _, firms = _world(session)
    admin = make_user(
        session, "admin", make_department(session), username="phone_admin", language="en"
    )
    firm = make_firm(
        session,
        "长江精密仪器有限公司",
        name_en="Changjiang Precision Instruments and Intelligent Equipment Co., Ltd.",
        website="https://www.changjiang-precision-instruments.example.com/investor-relations/contacts",
    )
    p = make_project(session, firm, "INST", "negotiating", owner=admin, title="长江精密仪器基地")
    session.commit()
    ctx, pg = _page(chromium, PHONE, output_dir, locale="en-US")
    _login(pg, base_url, admin.username)
    for path in (
        "/reports/coverage",
        "/reports/pipeline",
        "/reports/map",
        f"/firms/{firm.id}",
        f"/firms/{firms[0].id}",
        f"/projects/{p.id}",
        f"/projects/{p.id}/edit",
        "/admin/users",
        "/account",
    ):
        pg.goto(base_url + path)
        width = _no_sideways_scroll(pg)
        assert width <= PHONE["width"], f"{path}: the page is {width}px wide at 390"
    _shot(pg, output_dir, "phone-en-project-edit")
    _done(ctx, pg)
