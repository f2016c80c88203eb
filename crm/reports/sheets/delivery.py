"""The delivery report's workbook: each cluster's signed projects against their commitments, and
the projects late to land or to operate."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.policy import names as plan_names
from crm.reports.columns import (
    Column,
    Sheet,
    cluster_columns,
    fields,
    project_columns,
    sheet,
    stage_column,
)

CLUSTERS = [
    *cluster_columns(),
    *fields(
        "projects",
        "planned_investment",
        "capital_arrived",
        "capital_ratio",
        "expected_jobs",
        "actual_jobs",
        "jobs_ratio",
        "late_landing",
        "late_operation",
        num=True,
        own={"projects": _l("签约项目数")},
    ),
]
LATE = [
    *project_columns(),
    Column(_l("集群"), lambda p: plan_names.cluster(p.cluster)),  # its name, not its code
    stage_column(),
    *fields(
        "expected_land_date", "actual_land_date", "expected_operate_date", "actual_operate_date"
    ),
]


def sheets(r: Any) -> list[Sheet]:
    return [
        sheet(_l("履约情况"), CLUSTERS, [*r.clusters, r.total]),
        sheet(_l("延期项目"), LATE, r.late),
    ]
