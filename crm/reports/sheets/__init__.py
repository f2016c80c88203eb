"""Each report's tables as workbook sheets, in the reader's language (sheet names, headers,
stages, states, tiers, the plan's names, districts), numbers as numbers: a module per report
declares its sheets' columns (``crm.reports.columns``) and builds them from the same report object
the API answers with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.i18n import _l, current_language, using
from crm.reports import briefing_pdf
from crm.reports.columns import PageHead, Sheet, page
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

SHEETS: dict[str, Callable[[Any], list[Sheet]]] = {
    "map": citymap.sheets,
    "layout": layout.sheets,
    "briefing": briefing_pdf.sheets,
    "coverage": coverage.sheets,
    "pipeline": pipeline.sheets,
    "targets": targets.sheets,
    "leaders": leaders.sheets,
    "activity": activity.sheets,
    "delivery": delivery.sheets,
}


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
                "projects": _l("支撑项目"),
                "links_covered": _l("已覆盖环节"),
                "links_without_firm": _l("无企业环节"),
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
                "reached_from": _l("到达前一阶段"),
                "reached_to": _l("到达后一阶段"),
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
            own={"contacts": _l("接触记录")},
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
        "late": page(delivery.LATE),
    },
    "map": {
        # the last (the selected cluster's coverage) only when a cluster is selected
        "parks": page(
            citymap.PARKS,
            ("park", "district", "clusters", "landed_output", "live_projects", "status"),
            {
                "live_projects": _l("项目数"),
                "status": _l("覆盖状态"),
            },
        ),
    },
    "layout": {
        "parks": page(
            layout.PARKS,
            ("park", "district", "pairs", "project_count", "projects"),
            {
                "pairs": _l("引导集群（覆盖状态）"),
                "project_count": _l("项目数"),
                "projects": _l("主要项目"),
            },
        ),
    },
}


def sheets(name: str, report: Any, lang: str | None = None) -> list[Sheet]:
    """The report's tables in ``lang`` (the current language by default)."""
    with using(lang or current_language()):
        return SHEETS[name](report)
