"""Every report as an Excel workbook (xlsxwriter): Chinese headers, numbers as numbers, the same
figures as the API (they come from the same report object)."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from crm.clock import to_local
from crm.exports import workbook
from crm.policy import names as plan_names
from crm.reports.briefing_pdf import sheets as briefing_sheets
from crm.reports.words import GROUP_ZH, STAGE_ZH, STATUS_ZH, TIER_ZH

Sheet = tuple[str, list[str], list[list[Any]]]


def _num(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    return v


def _coverage(r: Any) -> list[Sheet]:
    def names(c: Any) -> str:  # a cell holds at most 32,767 characters: the first 20 here,
        shown = "、".join(m.name for m in c.major_investors[:20])  # all on their own sheet
        more = c.major_investor_count - min(20, len(c.major_investors))
        return f"{shown} 等{c.major_investor_count}家" if more > 0 else shown

    clusters = [
        [
            c.code,
            c.name_zh,
            STATUS_ZH[c.status],
            c.major_investor_count,
            names(c),
            c.project_count,
            c.links_covered,
            c.links_without_firm,
        ]
        for c in r.clusters
    ]
    investors = [
        [
            c.code,
            c.name_zh,
            m.name,
            TIER_ZH.get(m.tier, m.tier),
            STATUS_ZH[m.status],
            m.secured_projects,
            m.pursuing_projects,
        ]
        for c in r.clusters
        for m in c.major_investors
    ]
    projects = [
        [
            c.code,
            c.name_zh,
            STATUS_ZH[c.status],
            p.label,
            p.firm_name,
            TIER_ZH.get(p.tier, p.tier),
            STAGE_ZH.get(p.stage, p.stage),
            p.expected_output,
        ]
        for c in r.clusters
        for p in c.projects
    ]
    links = [
        [
            c.code,
            c.name_zh,
            link.code,
            link.name_zh,
            STATUS_ZH[link.status],
            link.firm_count,
            link.major_firm_count,
            link.project_count,
            "、".join(link.major_investors),
        ]
        for c in r.clusters
        for link in c.links
    ]
    park_name = {p.code: p.name_zh for p in r.parks}
    cname = {c.code: c.name_zh for c in r.clusters}
    matrix = [
        [
            m.cluster,
            cname.get(m.cluster, m.cluster),
            m.park,
            park_name.get(m.park, m.park),
            STATUS_ZH[m.status],
            m.major_secured,
            m.major_pursuing,
            m.landed_count,
            m.advanced_count,
            m.project_count,
        ]
        for m in r.matrix
    ]
    return [
        (
            "集群覆盖",
            [
                "集群代码",
                "产业集群",
                "覆盖状态",
                "重点投资者数",
                "重点投资者",
                "支撑项目数",
                "已覆盖环节数",
                "无企业环节数",
            ],
            clusters,
        ),
        (
            "支撑项目",
            [
                "集群代码",
                "产业集群",
                "覆盖状态",
                "项目",
                "企业",
                "企业层级",
                "阶段",
                "预计年产值(亿元)",
            ],
            projects,
        ),
        (
            "重点投资者",
            [
                "集群代码",
                "产业集群",
                "重点投资者",
                "企业层级",
                "状态",
                "已签约项目数",
                "在谈项目数",
            ],
            investors,
        ),
        (
            "产业链环节",
            [
                "集群代码",
                "产业集群",
                "环节代码",
                "产业链环节",
                "覆盖状态",
                "企业数",
                "重点投资者数",
                "项目数",
                "重点投资者",
            ],
            links,
        ),
        (
            "集群×园区",
            [
                "集群代码",
                "产业集群",
                "园区代码",
                "园区",
                "覆盖状态",
                "重点投资者签约及以上项目数",
                "重点投资者在谈项目数",
                "落地项目数",
                "在谈及以上项目数",
                "项目数(不含流失)",
            ],
            matrix,
        ),
    ]


def _pipeline(r: Any) -> list[Sheet]:
    head = [GROUP_ZH.get(r.group_by, "分组")]
    for s in r.stages:
        z = STAGE_ZH[s]
        head += [f"{z}项目数", f"{z}计划投资(亿元)", f"{z}预计产值(亿元)"]
    head += ["合计项目数(不含流失)", "合计计划投资(亿元)", "合计预计产值(亿元)"]
    rows = []
    for g in [*r.groups]:
        row: list[Any] = [g.label]
        for s in r.stages:
            c = g.stages[s]
            row += [c.count, c.planned_investment, c.expected_output]
        row += [g.total.count, g.total.planned_investment, g.total.expected_output]
        rows.append(row)
    tot: list[Any] = ["合计"]
    for s in r.stages:
        c = r.totals[s]
        tot += [c.count, c.planned_investment, c.expected_output]
    tot += [r.total.count, r.total.planned_investment, r.total.expected_output]
    rows.append(tot)
    conv = [
        [STAGE_ZH[c.from_stage], STAGE_ZH[c.to_stage], c.reached_from, c.reached_to, c.rate]
        for c in r.conversion
    ]
    weeks = [[w.week_start, w.new_projects, w.signings] for w in r.weeks]
    return [
        ("按阶段", head, rows),
        (
            "阶段转化",
            ["从阶段", "到阶段", "到达前一阶段项目数", "到达后一阶段项目数", "转化率"],
            conv,
        ),
        ("每周新增与签约", ["周(周一)", "新增项目", "签约项目"], weeks),
    ]


def _targets(r: Any) -> list[Sheet]:
    rows = [
        [
            c.code,
            c.name_zh,
            c.target_2015,
            c.landed_output,
            c.progress,
            c.signed_output,
            c.progress_with_signed,
            c.landed_projects,
            c.signed_projects,
        ]
        for c in r.clusters
    ]
    totals = [
        [
            t.label_zh,
            t.year,
            t.target,
            t.landed_output,
            t.progress,
            t.with_signed_output,
            t.progress_with_signed,
        ]
        for t in r.totals
    ]
    cs = r.core_share
    core = [
        ["双核园区", "、".join(cs.core_parks)],
        ["双核落地及投产产值(亿元)", cs.core_output],
        ["全部落地及投产产值(亿元)", cs.total_output],
        ["未定园区产值(亿元)", cs.no_park_output],
        ["双核占比", cs.share],
        ["目标占比", cs.target],
        ["是否达标", "是" if cs.met else "否"],
    ]
    return [
        (
            "集群目标",
            [
                "集群代码",
                "产业集群",
                "2015年目标(亿元)",
                "落地及投产产值(亿元)",
                "完成率",
                "已签约产值(亿元)",
                "含签约完成率",
                "落地及投产项目数",
                "签约项目数",
            ],
            rows,
        ),
        (
            "全市目标",
            [
                "目标",
                "年份",
                "目标值(亿元)",
                "落地及投产产值(亿元)",
                "完成率",
                "含签约产值(亿元)",
                "含签约完成率",
            ],
            totals,
        ),
        ("双核占比", ["指标", "数值"], core),
    ]


def _leaders(r: Any) -> list[Sheet]:
    bands = [[b.label, b.goal, b.count, "是" if b.met else "否"] for b in r.bands]
    bands.append(["50亿以下", None, r.below_50, None])
    bands.append(["有产值的集团", None, r.groups_with_output, None])
    firms = [
        [b.label, f.name, TIER_ZH.get(f.tier, f.tier), f.output, f.projects, f.member_firms]
        for b in r.bands
        for f in b.firms
    ]
    return [
        ("5213梯队", ["档次", "目标家数", "现有家数", "是否达标"], bands),
        (
            "龙头企业",
            ["档次", "企业(集团)", "企业层级", "在渝产值(亿元)", "项目数", "计入的成员企业数"],
            firms,
        ),
    ]


def _activity(r: Any) -> list[Sheet]:
    names = {o.officer_id: o.name for o in r.officers}
    officers = [
        [
            o.name,
            o.department or "",
            o.contacts,
            o.followups_done,
            o.followups_overdue,
            o.new_leads,
            o.awaiting_contact,
            o.median_response_hours,
        ]
        for o in r.officers
    ]
    rows = [
        [
            names.get(c.officer_id, str(c.officer_id)),
            c.week_start,
            c.contacts,
            c.followups_done,
            c.followups_overdue,
            c.new_leads,
            c.awaiting_contact,
            c.median_response_hours,
        ]
        for c in r.rows
    ]
    head = ["接触记录数", "完成跟进", "逾期跟进", "新线索", "尚未接触", "响应时间中位数(小时)"]
    return [
        ("专员汇总", ["招商专员", "部门", *head], officers),
        ("专员每周", ["招商专员", "周(周一)", *head], rows),
    ]


def _delivery(r: Any) -> list[Sheet]:
    rows = [
        [
            c.code,
            c.name_zh,
            c.projects,
            c.planned_investment,
            c.capital_arrived,
            c.capital_ratio,
            c.expected_jobs,
            c.actual_jobs,
            c.jobs_ratio,
            c.late_landing,
            c.late_operation,
        ]
        for c in [*r.clusters, r.total]
    ]
    late = [
        [
            p.label,
            p.firm_name,
            plan_names.cluster(p.cluster, "zh_CN"),  # the name a reader knows, not its code
            STAGE_ZH.get(p.stage, p.stage),
            p.expected_land_date,
            p.actual_land_date,
            p.expected_operate_date,
            p.actual_operate_date,
        ]
        for p in r.late
    ]
    return [
        (
            "履约情况",
            [
                "集群代码",
                "产业集群",
                "签约项目数",
                "计划投资(亿元)",
                "实际到资(亿元)",
                "到资率",
                "承诺就业",
                "实际就业",
                "就业兑现率",
                "落地延期",
                "投产延期",
            ],
            rows,
        ),
        (
            "延期项目",
            [
                "项目",
                "企业",
                "集群",
                "阶段",
                "承诺落地日期",
                "实际落地日期",
                "承诺投产日期",
                "实际投产日期",
            ],
            late,
        ),
    ]


def _briefing(r: Any) -> list[Sheet]:
    return briefing_sheets(r)


def _map(r: Any) -> list[Sheet]:
    districts = [[d.name, d.landed_output, "、".join(d.parks)] for d in r.districts]
    parks = [
        [
            p.code,
            p.name_zh,
            TIER_ZH.get(p.tier, p.tier),
            p.district or "",
            "、".join(p.clusters),
            p.landed_output,
            p.landed_projects,
            p.live_projects,
            STATUS_ZH.get(p.status, "") if p.status else "",
        ]
        for p in r.parks
    ]
    return [
        ("区县", ["区县", "落地及投产产值(亿元)", "园区"], districts),
        (
            "园区",
            [
                "园区代码",
                "园区",
                "层级",
                "区县",
                "引导集群",
                "落地及投产产值(亿元)",
                "落地项目数",
                "项目数(不含流失)",
                "所选集群覆盖状态",
            ],
            parks,
        ),
    ]


def _layout(r: Any) -> list[Sheet]:
    pairs = [
        [
            p.code,
            p.name_zh,
            x.cluster,
            plan_names.cluster(x.cluster, "zh_CN"),
            x.focus or "",
            STATUS_ZH.get(x.status, x.status),
            x.major_secured,
            x.major_pursuing,
            x.landed_count,
            x.project_count,
        ]
        for p in r.parks
        for x in p.pairs
    ]
    projects = [
        [
            p.code,
            p.name_zh,
            x.label,
            x.firm_name,
            x.cluster,
            STAGE_ZH.get(x.stage, x.stage),
            x.expected_output,
        ]
        for p in r.parks
        for x in p.projects
    ]
    park_rows = [
        [
            p.code,
            p.name_zh,
            TIER_ZH.get(p.tier, p.tier),
            p.district or "",
            p.within or "",
            len(p.pairs),
            p.project_count,
            p.outside_guidance,
        ]
        for p in r.parks
    ]
    return [
        (
            "园区",
            [
                "园区代码",
                "园区",
                "层级",
                "区县",
                "所在核心园区",
                "引导集群数",
                "项目数(不含流失)",
                "其中非引导集群",
            ],
            park_rows,
        ),
        (
            "园区×集群",
            [
                "园区代码",
                "园区",
                "集群代码",
                "集群",
                "政策导向",
                "覆盖状态",
                "重点投资者签约及以上项目数",
                "重点投资者在谈项目数",
                "落地及投产项目数",
                "项目数(不含流失)",
            ],
            pairs,
        ),
        (
            "项目",
            ["园区代码", "园区", "项目", "企业", "集群", "阶段", "预计年产值(亿元)"],
            projects,
        ),
    ]


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


def sheets(name: str, report: Any) -> list[Sheet]:
    return SHEETS[name](report)


def to_xlsx(name: str, report: Any) -> bytes:
    """The report as .xlsx bytes: one sheet per table, a header row, numbers as numbers."""
    buf = io.BytesIO()
    wb = workbook(buf)
    bold = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    dec = wb.add_format({"num_format": "0.00"})  # shown with two decimals, the value exact
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for title, head, rows in sheets(name, report):
        ws = wb.add_worksheet(title[:31])
        ws.write_row(0, 0, head, bold)
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row):
                if v is None:
                    ws.write_blank(i, j, None)
                elif isinstance(v, Decimal):
                    ws.write_number(i, j, float(v), dec)
                elif isinstance(v, bool):
                    ws.write_string(i, j, "是" if v else "否")
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
