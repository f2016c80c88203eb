"""The park layout report's workbook: the parks, each park's guided clusters, and its
projects."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.i18n import gettext as _
from crm.policy import names as plan_names
from crm.reports.columns import (
    Column,
    Sheet,
    fields,
    item,
    nested,
    outer,
    park_columns,
    park_row_columns,
    project_columns,
    sheet,
    stage_column,
)
from crm.reports.words import STATUS_ZH

PARKS = [
    *park_row_columns(),
    Column(_l("所在核心园区"), lambda p: p.within or ""),
    Column(_l("引导集群数"), lambda p: len(p.pairs)),
    *fields("project_count", "outside_guidance", num=True),
]
PAIRS = [  # In(park, park × cluster)
    *park_columns(outer),
    Column(_l("集群代码"), lambda x: x.item.cluster),
    Column(_l("集群"), lambda x: plan_names.cluster(x.item.cluster)),
    Column(_l("政策导向"), lambda x: x.item.focus or ""),
    Column(_l("覆盖状态"), lambda x: _(STATUS_ZH.get(x.item.status, x.item.status))),
    *fields("major_secured", "major_pursuing", "landed_count", "project_count", of=item),
]
PROJECTS = [  # In(park, project)
    *park_columns(outer),
    *project_columns(item),
    *fields("cluster", of=item),
    stage_column(item),
    *fields("expected_output", of=item),
]


def sheets(r: Any) -> list[Sheet]:
    return [
        sheet(_l("园区"), PARKS, r.parks),
        sheet(_l("园区×集群"), PAIRS, nested(r.parks, lambda p: p.pairs)),
        sheet(_l("项目"), PROJECTS, nested(r.parks, lambda p: p.projects)),
    ]
