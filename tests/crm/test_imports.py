"""Import: row-by-row rejections, all-or-nothing, skip-invalid, Excel and CSV, GB18030."""

from __future__ import annotations

import io

import pytest
import xlsxwriter
from sqlalchemy import func, select

from crm.errors import PermissionDenied, ValidationFailed
from crm.firms.models import Contact, Firm, FirmAlias, FirmCluster
from crm.imports.service import import_contacts, import_firms, import_projects
from crm.projects.models import Project
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


HEAD = ["企业名称", "英文名称", "别名", "国家或地区", "世界500强排名", "中国500强排名", "行业龙头",
        "产业集群", "母公司"]


@pytest.fixture
def manager(session):
    return make_user(session, "manager", make_department(session))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_firms_from_excel(session, manager):
    data = xlsx([HEAD,
                 ["富士康科技集团", "Foxconn", "鸿海;Hon Hai", "中国台湾", 60, "", "",
                  "NB、通信设备", ""],
                 ["重庆富士康", "", "", "中国", "", "", "是", "NB", "富士康科技集团"],
                 ["四联测控", "", "", "中国", "", 321, "否", "INST", ""]])
    rep = import_firms(session, manager, data, "firms.xlsx")
    assert rep.ok and rep.applied and rep.imported == 3
    f = session.scalar(select(Firm).where(Firm.name_zh == "富士康科技集团"))
    sub = session.scalar(select(Firm).where(Firm.name_zh == "重庆富士康"))
    assert f.tier == "global500" and f.name_pinyin == "fushikangkejijituan"
    assert sub.parent_id == f.id and sub.tier == "leader"
    assert count(session, FirmAlias) == 2 and count(session, FirmCluster) == 4
    assert "honhai" in f.search_text


def test_one_bad_row_rejects_the_whole_file(session, manager):
    make_firm(session, "惠普")
    data = csv_bytes([HEAD,
                      ["甲科技", "", "", "", "", "", "", "NB", ""],
                      ["惠普有限公司", "", "", "", "", "", "", "", ""],         # duplicate of db
                      ["乙科技", "", "", "", "abc", "", "", "", ""],           # bad rank
                      ["丙科技", "", "", "", "", "", "", "NOPE", ""],          # unknown cluster
                      ["甲科技", "", "", "", "", "", "", "", ""],              # duplicate in file
                      ["丁科技", "", "", "", "", "", "", "", "不存在的集团"]])   # unknown parent
    before = count(session, Firm)
    rep = import_firms(session, manager, data, "firms.csv")
    assert not rep.applied and rep.imported == 0
    assert {(e.row, e.field) for e in rep.rejected} == {
        (3, "name_zh"), (4, None), (5, "clusters"), (6, "name_zh"), (7, "parent")}
    assert "row 2" in next(e.message for e in rep.rejected if e.row == 6)
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
    with pytest.raises(ValidationFailed, match="unknown columns: 颜色"):
        import_firms(session, manager, csv_bytes([["企业名称", "颜色"], ["己", "红"]]), "f.csv")
    with pytest.raises(ValidationFailed):
        import_firms(session, manager, b"\x00\x01garbage", "f.xlsx")


def test_officers_may_not_import(session):
    officer = make_user(session, "officer", make_department(session))
    with pytest.raises(PermissionDenied):
        import_firms(session, officer, csv_bytes([["企业名称"], ["甲"]]), "f.csv")


def test_contacts_and_projects(session, manager):
    firm = make_firm(session, "思科", global500_rank=200)
    rep = import_contacts(session, manager, csv_bytes([
        ["企业名称", "姓名", "职务", "邮箱"], ["思科", "王经理", "总监", "wang@example.com"],
        ["不存在", "李", "", ""], ["思科", "赵", "", "not-an-email"]]), "c.csv", skip_invalid=True)
    assert rep.imported == 1 and [e.row for e in rep.rejected] == [3, 4]
    assert session.scalar(select(Contact.name).where(Contact.firm_id == firm.id)) == "王经理"
    rep = import_projects(session, manager, csv_bytes([
        ["企业名称", "产业集群", "园区", "阶段", "计划投资（亿元）", "预计年产值（亿元）"],
        ["思科", "COMM", "XY", "签约", "12.5", "30"],
        ["思科", "NOPE", "", "lead", "", ""],
        ["思科", "IC", "", "lead", "-3", ""]]), "p.csv")
    assert not rep.applied and [e.row for e in rep.rejected] == [3, 4]
    assert count(session, Project) == 0
    rep = import_projects(session, manager, csv_bytes([
        ["企业名称", "产业集群", "园区", "阶段", "计划投资（亿元）"],
        ["思科", "通信设备", "XY", "签约", "12.5"]]), "p.csv")
    assert rep.applied
    p = session.scalar(select(Project))
    assert p.stage == "signed" and str(p.planned_investment) == "12.5000"
