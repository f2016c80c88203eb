"""The targets report's workbook: each cluster's and the city's progress against its target, and
the two cores' share of the landed output."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.i18n import gettext as _
from crm.reports.columns import (
    INDICATORS,
    Column,
    Sheet,
    cluster_columns,
    en,
    fields,
    join,
    sheet,
    yes_no,
)

CLUSTERS = [
    *cluster_columns(),
    *fields(
        "target_2015",
        "landed_output",
        "progress",
        "signed_output",
        "progress_with_signed",
        "landed_projects",
        "signed_projects",
        num=True,
    ),
]
TOTALS = [
    Column(_l("目标"), lambda t: t.label_en if en() else t.label_zh, key="label"),
    *fields(
        "year",
        "target",
        "landed_output",
        "progress",
        "with_signed_output",
        "progress_with_signed",
        num=True,
    ),
]


def sheets(r: Any) -> list[Sheet]:
    cs = r.core_share
    core = [
        (_("双核园区"), join(cs.core_parks)),
        (_("双核落地及投产产值(亿元)"), cs.core_output),
        (_("全部落地及投产产值(亿元)"), cs.total_output),
        (_("未定园区产值(亿元)"), cs.no_park_output),
        (_("双核占比"), cs.share),
        (_("目标占比"), cs.target),
        (_("是否达标"), yes_no(cs.met)),
    ]
    return [
        sheet(_l("集群目标"), CLUSTERS, r.clusters),
        sheet(_l("全市目标"), TOTALS, r.totals),
        sheet(_l("双核占比"), INDICATORS, core),
    ]
