"""An import file's header given twice is refused naming both columns; a formula cell without
its calculated value is named as such (the reader would see it empty: "必填" was the answer)."""

from __future__ import annotations

import io

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import func, select

from crm.errors import ValidationFailed
from crm.imports.service import import_firms
from crm.models.firms import Firm
from tests.factories import make_department, make_user


@pytest.fixture
def manager(session):
    return make_user(session, "manager", make_department(session))


def _refused(session, manager, data: bytes, name: str) -> tuple[str, str]:
    before = session.scalar(select(func.count()).select_from(Firm))
    with pytest.raises(ValidationFailed) as err:
        import_firms(session, manager, data, name)
    assert session.scalar(select(func.count()).select_from(Firm)) == before
    return err.value.message.render("zh_CN"), err.value.message.render("en")


def test_a_header_given_twice_is_refused_with_both_columns(session, manager):
    data = "企业名称,产业集群,企业名称\n重复头甲,NB,重复头乙\n".encode()
    assert _refused(session, manager, data, "firms.csv") == (
        "列名重复：企业名称（A列和C列）",
        "Duplicate column: 企业名称 (columns A and C)",
    )


def test_the_columns_are_named_where_the_sheet_has_them(session, manager):
    """A sheet whose table starts in column B: the letters are the sheet's."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for c, v in enumerate(["企业名称", "英文名称", "产业集群", "英文名称"], start=1):
        ws.write(1, c, v)
    for c, v in enumerate(["重复头甲", "A", "NB", "B"], start=1):
        ws.write(2, c, v)
    wb.close()
    zh, _ = _refused(session, manager, buf.getvalue(), "firms.xlsx")
    assert zh == "列名重复：英文名称（C列和E列）"


def test_a_formula_without_its_value_is_named(session, manager):
    wb = openpyxl.Workbook()  # openpyxl writes formulas without calculating them
    ws = wb.active
    ws.append(["企业名称", "产业集群"])
    ws.append(['=HYPERLINK("http://evil.example","点我")', "NB"])
    ws.append(["正常企业", "NB"])
    buf = io.BytesIO()
    wb.save(buf)
    zh, en = _refused(session, manager, buf.getvalue(), "firms.xlsx")
    assert zh.startswith("单元格 A2 是公式且没有计算结果（共 1 个）") and "必填" not in zh
    assert en.startswith("Cell(s) A2 hold a formula without a calculated value (1 in all)")


def test_a_formula_with_its_value_is_read_as_the_value(session, manager):
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["企业名称", "产业集群"])
    ws.write_formula(1, 0, '="公式"&"企业"', None, "公式企业")  # as Excel saves it
    ws.write(1, 1, "NB")
    wb.close()
    rep = import_firms(session, manager, buf.getvalue(), "firms.xlsx")
    assert rep.applied and rep.imported == 1, rep.rejected
    assert session.scalar(select(Firm.name_zh).where(Firm.name_zh == "公式企业"))
