"""The pipeline report's workbook: the projects by stage per group, the conversion from stage to
stage, and the new projects and signings per week."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.i18n import _l
from crm.i18n import gettext as _
from crm.reports.columns import Column, Sheet, fields, sheet
from crm.reports.words import GROUP_ZH, STAGE_ZH

CONVERSION = [
    Column(_l("从阶段"), lambda c: _(STAGE_ZH[c.from_stage]), key="from_stage"),
    Column(_l("到阶段"), lambda c: _(STAGE_ZH[c.to_stage]), key="to_stage"),
    *fields("reached_from", "reached_to", "rate", num=True),
]
WEEKS = [
    *fields("week_start"),
    *fields("new_projects", "signings", num=True),
]


def sheets(r: Any) -> list[Sheet]:
    # a row per group, then the totals: (label, its cells by stage, its total)
    rows = [(g.label, g.stages, g.total) for g in r.groups]
    rows.append((_("合计"), r.totals, r.total))

    def figures(heads: tuple[str, str, str], of: Callable[[Any], Any]) -> list[Column]:
        """The count, planned investment and expected output of the cell ``of(row)``."""
        count, investment, output = heads
        return [
            Column(count, lambda g: of(g).count),
            Column(investment, lambda g: of(g).planned_investment),
            Column(output, lambda g: of(g).expected_output),
        ]

    def stage_figures(s: str) -> list[Column]:
        z = _(STAGE_ZH[s])
        heads = (
            _("{stage}项目数").format(stage=z),
            _("{stage}计划投资(亿元)").format(stage=z),
            _("{stage}预计产值(亿元)").format(stage=z),
        )
        return figures(heads, lambda g: g[1][s])

    total = figures(
        (_("合计项目数(不含流失)"), _("合计计划投资(亿元)"), _("合计预计产值(亿元)")),
        lambda g: g[2],
    )
    groups = [
        Column(_(GROUP_ZH.get(r.group_by, "分组")), lambda g: g[0]),
        *(c for s in r.stages for c in stage_figures(s)),
        *total,
    ]
    return [
        sheet(_l("按阶段"), groups, rows),
        sheet(_l("阶段转化"), CONVERSION, r.conversion),
        sheet(_l("每周新增与签约"), WEEKS, r.weeks),
    ]
