"""Firm pages through the app: list and search, firm page, logging a contact, firm and contact
forms, duplicates, stale edits, permissions, the Excel export, and the list's query count."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.db import get_engine
from crm.models.activities import Activity, ActivityContact
from crm.models.firms import Contact, Firm, FirmAlias
from crm.models.followups import Followup
from crm.text import normalize_name
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user
from tests.web.conftest import switch_language


@pytest.fixture
def dept(session):
    return make_department(session, name="两江新区招商局")


@pytest.fixture
def officer(session, dept):
    u = make_user(session, "officer", dept, display_name="王招商")
    session.commit()
    return u


def hp(session, **kw):
    f = make_firm(
        session,
        "惠普",
        name_en="Hewlett-Packard",
        global500_rank=26,
        country="美国",
        clusters=("NB",),
        **kw,
    )
    session.add(FirmAlias(firm_id=f.id, alias="HP", alias_norm="hp"))
    f.search_text = f.search_text + " | hp"
    session.flush()
    return f


def count(session, model, *where):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def names_in(html: str) -> list[str]:
    return re.findall(r'class="firm-name" href="/firms/\d+">([^<]+)<', html)


@contextmanager
def statements():
    """The SELECT statements the app sends while the block runs (writes, such as the session's
    last-seen touch once a minute, are not what an N+1 is made of)."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


# --- the list -----------------------------------------------------------------------------------


def test_list_shows_firms_with_tier_badges_and_filters(client, login, officer, session):
    hp(session, owner_id=officer.id)
    make_firm(
        session, "长安汽车", name_en="Changan", china500_rank=70, country="中国", clusters=("NEV",)
    )
    make_firm(session, "四联集团", is_leader=True, country="中国", clusters=("INST",))
    make_firm(session, "小企业")
    session.commit()
    login(officer)
    r = client.get("/firms")
    assert r.status_code == 200
    assert set(names_in(r.text)) == {"惠普", "长安汽车", "四联集团", "小企业"}
    assert 'class="badge global500"' in r.text and "世界500强 · 26" in r.text
    assert 'class="badge china500"' in r.text and 'class="badge leader"' in r.text
    assert "共 4 家企业" in r.text
    assert names_in(client.get("/firms?tier=china500").text) == ["长安汽车"]
    assert names_in(client.get("/firms?cluster=INST").text) == ["四联集团"]
    assert names_in(client.get("/firms?country=美国").text) == ["惠普"]
    assert names_in(client.get(f"/firms?owner={officer.id}").text) == ["惠普"]
    assert names_in(client.get("/firms?tier=china500&country=美国").text) == []


def test_a_list_row_shows_each_value_escaped_once(client, login, officer, dept, session):
    """A row as the list writes it (built in Python, web/firms.py rows_html): the names,
    country and owner escaped, the English name under the Chinese one, the clusters' chips in
    the plan's order (the same set shared by rows), a dash for no cluster, country or owner,
    the day of the last change — and for a manager the row's checkbox, named after the firm."""
    odd = make_firm(
        session,
        '<b>"甲"&乙</b>',
        name_en="A&B <Ltd>",
        country="<中>",
        owner_id=officer.id,
        clusters=("COMM", "NB"),
    )
    twin = make_firm(session, "乙企业", clusters=("NB", "COMM"))
    bare = make_firm(session, "丙企业")
    manager = make_user(session, "manager", dept)
    session.commit()
    login(officer)
    html = client.get("/firms?sort=name").text
    name = "&lt;b&gt;&#34;甲&#34;&amp;乙&lt;/b&gt;"
    assert f'<a class="firm-name" href="/firms/{odd.id}">{name}</a>' in html
    assert '<div class="muted small">A&amp;B &lt;Ltd&gt;</div>' in html
    assert "<td>&lt;中&gt;</td>" in html and "<td>王招商</td>" in html
    chips = html.split(f'href="/firms/{twin.id}"')[1].split("</tr>")[0]
    nb, comm = chips.index('title="笔记本电脑"'), chips.index('title="通信设备"')
    assert nb < comm  # the plan's order, whatever order the firm's clusters were given in
    row = html.split(f'href="/firms/{bare.id}"')[1].split("</tr>")[0]
    assert row.count("<td>—</td>") == 2 and '<span class="muted">—</span>' in row
    assert 'name="ids"' not in html
    login(manager)
    html = client.get("/firms?sort=name").text
    assert (
        f'<td class="sel"><input type="checkbox" name="ids" value="{odd.id}" '
        f'form="bulk-reassign" aria-label="选择 {name}"></td>'
    ) in html


@pytest.mark.parametrize("q", ["惠普", "惠", "huipu", "hp", "HP", "Hewlett", "hewlett-packard"])
def test_search_by_name_pinyin_initials_alias_and_english(client, login, officer, session, q):
    hp(session)
    make_firm(session, "华为", name_en="Huawei")
    make_firm(session, "宏碁", name_en="Acer")
    session.commit()
    login(officer)
    r = client.get(f"/firms?q={q}", headers={"HX-Request": "true"})
    assert r.status_code == 200
    # an HTMX request gets the results block only, not the page
    assert "<html" not in r.text and 'id="results"' in r.text
    assert names_in(r.text) == ["惠普"]


def test_search_with_no_match_shows_an_empty_state(client, login, officer, session):
    hp(session)
    session.commit()
    login(officer)
    r = client.get("/firms?q=zzzz", headers={"HX-Request": "true"})
    assert names_in(r.text) == []
    assert "没有找到符合条件的企业" in r.text and "/firms/new?name_zh=zzzz" in r.text


def test_empty_database_says_so(client, login, officer):
    login(officer)
    r = client.get("/firms")
    assert "还没有企业" in r.text


def test_list_is_paginated(client, login, officer, session):
    for i in range(55):
        make_firm(session, f"分页企业{i:02d}")
    session.commit()
    login(officer)
    first = client.get("/firms")
    assert len(names_in(first.text)) == 50 and "共 55 家企业" in first.text
    assert "page=2" in first.text
    second = client.get("/firms?page=2", headers={"HX-Request": "true"})
    assert len(names_in(second.text)) == 5 and "page=3" not in second.text
    assert not set(names_in(first.text)) & set(names_in(second.text))


def test_list_query_count_does_not_grow_with_rows(client, login, officer, session):
    """An N+1 (one statement per row for clusters or owners) fails this test."""
    owners = [make_user(session, "officer") for _ in range(3)]
    for i in range(3):
        make_firm(session, f"甲{i}", clusters=("NB", "IC"), owner_id=owners[i % 3].id)
    session.commit()
    login(officer)
    client.get("/firms")
    with statements() as few:
        assert client.get("/firms").status_code == 200
    for i in range(30):
        make_firm(session, f"乙{i}", clusters=("NB", "COMM"), owner_id=owners[i % 3].id)
    session.commit()
    with statements() as many:
        r = client.get("/firms")
    assert len(names_in(r.text)) == 33
    assert len(many) == len(few), many
    assert len(many) <= 12, many
    with statements() as fragment:
        client.get("/firms?q=jia", headers={"HX-Request": "true"})
    assert len(fragment) <= 9, fragment


def test_export_to_excel_reads_back(client, login, officer, session):
    f = hp(session, owner_id=officer.id, headquarters="帕洛阿尔托")
    make_firm(session, "长安汽车", china500_rank=70, country="中国", clusters=("NEV",))
    session.commit()
    login(officer)
    r = client.get("/firms/export.xlsx?country=美国")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("编号", "中文名称", "英文名称", "别名", "层级")
    assert len(rows) == 2  # the filter applies: only the American firm
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["编号"] == f.id and row["中文名称"] == "惠普" and row["层级"] == "世界500强"
    assert row["世界500强排名"] == 26 and isinstance(row["世界500强排名"], int)
    assert row["产业集群"] == "笔记本电脑" and row["负责人"] == "王招商"
    assert row["别名"] == "HP" and row["国家或地区"] == "美国"


# --- the firm page --------------------------------------------------------------------------------


def test_firm_page_shows_details_contacts_projects_and_one_timeline(
    client, login, officer, session, dept
):
    group = make_firm(session, "惠普集团")
    f = hp(session, parent_id=group.id, owner_id=officer.id, headquarters="帕洛阿尔托")
    sub = make_firm(session, "惠普重庆", parent_id=f.id)
    c = Contact(firm_id=f.id, name="刘芳", title="政府事务总监", phone="13800001234")
    session.add(c)
    p = make_project(session, f, "NB", owner=officer, title="笔记本结算中心")
    other = make_department(session)
    secret = make_project(
        session,
        f,
        "DATA",
        title="绝密数据中心",
        department_id=other.id,
        is_confidential=True,
        code_name="蓝鲸",
    )
    session.flush()
    now = utcnow()
    log_activity(
        session,
        officer,
        ActivityCreate(
            kind="call",
            occurred_at=now - timedelta(days=3),
            summary="第一次电话",
            firm_ids=[f.id],
            contact_ids=[c.id],
        ),
    )
    log_activity(
        session,
        officer,
        ActivityCreate(
            kind="visit",
            occurred_at=now - timedelta(days=1),
            summary="上门拜访",
            firm_ids=[f.id],
            project_ids=[p.id],
        ),
    )
    manager = make_user(session, "manager", other)
    log_activity(
        session,
        manager,
        ActivityCreate(
            kind="meeting", summary="保密会谈内容", firm_ids=[f.id], project_ids=[secret.id]
        ),
    )
    session.commit()

    login(officer)
    r = client.get(f"/firms/{f.id}")
    assert r.status_code == 200
    html = r.text
    assert "惠普" in html and "Hewlett-Packard" in html and "世界500强 · 26" in html
    assert f'href="/firms/{group.id}">惠普集团' in html
    assert f'href="/firms/{sub.id}">惠普重庆' in html
    assert "笔记本电脑" in html and "王招商" in html and "HP" in html and "帕洛阿尔托" in html
    assert "刘芳" in html and "政府事务总监" in html
    assert "笔记本结算中心" in html
    # newest first, one timeline
    assert html.index("上门拜访") < html.index("第一次电话")
    # a confidential project of another department does not exist for this officer
    assert "绝密数据中心" not in html and "蓝鲸" not in html and "保密会谈内容" not in html
    assert f"/projects/{secret.id}" not in html

    login(manager)
    html = client.get(f"/firms/{f.id}").text
    assert "绝密数据中心" in html and "保密会谈内容" in html


def test_firm_page_query_count_does_not_grow_with_its_records(client, login, officer, session):
    f = hp(session)
    session.add(Contact(firm_id=f.id, name="甲"))
    p = make_project(session, f, "NB", owner=officer)
    first = Contact(firm_id=f.id, name="乙")
    session.add(first)
    session.flush()
    log_activity(
        session,
        officer,
        ActivityCreate(
            kind="call",
            summary="一",
            firm_ids=[f.id],
            project_ids=[p.id],
            contact_ids=[first.id],
            followup={"title": "回访", "due_at": utcnow() + timedelta(days=1)},
        ),
    )
    session.commit()
    login(officer)
    client.get(f"/firms/{f.id}")
    with statements() as few:
        client.get(f"/firms/{f.id}")
    contacts = [Contact(firm_id=f.id, name=f"联系人{i}") for i in range(8)]
    session.add_all(contacts)
    session.flush()
    for i in range(15):
        q = make_project(session, f, "IC", owner=officer, title=f"项目{i}")
        log_activity(
            session,
            officer,
            ActivityCreate(
                kind="visit",
                summary=f"拜访{i}",
                firm_ids=[f.id],
                project_ids=[q.id],
                contact_ids=[contacts[i % 8].id],
                followup={"title": f"回访{i}", "due_at": utcnow() + timedelta(days=1)},
            ),
        )
    session.commit()
    with statements() as many:
        r = client.get(f"/firms/{f.id}")
    assert "拜访14" in r.text and "联系人7" in r.text and "项目14" in r.text
    assert len(many) == len(few), many


def test_timeline_loads_more(client, login, officer, session):
    f = hp(session)
    now = utcnow()
    for i in range(25):
        log_activity(
            session,
            officer,
            ActivityCreate(
                kind="call",
                occurred_at=now - timedelta(hours=i),
                summary=f"通话{i:02d}",
                firm_ids=[f.id],
            ),
        )
    session.commit()
    login(officer)
    html = client.get(f"/firms/{f.id}").text
    assert "通话00" in html and "通话19" in html and "通话20" not in html
    assert f"/firms/{f.id}/timeline?offset=20" in html
    more = client.get(f"/firms/{f.id}/timeline?offset=20", headers={"HX-Request": "true"})
    assert more.status_code == 200
    assert re.findall(r"通话\d\d", more.text) == [f"通话{i}" for i in range(20, 25)]
    assert "加载更多" not in more.text


def test_unknown_firm_is_404(client, login, officer):
    login(officer)
    assert client.get("/firms/999999").status_code == 404


# --- log a contact -------------------------------------------------------------------------------


def test_log_a_contact_with_a_followup_inline(client, login, officer, session):
    f = hp(session)
    c = Contact(firm_id=f.id, name="刘芳")
    session.add(c)
    p = make_project(session, f, "NB", owner=officer, title="结算中心")
    session.commit()
    login(officer)
    page = client.get(f"/firms/{f.id}").text
    assert 'name="occurred_at" value="' in page  # defaults to now
    r = client.post(
        f"/firms/{f.id}/activities",
        headers=login.htmx,
        data={
            "kind": "meeting",
            "occurred_at": "2026-11-20T10:30",
            "contact_ids": [str(c.id)],
            "summary": "介绍园区配套",
            "outcome": "对方同意来渝考察",
            "project_id": str(p.id),
            "followup_title": "寄送园区资料",
            "followup_due": "2026-12-01T09:00",
            "remind": "60",
        },
    )
    assert r.status_code == 200, r.text
    # the new entry is swapped into the timeline, and the form comes back empty
    assert 'hx-swap-oob="afterbegin:#timeline-list"' in r.text
    assert "介绍园区配套" in r.text and "寄送园区资料" in r.text
    assert re.search(r'<textarea id="log-summary"[^>]*></textarea>', r.text)
    act = session.scalar(select(Activity))
    assert act.kind == "meeting" and act.summary == "介绍园区配套"
    assert act.outcome == "对方同意来渝考察"
    assert act.occurred_at.strftime("%Y-%m-%d %H:%M") == "2026-11-20 02:30"  # 10:30 in Shanghai
    assert count(session, ActivityContact, ActivityContact.contact_id == c.id) == 1
    fu = session.scalar(select(Followup))
    assert fu.title == "寄送园区资料" and fu.activity_id == act.id and fu.project_id == p.id
    assert fu.due_at.strftime("%Y-%m-%d %H:%M") == "2026-12-01 01:00"
    assert fu.due_at - fu.remind_at == timedelta(hours=1)
    assert fu.assignee_id == officer.id


def test_log_a_contact_defaults_to_now_without_a_followup(client, login, officer, session):
    f = hp(session)
    session.commit()
    login(officer)
    r = client.post(
        f"/firms/{f.id}/activities",
        headers=login.htmx,
        data={"kind": "call", "occurred_at": "", "summary": "电话"},
    )
    assert r.status_code == 200
    act = session.scalar(select(Activity))
    assert abs((act.occurred_at - utcnow()).total_seconds()) < 120
    assert count(session, Followup) == 0


def test_log_a_contact_without_htmx_redirects(client, login, officer, session):
    f = hp(session)
    session.commit()
    login(officer)
    r = client.post(
        f"/firms/{f.id}/activities",
        follow_redirects=False,
        data={"kind": "visit", "summary": "上门"} | login.csrf,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/firms/{f.id}"
    assert count(session, Activity) == 1


@pytest.mark.parametrize(
    "data, field",
    [
        ({"kind": "visit", "summary": ""}, "summary"),
        ({"kind": "dance", "summary": "x"}, "kind"),
        ({"kind": "visit", "summary": "x", "occurred_at": "昨天"}, "occurred_at"),
        ({"kind": "visit", "summary": "x", "occurred_at": "2099-01-01T10:00"}, "occurred_at"),
        (
            {"kind": "visit", "summary": "x", "followup_title": "回访", "followup_due": ""},
            "followup_due",
        ),
        (
            {
                "kind": "visit",
                "summary": "x",
                "followup_title": "回访",
                "followup_due": "2026-13-01T09:00",
            },
            "followup_due",
        ),
    ],
)
def test_an_invalid_log_shows_the_error_beside_the_field_and_saves_nothing(
    client, login, officer, session, data, field
):
    f = hp(session)
    session.commit()
    login(officer)
    r = client.post(f"/firms/{f.id}/activities", headers=login.htmx, data=data)
    assert r.status_code == 422
    assert f'id="err-{field}"' in r.text, r.text
    assert "<html" not in r.text and 'id="log-form"' in r.text
    # what the user typed is kept
    if data.get("summary"):
        assert ">x</textarea>" in r.text
    assert count(session, Activity) == 0 and count(session, Followup) == 0


def test_a_contact_of_another_firm_is_refused_and_nothing_saved(client, login, officer, session):
    f = hp(session)
    other = make_firm(session, "别家")
    c = Contact(firm_id=other.id, name="外人")
    session.add(c)
    session.commit()
    login(officer)
    r = client.post(
        f"/firms/{f.id}/activities",
        headers=login.htmx,
        data={
            "kind": "visit",
            "summary": "x",
            "contact_ids": [str(c.id)],
            "followup_title": "回访",
            "followup_due": "2026-12-01T09:00",
        },
    )
    assert r.status_code == 422 and 'id="err-contact_ids"' in r.text
    assert count(session, Activity) == 0 and count(session, Followup) == 0


def test_an_invalid_followup_rolls_back_the_activity(client, login, officer, session):
    """The follow-up fails in the service after the activity row was flushed: nothing stays."""
    f = hp(session)
    session.commit()
    login(officer)
    r = client.post(
        f"/firms/{f.id}/activities",
        headers=login.htmx,
        data={
            "kind": "visit",
            "summary": "x",
            "followup_title": "回访",
            "followup_due": "1980-01-01T09:00",
        },
    )
    assert r.status_code == 422, r.text
    assert count(session, Activity) == 0 and count(session, Followup) == 0


# --- add and edit firms -------------------------------------------------------------------------


def firm_form(**kw):
    data = {
        "name_zh": "英特尔",
        "name_en": "Intel",
        "aliases": "Intel Corp\n英特尔公司",
        "country": "美国",
        "global500_rank": "180",
        "china500_rank": "",
        "clusters": ["IC"],
        "website": "intel.com",
    }
    data.update(kw)
    return data


def test_create_a_firm(client, login, officer, session):
    login(officer)
    r = client.get("/firms/new")
    assert r.status_code == 200 and 'name="name_zh"' in r.text and "/firms/similar" in r.text
    r = client.post("/firms/new", data=firm_form() | login.csrf, follow_redirects=False)
    assert r.status_code == 303
    f = session.scalar(select(Firm).where(Firm.name_zh == "英特尔"))
    assert r.headers["location"] == f"/firms/{f.id}?created=1"
    assert "企业已创建" in client.get(r.headers["location"]).text  # the page confirms it
    assert f.tier == "global500" and f.global500_rank == 180 and f.owner_id == officer.id
    assert f.website == "https://intel.com" and f.name_initials == "yte"
    assert sorted(session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == f.id))) == [
        "Intel Corp",
        "英特尔公司",
    ]
    assert names_in(client.get("/firms?q=yingteer").text) == ["英特尔"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("name_zh", ""),
        ("global500_rank", "abc"),
        ("global500_rank", "900"),
        ("credit_code", "123"),
        ("clusters", ["NOPE"]),
        ("name_zh", "!!!"),
    ],
)
def test_an_invalid_firm_shows_the_error_beside_the_field(
    client, login, officer, session, field, value
):
    login(officer)
    r = client.post("/firms/new", data=firm_form(**{field: value}) | login.csrf)
    assert r.status_code == 422
    assert f'id="err-{field}"' in r.text, r.text
    assert 'value="Intel"' in r.text  # the other values are kept
    assert count(session, Firm) == 0


def test_similar_names_show_while_typing(client, login, officer, session):
    f = hp(session)
    session.commit()
    login(officer)
    r = client.get("/firms/similar?name_zh=惠普公司", headers={"HX-Request": "true"})
    assert r.status_code == 200 and f'href="/firms/{f.id}"' in r.text and "可能已存在" in r.text
    r = client.get("/firms/similar?name_zh=英特尔", headers={"HX-Request": "true"})
    assert "可能已存在" not in r.text
    r = client.get(f"/firms/similar?name_zh=惠普&exclude={f.id}", headers={"HX-Request": "true"})
    assert "可能已存在" not in r.text


def test_an_exact_duplicate_is_refused_with_a_link(client, login, officer, session):
    f = hp(session)
    session.commit()
    login(officer)
    r = client.post("/firms/new", data=firm_form(name_zh="惠普有限公司", name_en="") | login.csrf)
    assert r.status_code == 409
    assert f'href="/firms/{f.id}"' in r.text and "已经存在" in r.text
    assert 'name="confirm"' not in r.text
    assert count(session, Firm) == 1


def test_a_near_duplicate_asks_to_confirm(client, login, officer, session):
    f = make_firm(session, "重庆长安汽车", name_en="Chongqing Changan Automobile")
    session.commit()
    login(officer)
    data = firm_form(name_zh="重庆长安汽车销售", name_en="", global500_rank="")
    r = client.post("/firms/new", data=data | login.csrf)
    assert r.status_code == 409
    assert f'href="/firms/{f.id}"' in r.text and 'name="confirm"' in r.text and "仍然创建" in r.text
    assert count(session, Firm) == 1
    r = client.post(
        "/firms/new", data=data | {"confirm": "on"} | login.csrf, follow_redirects=False
    )
    assert r.status_code == 303
    assert count(session, Firm) == 2


def test_edit_a_firm(client, login, officer, session):
    f = hp(session, owner_id=officer.id)
    session.commit()
    login(officer)
    r = client.get(f"/firms/{f.id}/edit")
    assert r.status_code == 200 and 'value="惠普"' in r.text
    assert 'name="version" value="1"' in r.text
    r = client.post(
        f"/firms/{f.id}/edit",
        follow_redirects=False,
        data=firm_form(
            name_zh="惠普",
            name_en="HP Inc.",
            aliases="HP",
            global500_rank="",
            china500_rank="",
            is_leader="on",
            clusters=["NB", "DATA"],
            owner_id=str(officer.id),  # the picker shows the owner chosen
            version="1",
        )
        | login.csrf,
    )
    assert r.status_code == 303, r.text
    session.expire_all()
    f = session.get(Firm, f.id)
    assert f.name_en == "HP Inc." and f.tier == "leader" and f.version == 2


def test_a_stale_edit_is_reported_not_overwritten(client, login, officer, session):
    f = hp(session, owner_id=officer.id)
    session.commit()
    login(officer)
    first = client.post(
        f"/firms/{f.id}/edit",
        follow_redirects=False,
        data=firm_form(name_zh="惠普", name_en="First", owner_id=str(officer.id), version="1")
        | login.csrf,
    )
    assert first.status_code == 303
    second = client.post(
        f"/firms/{f.id}/edit",
        data=firm_form(name_zh="惠普", name_en="Second", owner_id=str(officer.id), version="1")
        | login.csrf,
    )
    assert second.status_code == 409
    assert "有人先保存了这家企业" in second.text and 'value="Second"' in second.text
    session.expire_all()
    assert session.get(Firm, f.id).name_en == "First"


def test_parent_picker_finds_firms_by_pinyin(client, login, officer, session):
    f = hp(session)
    session.commit()
    login(officer)
    r = client.get("/firms/parents?parent_q=huipu", headers={"HX-Request": "true"})
    assert f'name="parent_id" value="{f.id}"' in r.text


# --- contacts ------------------------------------------------------------------------------------


def test_add_edit_and_delete_a_contact(client, login, officer, session):
    f = hp(session, owner_id=officer.id)
    session.commit()
    login(officer)
    r = client.post(
        f"/firms/{f.id}/contacts",
        headers=login.htmx,
        data={"name": "刘芳", "title": "总监", "email": "liu@example.com"},
    )
    assert r.status_code == 200 and "刘芳" in r.text
    assert 'id="log-contacts" hx-swap-oob="true"' in r.text  # the log form's list follows
    c = session.scalar(select(Contact))
    assert c.firm_id == f.id and c.title == "总监"
    r = client.get(f"/firms/{f.id}/contacts/{c.id}/edit", headers=login.htmx)
    assert r.status_code == 200 and 'value="刘芳"' in r.text
    r = client.post(
        f"/firms/{f.id}/contacts/{c.id}",
        headers=login.htmx,
        data={"name": "刘芳", "title": "副总裁", "version": "1"},
    )
    assert r.status_code == 200 and "副总裁" in r.text
    stale = client.post(
        f"/firms/{f.id}/contacts/{c.id}",
        headers=login.htmx,
        data={"name": "刘芳", "title": "旧值", "version": "1"},
    )
    assert stale.status_code == 409 and "有人先保存了这个联系人" in stale.text
    session.expire_all()
    assert session.get(Contact, c.id).title == "副总裁"
    r = client.post(f"/firms/{f.id}/contacts/{c.id}/delete", headers=login.htmx)
    assert r.status_code == 422 and count(session, Contact) == 1  # the version is required
    r = client.post(
        f"/firms/{f.id}/contacts/{c.id}/delete", headers=login.htmx, data={"version": "2"}
    )
    assert r.status_code == 200 and "还没有联系人" in r.text
    assert count(session, Contact) == 0


@pytest.mark.parametrize(
    "data, field", [({"name": ""}, "name"), ({"name": "张三", "email": "not-an-email"}, "email")]
)
def test_an_invalid_contact_shows_the_error_beside_the_field(
    client, login, officer, session, data, field
):
    f = hp(session, owner_id=officer.id)
    session.commit()
    login(officer)
    r = client.post(f"/firms/{f.id}/contacts", headers=login.htmx, data=data)
    assert r.status_code == 422 and f'id="err-{field}"' in r.text
    assert count(session, Contact) == 0


# --- permissions and language -------------------------------------------------------------------


def test_edits_follow_ownership(client, login, officer, session):
    other_dept = make_department(session)
    stranger = make_user(session, "officer", other_dept)
    f = hp(session, owner_id=stranger.id)
    c = Contact(firm_id=f.id, name="刘芳")
    session.add(c)
    session.commit()
    login(officer)
    page = client.get(f"/firms/{f.id}").text
    assert f"/firms/{f.id}/edit" not in page and "添加联系人" not in page
    assert f"/contacts/{c.id}/edit" not in page
    assert 'id="log-form"' in page  # anyone may still log a contact
    r = client.post(
        f"/firms/{f.id}/edit",
        data=firm_form(name_zh="惠普", name_en="Hijack", version="1") | login.csrf,
    )
    assert r.status_code == 403
    r = client.post(f"/firms/{f.id}/contacts", headers=login.htmx, data={"name": "X"})
    assert r.status_code == 422 and count(session, Contact) == 1
    r = client.post(
        f"/firms/{f.id}/contacts/{c.id}/delete", headers=login.htmx, data={"version": "1"}
    )
    assert r.status_code == 403 and count(session, Contact) == 1
    session.expire_all()
    assert session.get(Firm, f.id).name_en == "Hewlett-Packard"


def test_anonymous_users_are_sent_to_login(client):
    assert client.get("/firms", follow_redirects=False).status_code == 303


def test_pages_in_english(client, login, officer, session):
    f = hp(session)
    session.commit()
    login(officer)
    switch_language(client, "en")  # the switch a user clicks
    assert "Log a contact" in client.get(f"/firms/{f.id}").text
    assert "Global 500" in client.get("/firms").text
    assert normalize_name("惠普") == "惠普"


def test_the_merge_page_names_owners_and_parent_firms(client, login, session):
    """Side by side, a firm's owner and parent firm show as names, never as ids."""
    from crm.firms.schemas import FirmCreate
    from crm.firms.service import create_firm
    from tests.factories import make_department, make_user

    dept = make_department(session)
    zhang = make_user(session, "officer", dept, display_name="张三丰")
    li = make_user(session, "officer", dept, display_name="李四光")
    manager = make_user(session, "manager", dept)
    group = create_firm(session, zhang, FirmCreate(name_zh="惠普集团控股"), confirm=True)
    keep = create_firm(session, zhang, FirmCreate(name_zh="惠普", parent_id=group.id), confirm=True)
    other = create_firm(session, li, FirmCreate(name_zh="惠普（中国）有限公司"), confirm=True)
    session.commit()
    login(manager)
    r = client.get(f"/firms/{keep.id}/merge", params={"other": other.id})
    assert r.status_code == 200, r.text[:300]
    row = r.text[r.text.index("负责人") :]
    row = row[: row.index("</tr>")]
    assert "张三丰" in row and "李四光" in row and f">{zhang.id}<" not in row.replace(" ", "")
    row = r.text[r.text.index("所属集团") :]
    row = row[: row.index("</tr>")]
    assert "惠普集团控股" in row and str(group.id) not in row


def test_edit_form_only_for_who_may_save_it(client, login, officer, session):
    """Another department's officer gets 403 for a firm's edit form (saving is refused too),
    the owner's department the form."""
    owner = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "别部门企业", owner_id=owner.id)
    session.commit()
    login(officer)
    assert client.get(f"/firms/{firm.id}/edit").status_code == 403
    login(owner)
    assert client.get(f"/firms/{firm.id}/edit").status_code == 200
