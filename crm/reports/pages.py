"""The report pages' tables: for each report and table, the workbook columns the page shows
(``crm.reports.sheets``), so a page's headers and its workbook's come from one column spec."""

from __future__ import annotations

from crm.i18n import _l
from crm.reports.columns import PageHead, page
from crm.reports.sheets import (
    activity,
    citymap,
    coverage,
    delivery,
    layout,
    leaders,
    pipeline,
    targets,
)

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
            coverage.CLUSTERS,
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
            coverage.LINKS, ("link", "status", "firm_count", "major_firm_count", "major_investors")
        ),
    },
    "pipeline": {
        "conversion": page(
            pipeline.CONVERSION,
            ("from_stage", "to_stage", "reached_from", "reached_to", "rate"),
            {
                "reached_from": PageHead(_l("到达前一阶段"), True),
                "reached_to": PageHead(_l("到达后一阶段"), True),
            },
        ),
        "weeks": page(pipeline.WEEKS, ("week_start", "new_projects", "signings")),
    },
    "targets": {
        "clusters": page(
            targets.CLUSTERS,
            ("cluster", "target_2015", "landed_output", "progress", "signed_output"),
        ),
        "totals": page(
            targets.TOTALS,
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
        "bands": page([*leaders.BANDS, *leaders.FIRMS], ("band", "goal", "count", "name")),
    },
    "activity": {
        "officers": page(
            activity.OFFICERS,
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
            delivery.CLUSTERS,
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
            delivery.LATE,
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
            citymap.PARKS,
            ("park", "district", "clusters", "landed_output", "live_projects", "status"),
            {
                "live_projects": PageHead(_l("项目数"), True),
                "status": PageHead(_l("覆盖状态"), False),
            },
        ),
    },
    "layout": {
        "parks": page(
            layout.PARKS,
            ("park", "district", "pairs", "project_count", "projects"),
            {
                "pairs": PageHead(_l("引导集群（覆盖状态）"), False),
                "project_count": PageHead(_l("项目数"), True),
                "projects": PageHead(_l("主要项目"), False),
            },
        ),
    },
}
