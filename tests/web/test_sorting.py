"""Lists sort on the server by the column the reader clicks: the whole list (every page, in a
stable order), kept in the pager and the export links; only known columns are honoured."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from python_calamine import CalamineWorkbook

from crm.sorting import Sort, parse_sort
from crm.text import to_pinyin
from tests.factories import make_department, make_firm, make_followup, make_project, make_user


def test_only_known_keys_are_honoured():
    allowed = {"name", "due"}
    assert parse_sort("name", allowed) == Sort("name")
    assert parse_sort("-due", allowed) == Sort("due", descending=True)
    assert parse_sort("-due", allowed).param == "-due"
    for bad in ("", None, "nope", "name; drop table firm", "--name", "Name", "id"):
        assert parse_sort(bad, allowed) is None


def _names(html: str) -> list[str]:
    return re.findall(r'class="firm-name" href="/firms/\d+">([^<]+)<', html)


def test_the_firm_list_sorts_every_page_and_keeps_the_order_in_links(client, login, session):
    user = make_user(session, "officer", make_department(session))
    # 60 firms: more than one page (50), names whose pinyin order differs from creation order
    names = [f"排序企业{chr(0x4E00 + (i * 37) % 500)}{i:02d}" for i in range(60)]
    for n in names:
        make_firm(session, n)
    session.commit()
    login(user)

    first = client.get("/firms", params={"sort": "name"}).text
    second = client.get("/firms", params={"sort": "name", "page": 2}).text
    shown = _names(first) + _names(second)
    assert len(shown) == 60 and len(set(shown)) == 60
    # by pinyin, equal values in the order they were made (the id): stable across pages
    assert shown == sorted(names, key=lambda n: to_pinyin(n)[0])
    assert 'aria-sort="ascending"' in first
    assert re.search(r"sort=name&(amp;)?page=2", first)  # the pager keeps the order
    assert "export.xlsx?sort=name" in first  # and the export
    assert "sort=-name" in first  # the heading's next click: the other way round

    down = _names(client.get("/firms", params={"sort": "-name"}).text)
    assert down == list(reversed(shown))[:50]

    wb = CalamineWorkbook.from_filelike(
        io.BytesIO(client.get("/firms/export.xlsx", params={"sort": "-name"}).content)
    )
    rows = wb.get_sheet_by_name(wb.sheet_names[0]).to_python()
    exported = [str(r[1]) for r in rows if str(r[1]).startswith("排序企业")]
    assert exported == list(reversed(shown))

    # an unknown column is ignored: the usual order, no error
    r = client.get("/firms", params={"sort": "name_zh desc; drop table firm"})
    assert r.status_code == 200 and len(_names(r.text)) == 50


def test_the_project_table_and_the_followups_sort_by_a_column(client, login, session):
    dept = make_department(session)
    user = make_user(session, "officer", dept)
    firm = make_firm(session, "排序项目企业")
    for title, inv in (("乙项目", "30"), ("甲项目", "5"), ("丙项目", "12")):
        make_project(session, firm, "NB", owner=user, title=title, investment=inv)
    for title, days in (("回访B", 3), ("回访A", 1), ("回访C", 2)):
        make_followup(session, user, due_in=timedelta(days=days), title=title)
    session.commit()
    login(user)

    def titles(html: str, pattern: str) -> list[str]:
        return re.findall(pattern, html)

    proj = r'href="/projects/\d+">([^<]+项目)<'
    page = client.get("/pipeline", params={"view": "table", "sort": "-investment"}).text
    assert titles(page, proj) == ["乙项目", "丙项目", "甲项目"]
    assert "sort=-investment&amp;format=xlsx" in page
    page = client.get("/pipeline", params={"view": "table", "sort": "investment"}).text
    assert titles(page, proj) == ["甲项目", "丙项目", "乙项目"]

    fu = r"<td><strong>(回访[ABC])</strong>"
    assert titles(client.get("/followups").text, fu) == ["回访A", "回访C", "回访B"]  # due first
    page = client.get("/followups", params={"sort": "-title"}).text
    assert titles(page, fu) == ["回访C", "回访B", "回访A"]
    assert "sort=-title&amp;format=xlsx" in page
