"""Import: row-by-row rejections, all-or-nothing, skip-invalid, Excel and CSV, GB18030."""

from __future__ import annotations

import io

import pytest
import xlsxwriter
from sqlalchemy import event, func, select, text

from crm.errors import PermissionDenied, ValidationFailed
from crm.imports.service import import_contacts, import_firms, import_projects
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster
from crm.models.projects import Project
from tests.factories import make_department, make_firm, make_user


def xlsx(rows: list[list]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(str(c) for c in r) for r in rows).encode(encoding)


HEAD = [
    "企业名称",
    "英文名称",
    "别名",
    "国家或地区",
    "世界500强排名",
    "中国500强排名",
    "行业龙头",
    "产业集群",
    "母公司",
]


@pytest.fixture
def manager(session):
    return make_user(session, "manager", make_department(session))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_firms_from_excel(session, manager):
    data = xlsx(
        [
            HEAD,
            [
                "富士康科技集团",
                "Foxconn",
                "鸿海;Hon Hai",
                "中国台湾",
                60,
                "",
                "",
                "NB、通信设备",
                "",
            ],
            ["重庆富士康", "", "", "中国", "", "", "是", "NB", "富士康科技集团"],
            ["四联测控", "", "", "中国", "", 321, "否", "INST", ""],
        ]
    )
    rep = import_firms(session, manager, data, "firms.xlsx")
    assert rep.ok and rep.applied and rep.imported == 3
    f = session.scalar(select(Firm).where(Firm.name_zh == "富士康科技集团"))
    sub = session.scalar(select(Firm).where(Firm.name_zh == "重庆富士康"))
    assert f.tier == "global500" and f.name_pinyin == "fushikangkejijituan"
    assert sub.parent_id == f.id and sub.tier == "leader" and sub.is_leader is True
    assert f.is_leader is False and f.source == "import" and f.version == 1
    assert f.created_at == sub.updated_at and f.created_at.tzinfo is not None
    assert count(session, FirmAlias) == 2 and count(session, FirmCluster) == 4

    assert "honhai" in f.search_text


def test_a_parent_already_in_the_database_by_name_or_alias(session, manager):
    """The parent named by a row may be a firm imported before (its name or an alias)."""
    group = make_firm(session, "长安汽车集团")
    session.add(FirmAlias(firm_id=group.id, alias="长安集团", alias_norm="长安集团"))
    session.flush()
    rows = [["企业名称", "母公司"]]
    rows += [[f"渝北精密零件{i}厂", "长安汽车集团" if i % 2 else "长安集团"] for i in range(7)]
    rep = import_firms(session, manager, csv_bytes(rows), "firms.csv")
    assert rep.ok and rep.applied and rep.imported == 7, rep.rejected
    subs = session.scalars(select(Firm).where(Firm.name_zh.like("渝北精密零件%"))).all()
    assert {f.parent_id for f in subs} == {group.id}


def test_one_bad_row_rejects_the_whole_file(session, manager):
    make_firm(session, "惠普")
    data = csv_bytes(
        [
            HEAD,
            ["甲科技", "", "", "", "", "", "", "NB", ""],
            ["惠普有限公司", "", "", "", "", "", "", "", ""],  # duplicate of db
            ["乙科技", "", "", "", "abc", "", "", "", ""],  # bad rank
            ["丙科技", "", "", "", "", "", "", "NOPE", ""],  # unknown cluster
            ["甲科技", "", "", "", "", "", "", "", ""],  # duplicate in file
            ["丁科技", "", "", "", "", "", "", "", "不存在的集团"],
        ]
    )  # unknown parent
    before = count(session, Firm)
    rep = import_firms(session, manager, data, "firms.csv")
    assert not rep.applied and rep.imported == 0
    assert {(e.row, e.field) for e in rep.rejected} == {
        (3, "name_zh"),
        (4, "global500_rank"),
        (5, "clusters"),
        (6, "name_zh"),
        (7, "parent"),
    }
    assert "row 2" in next(e.message.render("en") for e in rep.rejected if e.row == 6)
    assert count(session, Firm) == before


def test_skip_invalid_imports_the_rest(session, manager):
    data = csv_bytes([HEAD, ["甲科技"] + [""] * 8, ["乙科技", "", "", "", "999", "", "", "", ""]])
    rep = import_firms(session, manager, data, "f.csv", skip_invalid=True)
    assert rep.applied and rep.imported == 1 and [e.row for e in rep.rejected] == [3]


def test_dry_run_changes_nothing(session, manager):
    data = csv_bytes([HEAD, ["甲科技"] + [""] * 8])
    rep = import_firms(session, manager, data, "f.csv", dry_run=True)
    assert rep.imported == 1 and not rep.applied and count(session, Firm) == 0


def test_gb18030_csv_and_unknown_columns(session, manager):
    rep = import_firms(session, manager, csv_bytes([["企业名称"], ["戊电子"]], "gb18030"), "f.csv")
    assert rep.applied
    with pytest.raises(ValidationFailed, match="未知列：颜色"):
        import_firms(session, manager, csv_bytes([["企业名称", "颜色"], ["己", "红"]]), "f.csv")
    with pytest.raises(ValidationFailed):
        import_firms(session, manager, b"\x00\x01garbage", "f.xlsx")


def test_officers_may_not_import(session):
    officer = make_user(session, "officer", make_department(session))
    with pytest.raises(PermissionDenied):
        import_firms(session, officer, csv_bytes([["企业名称"], ["甲"]]), "f.csv")


def test_contacts_and_projects(session, manager):
    firm = make_firm(session, "思科", global500_rank=200)
    rep = import_contacts(
        session,
        manager,
        csv_bytes(
            [
                ["企业名称", "姓名", "职务", "邮箱"],
                ["思科", "王经理", "总监", "wang@example.com"],
                ["不存在", "李", "", ""],
                ["思科", "赵", "", "not-an-email"],
            ]
        ),
        "c.csv",
        skip_invalid=True,
    )
    assert rep.imported == 1 and [e.row for e in rep.rejected] == [3, 4]
    assert session.scalar(select(Contact.name).where(Contact.firm_id == firm.id)) == "王经理"
    rep = import_projects(
        session,
        manager,
        csv_bytes(
            [
                ["企业名称", "产业集群", "园区", "阶段", "计划投资（亿元）", "预计年产值（亿元）"],
                ["思科", "COMM", "XY", "签约", "12.5", "30"],
                ["思科", "NOPE", "", "lead", "", ""],
                ["思科", "IC", "", "lead", "-3", ""],
            ]
        ),
        "p.csv",
    )
    assert not rep.applied and [e.row for e in rep.rejected] == [3, 4]
    assert count(session, Project) == 0
    rep = import_projects(
        session,
        manager,
        csv_bytes(
            [
                ["企业名称", "产业集群", "园区", "阶段", "计划投资（亿元）"],
                ["思科", "通信设备", "XY", "签约", "12.5"],
            ]
        ),
        "p.csv",
    )
    assert rep.applied
    p = session.scalar(select(Project))
    assert p.stage == "signed" and str(p.planned_investment) == "12.5000"


def _index_triggers(session) -> set[str]:
    return set(
        session.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'firm_fts%'")
        )
    )


def test_imported_firms_are_found_by_search_and_the_index_stays_whole(session, manager):
    """An import indexes its firms in one statement (SQLite: the per-row trigger is lifted inside
    the import's transaction): afterwards the search finds them by name, alias, English name,
    pinyin, initials and a 2-character query, exactly as a substring match does; a rolled-back
    import leaves neither firms nor index entries behind, and the trigger is back either way."""
    from crm.firms.schemas import FirmCreate
    from crm.firms.service import create_firm, search_condition, search_firms
    from crm.text import fold_query

    old = make_firm(session, "长安汽车", name_en="Changan Automobile")
    session.commit()  # nothing written since: the import's first write opens the transaction
    sqlite = session.get_bind().dialect.name == "sqlite"
    triggers = _index_triggers(session) if sqlite else set()
    data = xlsx(
        [
            HEAD,
            ["富士康科技集团", "Foxconn", "鸿海;Hon Hai", "中国台湾", 60, "", "", "NB", ""],
            ["重庆富士康", "", "", "中国", "", "", "是", "NB", "富士康科技集团"],
            ["西南铝业", "Southwest Aluminium", "西南铝", "中国", "", 321, "否", "", ""],
        ]
    )
    rep = import_firms(session, manager, data, "firms.xlsx")
    assert rep.applied and rep.imported == 3
    session.commit()

    def ids(q: str) -> set[int]:
        return set(session.scalars(select(Firm.id).where(search_condition(q))))

    def like_ids(q: str) -> set[int]:
        return {f.id for f in session.scalars(select(Firm)) if fold_query(q) in f.search_text}

    by_name = {f.name_zh: f.id for f in session.scalars(select(Firm))}
    fsk = by_name["富士康科技集团"]
    assert ids("fushikang") == {fsk, by_name["重庆富士康"]}
    assert ids("鸿海") == ids("hon hai") == ids("foxconn") == {fsk}
    assert ids("xnly") == ids("xinanlv") == ids("西南") == {by_name["西南铝业"]}
    assert ids("changan") == {old.id}
    for q in ["富士康", "fsk", "科技集团", "hon", "aluminium", "cq", "长安", "zz-none", "a", "铝"]:
        assert ids(q) == like_ids(q), q
    assert [f.name_zh for f in search_firms(session, manager, "xinan")] == ["西南铝业"]
    if sqlite:
        assert _index_triggers(session) == triggers
        indexed = set(session.scalars(text("SELECT id FROM firm_fts_docsize")))
        assert indexed == set(by_name.values())

    # a firm created afterwards is indexed by the trigger again
    later = create_firm(session, manager, FirmCreate(name_zh="四联测控"), confirm=True)
    session.commit()
    assert ids("silian") == {later.id}

    # a rolled-back import: nothing found, nothing left in the index
    rep = import_firms(
        session, manager, xlsx([HEAD, ["惠普", "", "", "", "", "", "", "", ""]]), "more.xlsx"
    )
    assert rep.applied and ids("huipu")
    session.rollback()
    assert ids("huipu") == set() and count(session, Firm) == 5
    if sqlite:
        assert _index_triggers(session) == triggers
        assert session.scalar(text("SELECT count(*) FROM firm_fts_docsize")) == 5


def test_an_index_trigger_of_another_shape_is_left_to_index_row_by_row(session, manager):
    """The import lifts the FTS insert trigger only if it is exactly the migration's; a changed
    one (here with a WHEN clause) stays in place and indexes each row itself."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the FTS5 trigger exists on SQLite only")
    from crm.firms.service import search_condition

    sql = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'firm_fts_ai'"
    original = session.scalar(text(sql))
    changed = original.replace(" BEGIN ", " WHEN new.id > 0 BEGIN ", 1)
    assert changed != original
    session.commit()
    try:
        session.execute(text("DROP TRIGGER firm_fts_ai"))
        session.execute(text(changed))
        session.commit()
        statements: list[str] = []

        def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            rep = import_firms(session, manager, xlsx([HEAD, ["四联测控"] + [""] * 8]), "f.xlsx")
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert rep.applied
        assert not [s for s in statements if s.upper().startswith(("DROP", "CREATE"))]
        session.commit()
        assert session.scalar(text(sql)) == changed
        assert len(session.scalars(select(Firm.id).where(search_condition("silian"))).all()) == 1
    finally:
        session.rollback()
        session.execute(text("DROP TRIGGER IF EXISTS firm_fts_ai"))
        session.execute(text(original))
        session.commit()
    assert session.scalar(text(sql)) == original


def test_row_numbers_are_the_spreadsheets_own(session, manager):
    """A title row, empty rows and a header in B3: every error names the row Excel shows and
    the column header as written in the file; a 序号 column is ignored."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write("B1", "2027年重点企业名单")
    ws.write_row("B3", ["序号", "企业名称", "世界500强排名 ", "行业龙头"])
    ws.write_row("B4", [1, "甲公司", "", "是"])
    ws.write_row("B6", [2, "乙公司", "前十", ""])  # row 5 is empty
    ws.write_row("B9", [3, "丙公司", "", "也许"])
    wb.close()
    rep = import_firms(session, manager, buf.getvalue(), "firms.xlsx", dry_run=True)
    got = sorted((e.row, rep.column(e)) for e in rep.rejected)
    assert got == [(6, "世界500强排名"), (9, "行业龙头")]
    assert rep.total == 3 and rep.imported == 1


def test_office_dates_stage_labels_and_lost_projects(session, manager):
    make_firm(session, "思科")
    rows = [
        ["序号", "企业名称", "产业集群", "阶段", "预计签约日期", "流失原因"],
        [1, "思科", "COMM", "洽谈中", "2027/3/5", ""],
        [2, "思科", "IC", "已签约", "2027年3月5日", ""],
        [3, "思科", "NB", "Negotiating", 46451, ""],  # an Excel serial without a date format
        [4, "思科", "INST", "已流失", "2027.3.5", "选择了成都"],
        [5, "思科", "ROBOT", "已流失", "", ""],  # lost without its reason
        [6, "思科", "AUTO", "开会", "明年", ""],  # both wrong: both reported
    ]
    rep = import_projects(session, manager, xlsx(rows), "p.xlsx", skip_invalid=True)
    got = sorted((e.row, rep.column(e), str(e.message)) for e in rep.rejected)
    assert [(r, c) for r, c, _m in got] == [(6, "流失原因"), (7, "阶段"), (7, "预计签约日期")]
    assert "明年" in got[2][2] and "开会" in got[1][2]
    projects = {p.cluster_id: p for p in session.scalars(select(Project).order_by(Project.id))}
    assert rep.imported == 4 and len(projects) == 4
    stages = sorted(p.stage for p in projects.values())
    assert stages == ["lost", "negotiating", "negotiating", "signed"]
    assert {str(p.expected_sign_date) for p in projects.values()} == {"2027-03-05"}


@pytest.mark.parametrize("kind", ["firms", "contacts", "projects"])
def test_reimporting_a_file_changes_nothing(session, manager, kind):
    make_firm(session, "思科")
    files = {
        "firms": [["企业名称", "英文名称"], ["甲科技", "Jia"], ["乙科技", ""]],
        "contacts": [
            ["企业名称", "姓名", "电话", "邮箱"],
            ["思科", "王经理", "138 0000 0000", ""],
            ["思科", "李经理", "", "li@example.com"],
        ],
        "projects": [
            ["企业名称", "产业集群", "项目名称"],
            ["思科", "COMM", "交换机"],
            ["思科", "IC", ""],
        ],
    }
    fn = {"firms": import_firms, "contacts": import_contacts, "projects": import_projects}[kind]
    model = {"firms": Firm, "contacts": Contact, "projects": Project}[kind]
    data = xlsx(files[kind])
    first = fn(session, manager, data, "a.xlsx")
    assert first.applied and first.imported == 2
    before = count(session, model)
    again = fn(session, manager, data, "a.xlsx")
    assert again.ok and again.imported == 0 and again.unchanged == 2
    assert count(session, model) == before


def test_update_matching_rows(session, manager):
    firm = make_firm(session, "思科")
    head = ["企业名称", "姓名", "电话", "职务"]
    import_contacts(
        session, manager, xlsx([head, ["思科", "王经理", "13800000000", "经理"]]), "a.xlsx"
    )
    data = xlsx([head, ["思科", "王经理", "13800000000", "总经理"]])
    rep = import_contacts(session, manager, data, "a.xlsx")
    assert rep.unchanged == 1
    assert session.scalar(select(Contact.title).where(Contact.firm_id == firm.id)) == "经理"
    rep = import_contacts(session, manager, data, "a.xlsx", update_matching=True)
    assert rep.updated == 1 and rep.imported == 0
    session.expire_all()
    c = session.scalar(select(Contact).where(Contact.firm_id == firm.id))
    assert c.title == "总经理" and c.version == 2 and count(session, Contact) == 1


def test_possible_duplicates_are_held_with_their_candidates_unless_confirmed(session, manager):
    """The check of the form and the API for every row: 京东方科技集团有限公司 beside 京东方 is
    held back with its candidates (a check says so); the other rows go in, all or nothing
    notwithstanding; confirmed ("import anyway"), the row goes in with a warning."""
    boe = make_firm(session, "京东方")
    data = xlsx([["企业名称"], ["京东方科技集团有限公司"], ["完全不同的公司"]])
    rep = import_firms(session, manager, data, "f.xlsx", dry_run=True)
    assert rep.held == {2} and rep.imported == 1
    assert [c["id"] for c in rep.candidates[2]["firms"]] == [boe.id]
    assert rep.candidates[2]["name"] == "京东方科技集团有限公司"
    assert [(e.row, rep.column(e)) for e in rep.rejected] == [(2, "企业名称")]
    assert "京东方" in str(rep.rejected[0].message)
    rep = import_firms(session, manager, data, "f.xlsx")  # all or nothing: held rows do not stop
    assert rep.applied and rep.imported == 1 and rep.held == {2}
    assert count(session, Firm) == 2
    rep = import_firms(session, manager, data, "f.xlsx", confirmed=[2])
    assert rep.applied and rep.imported == 1 and rep.unchanged == 1 and not rep.rejected
    assert [(w.row, rep.column(w)) for w in rep.warnings] == [(2, "企业名称")]
    assert session.scalar(select(Firm.id).where(Firm.name_zh == "京东方科技集团有限公司"))


def test_a_firm_whose_parent_is_held_waits_for_it(session, manager):
    make_firm(session, "京东方")
    data = csv_bytes(
        [
            ["企业名称", "母公司"],
            ["京东方科技集团有限公司", ""],
            ["北京某分公司", "京东方科技集团有限公司"],
        ]
    )
    rep = import_firms(session, manager, data, "f.csv", skip_invalid=True)
    assert rep.held == {2}
    assert [(e.row, e.field) for e in rep.rejected] == [(2, "name_zh"), (3, "parent")]
    assert rep.imported == 0


def test_an_import_names_owners_only_as_may_set_owner_allows(session, manager):
    """The firm import applies create_firm's owner rule: a manager names owners of his own
    department; a row naming another department's officer is refused (under 负责人) and, by
    default, nothing of the file is imported."""
    from crm.models.accounts import Department

    own = session.get(Department, manager.department_id)
    colleague = make_user(session, "officer", own, username="colleague1")
    stranger = make_user(session, "officer", make_department(session), username="stranger1")
    data = csv_bytes(
        [
            ["企业名称", "负责人"],
            ["庚科技", colleague.username],
            ["辛科技", stranger.username],
        ]
    )
    before = count(session, Firm)
    rep = import_firms(session, manager, data, "firms.csv")
    assert not rep.applied
    assert [(e.row, e.field) for e in rep.rejected] == [(3, "owner")]
    assert count(session, Firm) == before
    rep = import_firms(session, manager, data, "firms.csv", skip_invalid=True)
    owners = dict(session.execute(select(Firm.name_zh, Firm.owner_id)).all())
    assert owners.get("庚科技") == colleague.id and "辛科技" not in owners


def test_a_project_row_without_a_title_updates_the_matching_project_and_keeps_its_title(
    session, manager
):
    """The row matches the project named after its firm and cluster; updating it changes the
    amount and leaves the title (a blank title is no title, never an empty one)."""
    make_firm(session, "思科")
    head = ["企业名称", "项目名称", "产业集群", "计划投资（亿元）"]
    rep = import_projects(session, manager, xlsx([head, ["思科", "", "IC", "1"]]), "p.xlsx")
    assert rep.applied and rep.imported == 1
    p = session.scalar(select(Project))
    title = p.title
    assert title and title.startswith("思科")
    for blank in ("", "   "):
        rep = import_projects(
            session,
            manager,
            xlsx([head, ["思科", blank, "IC", "2"]]),
            "p.xlsx",
            update_matching=True,
        )
        assert rep.applied and not rep.rejected and rep.updated == 1, rep.rejected
    session.expire_all()
    p = session.scalar(select(Project))
    assert p.title == title and str(p.planned_investment) == "2.0000"


def test_a_file_of_any_size_is_checked_for_near_duplicates(session, manager):
    """ATTACK8 P2-1: a file of more than 2,000 rows skipped the check, so a near-duplicate
    went in unasked (and the 撞单 it would have flagged was missed). Every row is checked."""
    boe = make_firm(session, "京东方")
    rows = [["企业名称"]] + [[f"甲乙丙丁{n:04d}号企业"] for n in range(2_100)]
    rows.append(["京东方科技集团有限公司"])
    rep = import_firms(session, manager, csv_bytes(rows), "f.csv", dry_run=True)
    held = len(rows)  # the last row's number (the header is row 1)
    assert rep.held == {held} and rep.imported == 2_100
    assert [c["id"] for c in rep.candidates[held]["firms"]] == [boe.id]
