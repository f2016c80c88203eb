"""Any list as an Excel workbook, in the reader's language: the rows a list service returned
(already through its permission filters) written with translated headers, local times, numbers
as numbers. One audit row names what was exported and how many rows."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from pydantic import BaseModel
from sqlmodel import Session

from crm.audit.service import record
from crm.authz.disclosure import redact_export_rows
from crm.clock import to_local
from crm.i18n import Message, render
from crm.labels import ACTIVITY_KINDS, FOLLOWUP_STATUSES, ROLES, STAGES, TIERS
from crm.models.accounts import User

# the most rows one export writes (a list is capped at 10,000 on screen; an export goes further)
MAX_ROWS = 100_000

# column headers: field → (中文, English)
LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "name_zh": ("中文名称", "Chinese name"),
    "name_en": ("英文名称", "English name"),
    "aliases": ("别名", "Aliases"),
    "country": ("国家或地区", "Country or region"),
    "headquarters": ("总部", "Headquarters"),
    "global500_rank": ("世界500强排名", "Global 500 rank"),
    "china500_rank": ("中国500强排名", "China 500 rank"),
    "is_leader": ("行业龙头", "Industry leader"),
    "tier": ("层级", "Tier"),
    "website": ("网站", "Website"),
    "credit_code": ("统一社会信用代码", "Credit code"),
    "parent_id": ("所属集团编号", "Parent firm ID"),
    "parent": ("所属集团", "Parent firm"),
    "owner_id": ("负责人编号", "Owner ID"),
    "owner": ("负责人", "Owner"),
    "clusters": ("产业集群", "Clusters"),
    "cluster": ("产业集群", "Cluster"),
    "park": ("园区", "Park"),
    "chain_link": ("产业链环节", "Chain link"),
    "notes": ("备注", "Notes"),
    "created_at": ("创建时间", "Created"),
    "updated_at": ("更新时间", "Updated"),
    "version": ("版本", "Version"),
    "title": ("标题", "Title"),
    "firm_id": ("企业编号", "Firm ID"),
    "firm": ("企业", "Firm"),
    "firm_name": ("企业名称", "Firm name"),
    "project_id": ("项目编号", "Project ID"),
    "stage": ("阶段", "Stage"),
    "lost_reason": ("流失原因", "Lost reason"),
    "planned_investment": ("计划投资（亿元）", "Planned investment (100M CNY)"),
    "expected_output": ("预计产值（亿元）", "Expected output (100M CNY)"),
    "expected_jobs": ("预计就业", "Expected jobs"),
    "expected_sign_date": ("预计签约日期", "Expected signing date"),
    "expected_land_date": ("预计落地日期", "Expected landing date"),
    "expected_operate_date": ("预计投产日期", "Expected operation date"),
    "actual_sign_date": ("实际签约日期", "Signing date"),
    "actual_land_date": ("实际落地日期", "Landing date"),
    "actual_operate_date": ("实际投产日期", "Operation date"),
    "conflict_with_id": ("撞单项目编号", "Conflicting project ID"),
    "in_conflict": ("撞单", "Conflict"),
    "first_contact_at": ("首次接触", "First contact"),
    "last_activity_at": ("最近接触", "Last contact"),
    "department": ("部门", "Department"),
    "actual_jobs": ("实际就业", "Actual jobs"),
    "department_id": ("部门编号", "Department ID"),
    "is_confidential": ("保密", "Confidential"),
    "code_name": ("代号", "Code name"),
    "due_at": ("到期时间", "Due"),
    "remind_at": ("提醒时间", "Reminder"),
    "assignee_id": ("负责人编号", "Assignee ID"),
    "status": ("状态", "Status"),
    "completed_at": ("完成时间", "Completed"),
    "activity_id": ("接触记录编号", "Activity ID"),
    "kind": ("方式", "Kind"),
    "occurred_at": ("发生时间", "When"),
    "summary": ("摘要", "Summary"),
    "outcome": ("结果", "Outcome"),
    "created_by_id": ("记录人编号", "Logged by ID"),
    "firm_ids": ("企业编号", "Firm IDs"),
    "project_ids": ("项目编号", "Project IDs"),
    "contact_ids": ("联系人编号", "Contact IDs"),
    "officer_ids": ("参与人编号", "Officer IDs"),
    "username": ("用户名", "User name"),
    "display_name": ("姓名", "Name"),
    "email": ("邮箱", "Email"),
    "role": ("角色", "Role"),
    "is_active": ("在用", "Active"),
    "language": ("语言", "Language"),
    "last_login_at": ("最近登录", "Last login"),
    "name": ("姓名", "Name"),
    "phone": ("电话", "Phone"),
    "wechat": ("微信", "WeChat"),
    "at": ("时间", "Time"),
    "actor": ("操作人", "Actor"),
    "action": ("操作", "Action"),
    "entity": ("对象", "Record"),
    "entity_id": ("对象编号", "Record ID"),
    "before": ("修改前", "Before"),
    "after": ("修改后", "After"),
    "ip": ("地址", "Address"),
}


# coded columns written as a reader reads them (the codes stay in the API's JSON)
VALUES: dict[str, dict[str, Message]] = {
    "stage": STAGES,
    "status": FOLLOWUP_STATUSES,
    "kind": ACTIVITY_KINDS,
    "tier": TIERS,
    "role": ROLES,
}


def label(field: str, lang: str) -> str:
    zh, en = LABELS.get(field, (field, field))
    return en if lang == "en" else zh


def rows_of(
    items: Sequence[BaseModel | dict[str, Any]], model: type[BaseModel] | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Fields (in the model's order) and values of a list's items (an empty list still has
    its model's columns)."""
    if not items:
        return (list(model.model_fields) if model else []), []
    first = items[0]
    fields = list(first.keys() if isinstance(first, dict) else type(first).model_fields)
    rows = []
    for it in items:
        d = it if isinstance(it, dict) else it.model_dump()
        rows.append([d.get(f) for f in fields])
    return fields, rows


def workbook(buf: io.BytesIO) -> Any:
    """An in-memory workbook that writes every string as text: never a number, a formula (a
    cell beginning with "=" stays text) or a link."""
    return xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )


class Cells:
    """Writes one value into a cell by its type: a coded word in ``lang``, yes or blank, a
    number, a local time or day, a list joined (by ``sep``, else "、" / ", "), else text (cut to
    Excel's limit); nothing for a value that is None, empty or an empty list."""

    def __init__(self, wb: Any, ws: Any, lang: str, sep: str | None = None) -> None:
        self.ws, self.lang = ws, lang
        self.when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.day = wb.add_format({"num_format": "yyyy-mm-dd"})
        self.yes = "yes" if lang == "en" else "是"
        self.sep = sep or (", " if lang == "en" else "、")

    def write(self, r: int, c: int, v: Any, words: dict[str, Message] | None) -> None:
        ws = self.ws
        if v is None or v == "" or v == []:
            return
        if words is not None and isinstance(v, str) and v in words:
            ws.write_string(r, c, str(render(words[v], self.lang)))
        elif isinstance(v, bool):
            ws.write_string(r, c, self.yes if v else "")
        elif isinstance(v, int | float):
            ws.write_number(r, c, v)
        elif isinstance(v, Decimal):
            ws.write_number(r, c, float(v))
        elif isinstance(v, datetime):
            local = to_local(v) if v.tzinfo else v
            ws.write_datetime(r, c, local.replace(tzinfo=None), self.when)
        elif isinstance(v, date):
            ws.write_datetime(r, c, v, self.day)
        elif isinstance(v, list | tuple):
            ws.write_string(r, c, self.sep.join(str(x) for x in v))
        else:
            ws.write_string(r, c, str(v)[:32_000])


def to_xlsx(
    sheet: str,
    fields: list[str],
    rows: Sequence[Sequence[Any]],
    lang: str = "zh_CN",
    headers: list[str] | None = None,
) -> bytes:
    """A one-sheet workbook: bold header row (translated), frozen, filtered; values typed."""
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet(sheet[:31])
    head = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    cells = Cells(wb, ws, lang)
    names = headers or [label(f, lang) for f in fields]
    for c, h in enumerate(names):
        ws.write_string(0, c, h, head)
        ws.set_column(c, c, max(8, min(40, len(h) * 2 + 2)))
    ws.freeze_panes(1, 0)
    coded = [VALUES.get(f) for f in fields] if not headers else [None] * len(names)
    for r, row in enumerate(rows[:MAX_ROWS], start=1):
        for c, v in enumerate(row):
            cells.write(r, c, v, coded[c] if c < len(coded) else None)
    if names:
        ws.autofilter(0, 0, max(len(rows), 1), len(names) - 1)
    wb.close()
    return buf.getvalue()


def export_items(
    session: Session,
    actor: User,
    kind: str,
    items: Sequence[BaseModel | dict[str, Any]],
    filters: dict[str, Any] | None = None,
    model: type[BaseModel] | None = None,
    lang: str | None = None,
) -> bytes:
    """``items`` (what the list showed, through its permission filters) as .xlsx in ``lang``
    (a page's language) or the actor's, confidential projects by their code names only
    (``crm.authz.disclosure``); audited."""
    lang = lang or getattr(actor, "language", "zh_CN") or "zh_CN"
    dicts = [dict(it) if isinstance(it, dict) else it.model_dump() for it in items]
    fields, rows = rows_of(redact_export_rows(session, kind, dicts, lang), model)
    data = to_xlsx(kind, fields, rows, lang)
    record(
        session,
        actor.id,
        "export",
        kind,
        None,
        after={
            "rows": len(rows),
            "filters": {k: str(v) for k, v in (filters or {}).items() if v not in (None, "")},
        },
    )
    session.flush()
    return data
