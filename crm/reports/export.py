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
from crm.i18n import current_language, using
from crm.i18n import gettext as _
from crm.policy import names as plan_names
from crm.policy.districts import district_name
from crm.reports.briefing_pdf import sheets as briefing_sheets
from crm.reports.words import GROUP_ZH, STAGE_ZH, STATUS_ZH, TIER_ZH, band_label

Sheet = tuple[str, list[str], list[list[Any]]]


def _en() -> bool:
    return current_language() == "en"


def _pick(zh: str, en: str | None) -> str:
    """A name in the reader's language (the Chinese one where no English one is known)."""
    return (en or zh) if _en() else zh


def _join(items: Any) -> str:
    return (", " if _en() else "、").join(items)


def _cluster(code: str, zh: str) -> str:
    """A cluster's name in the reader's language; a row that is no cluster (合计) translated."""
    pair = plan_names.names().clusters.get(code)
    return _pick(*pair) if pair else _(zh)


def _num(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    return v


def _coverage(r: Any) -> list[Sheet]:
    def names(c: Any) -> str:  # a cell holds at most 32,767 characters: the first 20 here,
        shown = _join(m.name for m in c.major_investors[:20])  # all on their own sheet
        more = c.major_investor_count - min(20, len(c.major_investors))
        if more <= 0:
            return shown
        return _("{names} 等{count}家").format(names=shown, count=c.major_investor_count)

    clusters = [
        [
            c.code,
            _cluster(c.code, c.name_zh),
            _(STATUS_ZH[c.status]),
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
            _cluster(c.code, c.name_zh),
            m.name,
            _(TIER_ZH.get(m.tier, m.tier)),
            _(STATUS_ZH[m.status]),
            m.secured_projects,
            m.pursuing_projects,
        ]
        for c in r.clusters
        for m in c.major_investors
    ]
    projects = [
        [
            c.code,
            _cluster(c.code, c.name_zh),
            _(STATUS_ZH[c.status]),
            p.label,
            p.firm_name,
            _(TIER_ZH.get(p.tier, p.tier)),
            _(STAGE_ZH.get(p.stage, p.stage)),
            p.expected_output,
        ]
        for c in r.clusters
        for p in c.projects
    ]
    links = [
        [
            c.code,
            _cluster(c.code, c.name_zh),
            link.code,
            _pick(link.name_zh, link.name_en),
            _(STATUS_ZH[link.status]),
            link.firm_count,
            link.major_firm_count,
            link.project_count,
            _join(link.major_investors),
        ]
        for c in r.clusters
        for link in c.links
    ]
    park_name = {p.code: _pick(p.name_zh, p.name_en) for p in r.parks}
    cname = {c.code: _cluster(c.code, c.name_zh) for c in r.clusters}
    matrix = [
        [
            m.cluster,
            cname.get(m.cluster, m.cluster),
            m.park,
            park_name.get(m.park, m.park),
            _(STATUS_ZH[m.status]),
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
            _("集群覆盖"),
            [
                _("集群代码"),
                _("产业集群"),
                _("覆盖状态"),
                _("重点投资者数"),
                _("重点投资者"),
                _("支撑项目数"),
                _("已覆盖环节数"),
                _("无企业环节数"),
            ],
            clusters,
        ),
        (
            _("支撑项目"),
            [
                _("集群代码"),
                _("产业集群"),
                _("覆盖状态"),
                _("项目"),
                _("企业"),
                _("企业层级"),
                _("阶段"),
                _("预计年产值(亿元)"),
            ],
            projects,
        ),
        (
            _("重点投资者"),
            [
                _("集群代码"),
                _("产业集群"),
                _("重点投资者"),
                _("企业层级"),
                _("状态"),
                _("已签约项目数"),
                _("在谈项目数"),
            ],
            investors,
        ),
        (
            _("产业链环节"),
            [
                _("集群代码"),
                _("产业集群"),
                _("环节代码"),
                _("产业链环节"),
                _("覆盖状态"),
                _("企业数"),
                _("重点投资者数"),
                _("项目数"),
                _("重点投资者"),
            ],
            links,
        ),
        (
            _("集群×园区"),
            [
                _("集群代码"),
                _("产业集群"),
                _("园区代码"),
                _("园区"),
                _("覆盖状态"),
                _("重点投资者签约及以上项目数"),
                _("重点投资者在谈项目数"),
                _("落地项目数"),
                _("在谈及以上项目数"),
                _("项目数(不含流失)"),
            ],
            matrix,
        ),
    ]


def _pipeline(r: Any) -> list[Sheet]:
    head = [_(GROUP_ZH.get(r.group_by, "分组"))]
    for s in r.stages:
        z = _(STAGE_ZH[s])
        head += [
            _("{stage}项目数").format(stage=z),
            _("{stage}计划投资(亿元)").format(stage=z),
            _("{stage}预计产值(亿元)").format(stage=z),
        ]
    head += [_("合计项目数(不含流失)"), _("合计计划投资(亿元)"), _("合计预计产值(亿元)")]
    rows = []
    for g in [*r.groups]:
        row: list[Any] = [g.label]
        for s in r.stages:
            c = g.stages[s]
            row += [c.count, c.planned_investment, c.expected_output]
        row += [g.total.count, g.total.planned_investment, g.total.expected_output]
        rows.append(row)
    tot: list[Any] = [_("合计")]
    for s in r.stages:
        c = r.totals[s]
        tot += [c.count, c.planned_investment, c.expected_output]
    tot += [r.total.count, r.total.planned_investment, r.total.expected_output]
    rows.append(tot)
    conv = [
        [_(STAGE_ZH[c.from_stage]), _(STAGE_ZH[c.to_stage]), c.reached_from, c.reached_to, c.rate]
        for c in r.conversion
    ]
    weeks = [[w.week_start, w.new_projects, w.signings] for w in r.weeks]
    return [
        (_("按阶段"), head, rows),
        (
            _("阶段转化"),
            [
                _("从阶段"),
                _("到阶段"),
                _("到达前一阶段项目数"),
                _("到达后一阶段项目数"),
                _("转化率"),
            ],
            conv,
        ),
        (_("每周新增与签约"), [_("周(周一)"), _("新增项目"), _("签约项目")], weeks),
    ]


def _targets(r: Any) -> list[Sheet]:
    rows = [
        [
            c.code,
            _cluster(c.code, c.name_zh),
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
            t.label_en if _en() else t.label_zh,
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
        [_("双核园区"), _join(cs.core_parks)],
        [_("双核落地及投产产值(亿元)"), cs.core_output],
        [_("全部落地及投产产值(亿元)"), cs.total_output],
        [_("未定园区产值(亿元)"), cs.no_park_output],
        [_("双核占比"), cs.share],
        [_("目标占比"), cs.target],
        [_("是否达标"), _("是") if cs.met else _("否")],
    ]
    return [
        (
            _("集群目标"),
            [
                _("集群代码"),
                _("产业集群"),
                _("2015年目标(亿元)"),
                _("落地及投产产值(亿元)"),
                _("完成率"),
                _("已签约产值(亿元)"),
                _("含签约完成率"),
                _("落地及投产项目数"),
                _("签约项目数"),
            ],
            rows,
        ),
        (
            _("全市目标"),
            [
                _("目标"),
                _("年份"),
                _("目标值(亿元)"),
                _("落地及投产产值(亿元)"),
                _("完成率"),
                _("含签约产值(亿元)"),
                _("含签约完成率"),
            ],
            totals,
        ),
        (_("双核占比"), [_("指标"), _("数值")], core),
    ]


def _leaders(r: Any) -> list[Sheet]:
    bands = [[band_label(b), b.goal, b.count, _("是") if b.met else _("否")] for b in r.bands]
    bands.append([_("50亿以下"), None, r.below_50, None])
    bands.append([_("有产值的集团"), None, r.groups_with_output, None])
    firms = [
        [
            band_label(b),
            f.name,
            _(TIER_ZH.get(f.tier, f.tier)),
            f.output,
            f.projects,
            f.member_firms,
        ]
        for b in r.bands
        for f in b.firms
    ]
    return [
        (_("5213梯队"), [_("档次"), _("目标家数"), _("现有家数"), _("是否达标")], bands),
        (
            _("龙头企业"),
            [
                _("档次"),
                _("企业(集团)"),
                _("企业层级"),
                _("在渝产值(亿元)"),
                _("项目数"),
                _("计入的成员企业数"),
            ],
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
    head = [
        _("接触记录数"),
        _("完成跟进"),
        _("逾期跟进"),
        _("新线索"),
        _("尚未接触"),
        _("响应时间中位数(小时)"),
    ]
    return [
        (_("专员汇总"), [_("招商专员"), _("部门"), *head], officers),
        (_("专员每周"), [_("招商专员"), _("周(周一)"), *head], rows),
    ]


def _delivery(r: Any) -> list[Sheet]:
    rows = [
        [
            c.code,
            _cluster(c.code, c.name_zh),
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
            plan_names.cluster(p.cluster),  # the name a reader knows, not its code
            _(STAGE_ZH.get(p.stage, p.stage)),
            p.expected_land_date,
            p.actual_land_date,
            p.expected_operate_date,
            p.actual_operate_date,
        ]
        for p in r.late
    ]
    return [
        (
            _("履约情况"),
            [
                _("集群代码"),
                _("产业集群"),
                _("签约项目数"),
                _("计划投资(亿元)"),
                _("实际到资(亿元)"),
                _("到资率"),
                _("承诺就业"),
                _("实际就业"),
                _("就业兑现率"),
                _("落地延期"),
                _("投产延期"),
            ],
            rows,
        ),
        (
            _("延期项目"),
            [
                _("项目"),
                _("企业"),
                _("集群"),
                _("阶段"),
                _("承诺落地日期"),
                _("实际落地日期"),
                _("承诺投产日期"),
                _("实际投产日期"),
            ],
            late,
        ),
    ]


def _briefing(r: Any) -> list[Sheet]:
    return briefing_sheets(r)


def _map(r: Any) -> list[Sheet]:
    districts = [[district_name(d.name), d.landed_output, _join(d.parks)] for d in r.districts]
    parks = [
        [
            p.code,
            p.name_en if _en() else p.name_zh,
            _(TIER_ZH.get(p.tier, p.tier)),
            district_name(p.district),
            _join(p.clusters),
            p.landed_output,
            p.landed_projects,
            p.live_projects,
            _(STATUS_ZH.get(p.status, "")) if p.status else "",
        ]
        for p in r.parks
    ]
    return [
        (_("区县"), [_("区县"), _("落地及投产产值(亿元)"), _("园区")], districts),
        (
            _("园区"),
            [
                _("园区代码"),
                _("园区"),
                _("层级"),
                _("区县"),
                _("引导集群"),
                _("落地及投产产值(亿元)"),
                _("落地项目数"),
                _("项目数(不含流失)"),
                _("所选集群覆盖状态"),
            ],
            parks,
        ),
    ]


def _layout(r: Any) -> list[Sheet]:
    pairs = [
        [
            p.code,
            p.name_en if _en() else p.name_zh,
            x.cluster,
            plan_names.cluster(x.cluster),
            x.focus or "",
            _(STATUS_ZH.get(x.status, x.status)),
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
            p.name_en if _en() else p.name_zh,
            x.label,
            x.firm_name,
            x.cluster,
            _(STAGE_ZH.get(x.stage, x.stage)),
            x.expected_output,
        ]
        for p in r.parks
        for x in p.projects
    ]
    park_rows = [
        [
            p.code,
            p.name_en if _en() else p.name_zh,
            _(TIER_ZH.get(p.tier, p.tier)),
            district_name(p.district),
            p.within or "",
            len(p.pairs),
            p.project_count,
            p.outside_guidance,
        ]
        for p in r.parks
    ]
    return [
        (
            _("园区"),
            [
                _("园区代码"),
                _("园区"),
                _("层级"),
                _("区县"),
                _("所在核心园区"),
                _("引导集群数"),
                _("项目数(不含流失)"),
                _("其中非引导集群"),
            ],
            park_rows,
        ),
        (
            _("园区×集群"),
            [
                _("园区代码"),
                _("园区"),
                _("集群代码"),
                _("集群"),
                _("政策导向"),
                _("覆盖状态"),
                _("重点投资者签约及以上项目数"),
                _("重点投资者在谈项目数"),
                _("落地及投产项目数"),
                _("项目数(不含流失)"),
            ],
            pairs,
        ),
        (
            _("项目"),
            [
                _("园区代码"),
                _("园区"),
                _("项目"),
                _("企业"),
                _("集群"),
                _("阶段"),
                _("预计年产值(亿元)"),
            ],
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
