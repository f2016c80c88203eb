"""Every report as an Excel workbook (xlsxwriter), in the reader's language (sheet names, headers,
stages, states, tiers, the plan's names, districts), numbers as numbers, the same figures as the
API (they come from the same report object)."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from crm.clock import to_local
from crm.exports import workbook
from crm.i18n import _l, current_language, using
from crm.i18n import gettext as _
from crm.policy import names as plan_names
from crm.policy.districts import district_name
from crm.reports.briefing_pdf import sheets as briefing_sheets
from crm.reports.columns import (
    INDICATORS,
    Column,
    In,
    PageHead,
    Sheet,
    cluster_columns,
    cluster_name,
    en,
    fields,
    join,
    nested,
    page,
    park_columns,
    pick,
    project_columns,
    sheet,
    stage_column,
)
from crm.reports.words import GROUP_ZH, STAGE_ZH, STATUS_ZH, TIER_ZH, band_label


def _status(s: str) -> str:
    return _(STATUS_ZH[s])


def _tier(t: str) -> str:
    return _(TIER_ZH.get(t, t))


def _yes(met: bool) -> str:
    return _("是") if met else _("否")


def _investor_names(c: Any) -> str:
    """A cell holds at most 32,767 characters: the first 20 here, all on their own sheet."""
    shown = join(m.name for m in c.major_investors[:20])
    more = c.major_investor_count - min(20, len(c.major_investors))
    if more <= 0:
        return shown
    return _("{names} 等{count}家").format(names=shown, count=c.major_investor_count)


def _outer(x: In) -> Any:
    return x.outer


def _item(x: In) -> Any:
    return x.item


COVERAGE_CLUSTERS = [
    *cluster_columns(),
    Column(_l("覆盖状态"), lambda c: _status(c.status), key="status"),
    *fields({"major_investor_count": _l("重点投资者数")}, num=True),
    Column(_l("重点投资者"), _investor_names, key="major_investors"),
    *fields(
        {
            "project_count": _l("支撑项目数"),
            "links_covered": _l("已覆盖环节数"),
            "links_without_firm": _l("无企业环节数"),
        },
        num=True,
    ),
]
COVERAGE_PROJECTS = [  # In(cluster, project)
    *cluster_columns(_outer),
    Column(_l("覆盖状态"), lambda x: _status(x.outer.status)),
    *project_columns(_item),
    Column(_l("企业层级"), lambda x: _tier(x.item.tier)),
    stage_column(_item),
    *fields({"expected_output": _l("预计年产值(亿元)")}, _item),
]
COVERAGE_INVESTORS = [  # In(cluster, investor)
    *cluster_columns(_outer),
    *fields({"name": _l("重点投资者")}, _item),
    Column(_l("企业层级"), lambda x: _tier(x.item.tier)),
    Column(_l("状态"), lambda x: _status(x.item.status)),
    *fields({"secured_projects": _l("已签约项目数"), "pursuing_projects": _l("在谈项目数")}, _item),
]
COVERAGE_LINKS = [  # In(cluster, chain link)
    *cluster_columns(_outer),
    Column(_l("环节代码"), lambda x: x.item.code),
    Column(_l("产业链环节"), lambda x: pick(x.item.name_zh, x.item.name_en), key="link"),
    Column(_l("覆盖状态"), lambda x: _status(x.item.status), key="status"),
    *fields(
        {
            "firm_count": _l("企业数"),
            "major_firm_count": _l("重点投资者数"),
            "project_count": _l("项目数"),
        },
        _item,
        num=True,
    ),
    Column(_l("重点投资者"), lambda x: join(x.item.major_investors), key="major_investors"),
]


def _coverage(r: Any) -> list[Sheet]:
    park_name = {p.code: pick(p.name_zh, p.name_en) for p in r.parks}
    cname = {c.code: cluster_name(c.code, c.name_zh) for c in r.clusters}
    matrix = [
        Column(_l("集群代码"), lambda m: m.cluster),
        Column(_l("产业集群"), lambda m: cname.get(m.cluster, m.cluster)),
        Column(_l("园区代码"), lambda m: m.park),
        Column(_l("园区"), lambda m: park_name.get(m.park, m.park)),
        Column(_l("覆盖状态"), lambda m: _status(m.status)),
        *fields(
            {
                "major_secured": _l("重点投资者签约及以上项目数"),
                "major_pursuing": _l("重点投资者在谈项目数"),
                "landed_count": _l("落地项目数"),
                "advanced_count": _l("在谈及以上项目数"),
                "project_count": _l("项目数(不含流失)"),
            }
        ),
    ]
    return [
        sheet(_l("集群覆盖"), COVERAGE_CLUSTERS, r.clusters),
        sheet(_l("支撑项目"), COVERAGE_PROJECTS, nested(r.clusters, lambda c: c.projects)),
        sheet(
            _l("重点投资者"), COVERAGE_INVESTORS, nested(r.clusters, lambda c: c.major_investors)
        ),
        sheet(_l("产业链环节"), COVERAGE_LINKS, nested(r.clusters, lambda c: c.links)),
        sheet(_l("集群×园区"), matrix, r.matrix),
    ]


PIPELINE_CONVERSION = [
    Column(_l("从阶段"), lambda c: _(STAGE_ZH[c.from_stage]), key="from_stage"),
    Column(_l("到阶段"), lambda c: _(STAGE_ZH[c.to_stage]), key="to_stage"),
    *fields(
        {
            "reached_from": _l("到达前一阶段项目数"),
            "reached_to": _l("到达后一阶段项目数"),
            "rate": _l("转化率"),
        },
        num=True,
    ),
]
PIPELINE_WEEKS = [
    *fields({"week_start": _l("周(周一)")}),
    *fields({"new_projects": _l("新增项目"), "signings": _l("签约项目")}, num=True),
]


def _pipeline(r: Any) -> list[Sheet]:
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
        sheet(_l("阶段转化"), PIPELINE_CONVERSION, r.conversion),
        sheet(_l("每周新增与签约"), PIPELINE_WEEKS, r.weeks),
    ]


TARGET_CLUSTERS = [
    *cluster_columns(),
    *fields(
        {
            "target_2015": _l("2015年目标(亿元)"),
            "landed_output": _l("落地及投产产值(亿元)"),
            "progress": _l("完成率"),
            "signed_output": _l("已签约产值(亿元)"),
            "progress_with_signed": _l("含签约完成率"),
            "landed_projects": _l("落地及投产项目数"),
            "signed_projects": _l("签约项目数"),
        },
        num=True,
    ),
]
TARGET_TOTALS = [
    Column(_l("目标"), lambda t: t.label_en if en() else t.label_zh, key="label"),
    *fields(
        {
            "year": _l("年份"),
            "target": _l("目标值(亿元)"),
            "landed_output": _l("落地及投产产值(亿元)"),
            "progress": _l("完成率"),
            "with_signed_output": _l("含签约产值(亿元)"),
            "progress_with_signed": _l("含签约完成率"),
        },
        num=True,
    ),
]


def _targets(r: Any) -> list[Sheet]:
    cs = r.core_share
    core = [
        (_("双核园区"), join(cs.core_parks)),
        (_("双核落地及投产产值(亿元)"), cs.core_output),
        (_("全部落地及投产产值(亿元)"), cs.total_output),
        (_("未定园区产值(亿元)"), cs.no_park_output),
        (_("双核占比"), cs.share),
        (_("目标占比"), cs.target),
        (_("是否达标"), _yes(cs.met)),
    ]
    return [
        sheet(_l("集群目标"), TARGET_CLUSTERS, r.clusters),
        sheet(_l("全市目标"), TARGET_TOTALS, r.totals),
        sheet(_l("双核占比"), INDICATORS, core),
    ]


LEADER_BANDS = [
    Column(_l("档次"), band_label, key="band"),
    *fields({"goal": _l("目标家数"), "count": _l("现有家数")}, num=True),
    Column(_l("是否达标"), lambda b: _yes(b.met)),
]
LEADER_FIRMS = [  # In(band, firm)
    Column(_l("档次"), lambda x: band_label(x.outer)),
    *fields({"name": _l("企业(集团)")}, _item),
    Column(_l("企业层级"), lambda x: _tier(x.item.tier)),
    *fields(
        {
            "output": _l("在渝产值(亿元)"),
            "projects": _l("项目数"),
            "member_firms": _l("计入的成员企业数"),
        },
        _item,
    ),
]


def _leaders(r: Any) -> list[Sheet]:
    bands = sheet(_l("5213梯队"), LEADER_BANDS, r.bands)
    bands[2].append([_("50亿以下"), None, r.below_50, None])
    bands[2].append([_("有产值的集团"), None, r.groups_with_output, None])
    return [bands, sheet(_l("龙头企业"), LEADER_FIRMS, nested(r.bands, lambda b: b.firms))]


# an officer's figures, in total and per week
OFFICER_FIGURES = fields(
    {
        "contacts": _l("接触记录数"),
        "followups_done": _l("完成跟进"),
        "followups_overdue": _l("逾期跟进"),
        "new_leads": _l("新线索"),
        "awaiting_contact": _l("尚未接触"),
        "median_response_hours": _l("响应时间中位数(小时)"),
    },
    num=True,
)
ACTIVITY_OFFICERS = [
    *fields({"name": _l("招商专员")}),
    Column(_l("部门"), lambda o: o.department or "", key="department"),
    *OFFICER_FIGURES,
]


def _activity(r: Any) -> list[Sheet]:
    names = {o.officer_id: o.name for o in r.officers}
    weeks = [
        Column(_l("招商专员"), lambda c: names.get(c.officer_id, str(c.officer_id))),
        Column(_l("周(周一)"), lambda c: c.week_start),
        *OFFICER_FIGURES,
    ]
    return [
        sheet(_l("专员汇总"), ACTIVITY_OFFICERS, r.officers),
        sheet(_l("专员每周"), weeks, r.rows),
    ]


DELIVERY_CLUSTERS = [
    *cluster_columns(),
    *fields(
        {
            "projects": _l("签约项目数"),
            "planned_investment": _l("计划投资(亿元)"),
            "capital_arrived": _l("实际到资(亿元)"),
            "capital_ratio": _l("到资率"),
            "expected_jobs": _l("承诺就业"),
            "actual_jobs": _l("实际就业"),
            "jobs_ratio": _l("就业兑现率"),
            "late_landing": _l("落地延期"),
            "late_operation": _l("投产延期"),
        },
        num=True,
    ),
]
DELIVERY_LATE = [
    *project_columns(),
    Column(_l("集群"), lambda p: plan_names.cluster(p.cluster)),  # its name, not its code
    stage_column(),
    *fields(
        {
            "expected_land_date": _l("承诺落地日期"),
            "actual_land_date": _l("实际落地日期"),
            "expected_operate_date": _l("承诺投产日期"),
            "actual_operate_date": _l("实际投产日期"),
        }
    ),
]


def _delivery(r: Any) -> list[Sheet]:
    return [
        sheet(_l("履约情况"), DELIVERY_CLUSTERS, [*r.clusters, r.total]),
        sheet(_l("延期项目"), DELIVERY_LATE, r.late),
    ]


def _briefing(r: Any) -> list[Sheet]:
    return briefing_sheets(r)


MAP_DISTRICTS = [
    Column(_l("区县"), lambda d: district_name(d.name)),
    *fields({"landed_output": _l("落地及投产产值(亿元)")}),
    Column(_l("园区"), lambda d: join(d.parks)),
]
MAP_PARKS = [
    *park_columns(),
    Column(_l("层级"), lambda p: _tier(p.tier)),
    Column(_l("区县"), lambda p: district_name(p.district), key="district"),
    Column(_l("引导集群"), lambda p: join(p.clusters), key="clusters"),
    *fields(
        {
            "landed_output": _l("落地及投产产值(亿元)"),
            "landed_projects": _l("落地项目数"),
            "live_projects": _l("项目数(不含流失)"),
        },
        num=True,
    ),
    Column(
        _l("所选集群覆盖状态"),
        lambda p: _(STATUS_ZH.get(p.status, "")) if p.status else "",
        key="status",
    ),
]


def _map(r: Any) -> list[Sheet]:
    return [
        sheet(_l("区县"), MAP_DISTRICTS, r.districts),
        sheet(_l("园区"), MAP_PARKS, r.parks),
    ]


LAYOUT_PARKS = [
    *park_columns(),
    Column(_l("层级"), lambda p: _tier(p.tier)),
    Column(_l("区县"), lambda p: district_name(p.district), key="district"),
    Column(_l("所在核心园区"), lambda p: p.within or ""),
    Column(_l("引导集群数"), lambda p: len(p.pairs)),
    *fields(
        {"project_count": _l("项目数(不含流失)"), "outside_guidance": _l("其中非引导集群")},
        num=True,
    ),
]
LAYOUT_PAIRS = [  # In(park, park × cluster)
    *park_columns(_outer),
    Column(_l("集群代码"), lambda x: x.item.cluster),
    Column(_l("集群"), lambda x: plan_names.cluster(x.item.cluster)),
    Column(_l("政策导向"), lambda x: x.item.focus or ""),
    Column(_l("覆盖状态"), lambda x: _(STATUS_ZH.get(x.item.status, x.item.status))),
    *fields(
        {
            "major_secured": _l("重点投资者签约及以上项目数"),
            "major_pursuing": _l("重点投资者在谈项目数"),
            "landed_count": _l("落地及投产项目数"),
            "project_count": _l("项目数(不含流失)"),
        },
        _item,
    ),
]
LAYOUT_PROJECTS = [  # In(park, project)
    *park_columns(_outer),
    *project_columns(_item),
    *fields({"cluster": _l("集群")}, _item),
    stage_column(_item),
    *fields({"expected_output": _l("预计年产值(亿元)")}, _item),
]


def _layout(r: Any) -> list[Sheet]:
    return [
        sheet(_l("园区"), LAYOUT_PARKS, r.parks),
        sheet(_l("园区×集群"), LAYOUT_PAIRS, nested(r.parks, lambda p: p.pairs)),
        sheet(_l("项目"), LAYOUT_PROJECTS, nested(r.parks, lambda p: p.projects)),
    ]


# The report pages' tables, by report and table: the workbook columns each shows, picked by key
# in the page's order (columns.page). A page leaves out the codes (they are its names' tooltips),
# the ratios (its chart shows them), a target's year and a late project's cluster; where its cell
# is not the workbook's it has its own header: coverage's investors and projects are lists (the
# workbook counts them), its covered links "3/5"; activity's contacts and the conversion's reached
# projects are the same counts under a shorter header; the map's project count and coverage, the
# layout's guided clusters (badges with their coverage), project count and main projects likewise.
# The pipeline's stage table (a count per stage), the coverage matrix and the briefing are the
# pages' own shapes, with no workbook twin.
PAGES: dict[str, dict[str, list[PageHead]]] = {
    "coverage": {
        "clusters": page(
            COVERAGE_CLUSTERS,
            (
                "cluster",
                "status",
                "major_investors",
                "projects",
                "links_covered",
                "links_without_firm",
            ),
            {
                "projects": PageHead(_l("支撑项目"), False),
                "links_covered": PageHead(_l("已覆盖环节"), True),
                "links_without_firm": PageHead(_l("无企业环节"), True),
            },
        ),
        "links": page(
            COVERAGE_LINKS, ("link", "status", "firm_count", "major_firm_count", "major_investors")
        ),
    },
    "pipeline": {
        "conversion": page(
            PIPELINE_CONVERSION,
            ("from_stage", "to_stage", "reached_from", "reached_to", "rate"),
            {
                "reached_from": PageHead(_l("到达前一阶段"), True),
                "reached_to": PageHead(_l("到达后一阶段"), True),
            },
        ),
        "weeks": page(PIPELINE_WEEKS, ("week_start", "new_projects", "signings")),
    },
    "targets": {
        "clusters": page(
            TARGET_CLUSTERS,
            ("cluster", "target_2015", "landed_output", "progress", "signed_output"),
        ),
        "totals": page(
            TARGET_TOTALS,
            (
                "label",
                "target",
                "landed_output",
                "progress",
                "with_signed_output",
                "progress_with_signed",
            ),
        ),
    },
    "leaders": {
        # a band's row lists its firms under the firms sheet's header
        "bands": page([*LEADER_BANDS, *LEADER_FIRMS], ("band", "goal", "count", "name")),
    },
    "activity": {
        "officers": page(
            ACTIVITY_OFFICERS,
            (
                "name",
                "department",
                "contacts",
                "followups_done",
                "followups_overdue",
                "new_leads",
                "awaiting_contact",
                "median_response_hours",
            ),
            {"contacts": PageHead(_l("接触记录"), True)},
        ),
    },
    "delivery": {
        "clusters": page(
            DELIVERY_CLUSTERS,
            (
                "cluster",
                "projects",
                "planned_investment",
                "capital_arrived",
                "expected_jobs",
                "actual_jobs",
                "late_landing",
                "late_operation",
            ),
        ),
        "late": page(
            DELIVERY_LATE,
            (
                "label",
                "firm_name",
                "stage",
                "expected_land_date",
                "actual_land_date",
                "expected_operate_date",
                "actual_operate_date",
            ),
        ),
    },
    "map": {
        # the last (the selected cluster's coverage) only when a cluster is selected
        "parks": page(
            MAP_PARKS,
            ("park", "district", "clusters", "landed_output", "live_projects", "status"),
            {
                "live_projects": PageHead(_l("项目数"), True),
                "status": PageHead(_l("覆盖状态"), False),
            },
        ),
    },
    "layout": {
        "parks": page(
            LAYOUT_PARKS,
            ("park", "district", "pairs", "project_count", "projects"),
            {
                "pairs": PageHead(_l("引导集群（覆盖状态）"), False),
                "project_count": PageHead(_l("项目数"), True),
                "projects": PageHead(_l("主要项目"), False),
            },
        ),
    },
}


SHEETS: dict[str, Callable[[Any], list[Sheet]]] = {
    "map": _map,
    "layout": _layout,
    "briefing": _briefing,
    "coverage": _coverage,
    "pipeline": _pipeline,
    "targets": _targets,
    "leaders": _leaders,
    "activity": _activity,
    "delivery": _delivery,
}


def sheets(name: str, report: Any, lang: str | None = None) -> list[Sheet]:
    """The report's tables in ``lang`` (the current language by default)."""
    with using(lang or current_language()):
        return SHEETS[name](report)


def to_xlsx(name: str, report: Any, lang: str | None = None) -> bytes:
    """The report as .xlsx bytes in ``lang``: one sheet per table, a header row, numbers as
    numbers."""
    lang = lang or current_language()
    buf = io.BytesIO()
    wb = workbook(buf)
    bold = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    dec = wb.add_format({"num_format": "0.00"})  # shown with two decimals, the value exact
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for title, head, rows in sheets(name, report, lang):
        ws = wb.add_worksheet(title[:31])
        ws.write_row(0, 0, head, bold)
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row):
                if v is None:
                    ws.write_blank(i, j, None)
                elif isinstance(v, Decimal):
                    ws.write_number(i, j, float(v), dec)
                elif isinstance(v, bool):
                    ws.write_string(i, j, _("是", lang) if v else _("否", lang))
                elif isinstance(v, int | float):
                    ws.write_number(i, j, v)
                elif hasattr(v, "year") and hasattr(v, "hour"):
                    ws.write_string(i, j, to_local(v).strftime("%Y-%m-%d %H:%M"))
                elif hasattr(v, "year"):
                    ws.write_datetime(i, j, _as_datetime(v), day)
                else:
                    ws.write_string(i, j, str(v))
        ws.set_column(0, max(len(head) - 1, 0), 14)
        ws.freeze_panes(1, 0)
    gen = getattr(report, "generated_at", None)
    wb.set_properties({"title": name, "comments": f"generated {gen.isoformat() if gen else ''}"})
    wb.close()
    return buf.getvalue()


def _as_datetime(d: Any) -> Any:
    from datetime import datetime, time

    return datetime.combine(d, time.min)  # an Excel date has no zone
