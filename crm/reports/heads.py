"""The workbook header of each figure a report sheet shows, keyed by the attribute that holds it:
one header per figure, so a figure that stands on several sheets (落地及投产产值 on four, a park's
live projects on three) reads the same on each, and a sheet that names an attribute otherwise says
so where it declares its columns (``columns.fields(..., own=...)``)."""

from __future__ import annotations

from crm.i18n import Message, _l

HEADS: dict[str, Message] = {
    # coverage: clusters, chain links, investors
    "major_investor_count": _l("重点投资者数"),
    "links_covered": _l("已覆盖环节数"),
    "links_without_firm": _l("无企业环节数"),
    "firm_count": _l("企业数"),
    "major_firm_count": _l("重点投资者数"),
    "secured_projects": _l("已签约项目数"),
    "pursuing_projects": _l("在谈项目数"),
    "major_secured": _l("重点投资者签约及以上项目数"),
    "major_pursuing": _l("重点投资者在谈项目数"),
    "advanced_count": _l("在谈及以上项目数"),
    # project counts and sums
    "project_count": _l("项目数(不含流失)"),
    "live_projects": _l("项目数(不含流失)"),
    "projects": _l("项目数"),
    "landed_count": _l("落地及投产项目数"),
    "landed_projects": _l("落地及投产项目数"),
    "signed_projects": _l("签约项目数"),
    "outside_guidance": _l("其中非引导集群"),
    "cluster": _l("集群"),
    "expected_output": _l("预计年产值(亿元)"),
    "landed_output": _l("落地及投产产值(亿元)"),
    "signed_output": _l("已签约产值(亿元)"),
    "with_signed_output": _l("含签约产值(亿元)"),
    "output": _l("在渝产值(亿元)"),
    # the pipeline's conversion and weeks
    "reached_from": _l("到达前一阶段项目数"),
    "reached_to": _l("到达后一阶段项目数"),
    "rate": _l("转化率"),
    "week_start": _l("周(周一)"),
    "new_projects": _l("新增项目"),
    "signings": _l("签约项目"),
    # targets and the leaders' ladder
    "year": _l("年份"),
    "target": _l("目标值(亿元)"),
    "target_2015": _l("2015年目标(亿元)"),
    "progress": _l("完成率"),
    "progress_with_signed": _l("含签约完成率"),
    "goal": _l("目标家数"),
    "count": _l("现有家数"),
    "member_firms": _l("计入的成员企业数"),
    # an officer's activity
    "contacts": _l("接触记录数"),
    "followups_done": _l("完成跟进"),
    "followups_overdue": _l("逾期跟进"),
    "new_leads": _l("新线索"),
    "awaiting_contact": _l("尚未接触"),
    "median_response_hours": _l("响应时间中位数(小时)"),
    # delivery
    "planned_investment": _l("计划投资(亿元)"),
    "capital_arrived": _l("实际到资(亿元)"),
    "capital_ratio": _l("到资率"),
    "expected_jobs": _l("承诺就业"),
    "actual_jobs": _l("实际就业"),
    "jobs_ratio": _l("就业兑现率"),
    "late_landing": _l("落地延期"),
    "late_operation": _l("投产延期"),
    "expected_land_date": _l("承诺落地日期"),
    "actual_land_date": _l("实际落地日期"),
    "expected_operate_date": _l("承诺投产日期"),
    "actual_operate_date": _l("实际投产日期"),
}
