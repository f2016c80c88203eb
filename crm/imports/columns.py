"""The columns of each import, in one table a kind: the canonical column, the words an office
writes in its header (the first one is the blank template's header), and the template's example
(Chinese, English). The importers' accepted headers and the blank templates are both made from
these tables, so a column added here is read by the import and offered by the template."""

from __future__ import annotations

from dataclasses import dataclass

from crm.imports.reader import accepted_headers


@dataclass(frozen=True)
class ImportColumn:
    name: str  # the canonical column (accepted as a header too)
    words: tuple[str, ...]  # the office's headers; words[0] is the template's Chinese header
    example: tuple[object, object] | None = None  # (Chinese, English); None: not in the template


C = ImportColumn

# in the template's order
COLUMNS: dict[str, tuple[ImportColumn, ...]] = {
    "firms": (
        C("name_zh", ("企业名称", "中文名称", "name"), ("惠普", "惠普")),
        C("name_en", ("英文名称",), ("Hewlett-Packard", "Hewlett-Packard")),
        C("aliases", ("别名",), ("HP;惠普公司", "HP; HP Inc.")),
        C("country", ("国家或地区", "国家"), ("美国", "United States")),
        C("global500_rank", ("世界500强排名",), (26, 26)),
        C("china500_rank", ("中国500强排名",), ("", "")),
        C("is_leader", ("行业龙头", "leader"), ("否", "no")),
        C("clusters", ("产业集群",), ("NB、COMM", "NB; COMM")),
        C("parent", ("母公司", "所属集团"), ("", "")),
        C("owner", ("负责人",), ("officer001", "officer001")),
        C("credit_code", ("统一社会信用代码",), ("", "")),
        C("website", ("网站",), ("www.hp.com", "www.hp.com")),
        C("headquarters", ("总部",), ("Palo Alto", "Palo Alto")),
        C("notes", ("备注",), ("", "")),
    ),
    "contacts": (
        C("firm", ("企业名称", "企业"), ("惠普", "惠普")),
        C("name", ("姓名",), ("王经理", "Wang Li")),
        C("title", ("职务",), ("中国区副总裁", "Vice President, China")),
        C("phone", ("电话",), ("023-12345678", "023-12345678")),
        C("email", ("邮箱",), ("wang@example.com", "wang@example.com")),
        C("wechat", ("微信",), ("wang_hp", "wang_hp")),
        C("notes", ("备注",), ("", "")),
    ),
    "projects": (
        C("firm", ("企业名称", "企业"), ("惠普", "惠普")),
        C("title", ("项目名称",), ("惠普笔记本整机项目", "HP notebook assembly")),
        C("cluster", ("产业集群",), ("NB", "NB")),
        C("park", ("园区",), ("XYFTZ", "XYFTZ")),
        C("chain_link", ("产业链环节",), ("whole", "whole")),
        C("stage", ("阶段",), ("洽谈", "negotiating")),
        C(
            "planned_investment",
            ("计划投资（亿元）", "计划投资(亿元)", "计划投资"),
            (30, 30),
        ),
        C(
            "expected_output",
            ("预计年产值（亿元）", "预计年产值(亿元)", "预计年产值"),
            (300, 300),
        ),
        C("expected_jobs", ("预计就业",), (5000, 5000)),
        C("expected_sign_date", ("预计签约日期",), ("2026-12-31", "2026-12-31")),
        C("owner", ("负责人",), ("officer001", "officer001")),
        C("department", ("部门",), ("", "")),
        C("is_confidential", ("保密",), ("否", "no")),
        C("code_name", ("代号",), ("", "")),
        C("notes", ("备注",), ("", "")),
        C("expected_land_date", ("预计落地日期",)),
        C("expected_operate_date", ("预计投产日期",)),
        C("lost_reason", ("流失原因", "原因", "reason")),
    ),
}


def headers_of(kind: str) -> dict[str, str]:
    """Every header the import of ``kind`` reads (header → column): the table's words, the
    column names, and the export's and template's labels in either language."""
    return accepted_headers({word: c.name for c in COLUMNS[kind] for word in (*c.words, c.name)})


def template_columns(kind: str) -> list[ImportColumn]:
    """The columns of the blank template of ``kind``, in order."""
    return [c for c in COLUMNS[kind] if c.example is not None]
