"""Blank workbooks with the import columns, so an office fills in the right headers — in the
reader's language: the Chinese headers offices use, or the English ones of ``crm.exports.LABELS``
(the map the importers read both from)."""

from __future__ import annotations

import io

import xlsxwriter

from crm.exports import label

# kind → (Chinese header, column, example, English example)
COLUMNS: dict[str, list[tuple[str, str, object, object]]] = {
    "firms": [
        ("企业名称", "name_zh", "惠普", "惠普"),
        ("英文名称", "name_en", "Hewlett-Packard", "Hewlett-Packard"),
        ("别名", "aliases", "HP;惠普公司", "HP; HP Inc."),
        ("国家或地区", "country", "美国", "United States"),
        ("世界500强排名", "global500_rank", 26, 26),
        ("中国500强排名", "china500_rank", "", ""),
        ("行业龙头", "is_leader", "否", "no"),
        ("产业集群", "clusters", "NB、COMM", "NB; COMM"),
        ("母公司", "parent", "", ""),
        ("负责人", "owner", "officer001", "officer001"),
        ("统一社会信用代码", "credit_code", "", ""),
        ("网站", "website", "www.hp.com", "www.hp.com"),
        ("总部", "headquarters", "Palo Alto", "Palo Alto"),
        ("备注", "notes", "", ""),
    ],
    "contacts": [
        ("企业名称", "firm", "惠普", "惠普"),
        ("姓名", "name", "王经理", "Wang Li"),
        ("职务", "title", "中国区副总裁", "Vice President, China"),
        ("电话", "phone", "023-12345678", "023-12345678"),
        ("邮箱", "email", "wang@example.com", "wang@example.com"),
        ("微信", "wechat", "wang_hp", "wang_hp"),
        ("备注", "notes", "", ""),
    ],
    "projects": [
        ("企业名称", "firm", "惠普", "惠普"),
        ("项目名称", "title", "惠普笔记本整机项目", "HP notebook assembly"),
        ("产业集群", "cluster", "NB", "NB"),
        ("园区", "park", "XYFTZ", "XYFTZ"),
        ("产业链环节", "chain_link", "whole", "whole"),
        ("阶段", "stage", "洽谈", "negotiating"),
        ("计划投资（亿元）", "planned_investment", 30, 30),
        ("预计年产值（亿元）", "expected_output", 300, 300),
        ("预计就业", "expected_jobs", 5000, 5000),
        ("预计签约日期", "expected_sign_date", "2026-12-31", "2026-12-31"),
        ("负责人", "owner", "officer001", "officer001"),
        ("部门", "department", "", ""),
        ("保密", "is_confidential", "否", "no"),
        ("代号", "code_name", "", ""),
        ("备注", "notes", "", ""),
    ],
}


def headers(kind: str, lang: str) -> list[str]:
    """The template's headers for ``kind`` in ``lang``."""
    if lang == "en":
        return [label(column, "en") for _, column, _, _ in COLUMNS[kind]]
    return [zh for zh, _, _, _ in COLUMNS[kind]]


def template_workbook(kind: str, lang: str = "zh_CN") -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet(kind)
    bold = wb.add_format({"bold": True, "bg_color": "#F0F4F8"})
    for col, (header, (_, _, zh, en)) in enumerate(
        zip(headers(kind, lang), COLUMNS[kind], strict=True)
    ):
        ws.write(0, col, header, bold)
        ws.write(1, col, en if lang == "en" else zh)
        ws.set_column(col, col, max(12, len(header) * (1 if lang == "en" else 2) + 2))
    wb.close()
    return buf.getvalue()
