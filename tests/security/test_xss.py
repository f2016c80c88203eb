"""XSS: script and attribute-breaking payloads in a firm name, an activity summary, a project
title and the user and department names (chart labels come from these) are rendered inert on
every page — walked from the route table, so new pages are covered as they land."""

from __future__ import annotations

import re

import pytest

from crm.models.accounts import Department, User
from crm.models.activities import Activity
from crm.models.firms import Firm
from crm.models.projects import Project
from tests.security.access_table import ACCESS
from tests.security.routes import fill_path
from tests.security.test_route_access import APP, ROUTES
from tests.security.world import build_world, client_for

PAYLOAD = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'</script>"
# what must never reach an HTML response unescaped
RAW = ("<script>alert(1)", "<img src=x onerror", '"><img')

GETS = [p for m, p in ROUTES if m == "GET" and not p.startswith("/api/")]

# pages that must SHOW the (escaped) payload — the proof the walk checks something
MUST_SHOW = {"/", "/admin/users", "/firms/{firm_id}", "/firms"}


def poison(session, world) -> None:  # type: ignore[no-untyped-def]
    firm = session.get(Firm, world.firm)
    firm.name_zh = "测试" + PAYLOAD
    firm.name_en = PAYLOAD
    act = session.get(Activity, world.activity)
    act.summary = PAYLOAD
    for pid in (world.project, world.open_project):
        session.get(Project, pid).title = "项目" + PAYLOAD
    for u in world.users.values():
        session.get(User, u.id).display_name = "用户" + PAYLOAD
    for did in (world.dept_a, world.dept_b):
        session.get(Department, did).name = f"部门{did}" + PAYLOAD
    session.commit()


@pytest.mark.parametrize("path", GETS)
def test_payloads_are_inert_on_every_page(path, session):
    world = build_world(session)
    poison(session, world)
    entry = ACCESS.get(("GET", path))
    shown = False
    for role in ("own", "admin"):
        client = client_for(APP, session, world, role)
        client.headers.pop("X-Test-Bearer", None)
        headers = {"HX-Request": "true"} if entry and entry.htmx else {}
        r = client.get(
            fill_path(path, entry, world),
            params=entry.query if entry else None,
            headers=headers,
            follow_redirects=False,
        )
        if "html" in r.headers.get("content-type", ""):
            for raw in RAW:
                assert raw not in r.text, f"GET {path} as {role}: {raw!r} unescaped"
            shown = shown or "&lt;script&gt;alert(1)" in r.text
        client.close()
    if path in MUST_SHOW:
        assert shown, f"GET {path} should show the escaped payload"


def test_chart_labels_are_escaped_in_the_json_island(session):
    """Report charts take their labels from names (officers, firms, departments): the data
    island must carry them escaped by |tojson, and no page may show them raw."""
    from web.reports import FILTERS

    world = build_world(session)
    poison(session, world)
    client = client_for(APP, session, world, "manager")
    client.headers.pop("X-Test-Bearer", None)
    escaped_in_island = False
    urls = [f"/reports/{name}" for name in FILTERS]
    # grouped by department or officer, the pipeline chart's labels are those names
    urls += ["/reports/pipeline?group_by=department", "/reports/pipeline?group_by=officer"]
    for url in urls:
        name = url.split("/")[-1]
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 200, (url, r.status_code)
        for raw in RAW:
            assert raw not in r.text, f"/reports/{name}: {raw!r} unescaped"
        for m in re.finditer(r'<script type="application/json"[^>]*>(.*?)</script>', r.text, re.S):
            island = m.group(1)
            assert "<" not in island, f"/reports/{name}: raw < in the JSON island"
            escaped_in_island = escaped_in_island or "\\u003cscript\\u003e" in island
    assert escaped_in_island, "no chart label carried the (escaped) payload"
