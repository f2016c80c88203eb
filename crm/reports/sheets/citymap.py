"""The city map report's workbook: the districts' landed output, and the parks."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.i18n import gettext as _
from crm.policy.districts import district_name
from crm.reports.columns import Column, Sheet, fields, join, park_row_columns, sheet
from crm.reports.words import STATUS_ZH

DISTRICTS = [
    Column(_l("区县"), lambda d: district_name(d.name)),
    *fields("landed_output"),
    Column(_l("园区"), lambda d: join(d.parks)),
]
PARKS = [
    *park_row_columns(),
    Column(_l("引导集群"), lambda p: join(p.clusters), key="clusters"),
    *fields(
        "landed_output",
        "landed_projects",
        "live_projects",
        num=True,
        own={"landed_projects": _l("落地项目数")},
    ),
    Column(
        _l("所选集群覆盖状态"),
        lambda p: _(STATUS_ZH.get(p.status, "")) if p.status else "",
        key="status",
    ),
]


def sheets(r: Any) -> list[Sheet]:
    return [
        sheet(_l("区县"), DISTRICTS, r.districts),
        sheet(_l("园区"), PARKS, r.parks),
    ]
