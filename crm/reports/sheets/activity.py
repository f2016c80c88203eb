"""The officer-activity report's workbook: each officer's figures in total and per week."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.reports.columns import Column, Sheet, fields, sheet

# an officer's figures, in total and per week
FIGURES = fields(
    "contacts",
    "followups_done",
    "followups_overdue",
    "new_leads",
    "awaiting_contact",
    "median_response_hours",
    num=True,
)
OFFICERS = [
    Column(_l("招商专员"), lambda o: o.name, key="name"),
    Column(_l("部门"), lambda o: o.department or "", key="department"),
    *FIGURES,
]


def sheets(r: Any) -> list[Sheet]:
    names = {o.officer_id: o.name for o in r.officers}
    weeks = [
        Column(_l("招商专员"), lambda c: names.get(c.officer_id, str(c.officer_id))),
        Column(_l("周(周一)"), lambda c: c.week_start),
        *FIGURES,
    ]
    return [
        sheet(_l("专员汇总"), OFFICERS, r.officers),
        sheet(_l("专员每周"), weeks, r.rows),
    ]
