"""Blank workbooks with the import columns, so an office fills in the right headers."""

from __future__ import annotations

import io

import xlsxwriter

COLUMNS = {
    "firms": [
        ("企业名称", "惠普"),
        ("英文名称", "Hewlett-Packard"),
        ("别名", "HP;惠普公司"),
        ("国家或地区", "美国"),
        ("世界500强排名", 26),
        ("中国500强排名", ""),
        ("行业龙头", "否"),
        ("产业集群", "NB、COMM"),
        ("母公司", ""),
        ("负责人", "officer001"),
        ("统一社会信用代码", ""),
        ("网站", "www.hp.com"),
        ("总部", "Palo Alto"),
        ("备注", ""),
    ],
    "contacts": [
        ("企业名称", "惠普"),
        ("姓名", "王经理"),
        ("职务", "中国区副总裁"),
        ("电话", "023-12345678"),
        ("邮箱", "wang@example.com"),
        ("微信", "wang_hp"),
        ("备注", ""),
    ],
    "projects": [
        ("企业名称", "惠普"),
        ("项目名称", "惠普笔记本整机项目"),
        ("产业集群", "NB"),
        ("园区", "XYFTZ"),
        ("产业链环节", "whole"),
        ("阶段", "洽谈"),
        ("计划投资（亿元）", 30),
        ("预计年产值（亿元）", 300),
        ("预计就业", 5000),
        ("预计签约日期", "2026-12-31"),
        ("负责人", "officer001"),
        ("部门", ""),
        ("保密", "否"),
        ("代号", ""),
        ("备注", ""),
    ],
}


def template_workbook(kind: str) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet(kind)
    bold = wb.add_format({"bold": True, "bg_color": "#F0F4F8"})
    for col, (header, example) in enumerate(COLUMNS[kind]):
        ws.write(0, col, header, bold)
        ws.write(1, col, example)
        ws.set_column(col, col, max(12, len(header) * 2 + 2))
    wb.close()
    return buf.getvalue()
