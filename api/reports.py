"""Managers' reports under /api/v1/reports (SPEC §5): JSON, or Excel with ?format=xlsx or .xlsx.

Reports are for managers and admins; an officer gets 403 (crm.reports.common.require_reports).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator

from api.common import query_id
from crm.clock import BAD_DAY, day_problem
from crm.i18n import pick_language
from crm.reports import registry
from crm.reports.activity import ActivityReport
from crm.reports.briefing import Briefing
from crm.reports.briefing_pdf import to_pdf
from crm.reports.citymap import CityMap
from crm.reports.common import ReportFilters, clusters
from crm.reports.coverage import CoverageReport
from crm.reports.delivery import DeliveryReport
from crm.reports.export import to_xlsx
from crm.reports.layout import ParkLayout
from crm.reports.leaders import LeadersReport
from crm.reports.pipeline import PipelineReport
from crm.reports.targets import TargetsReport
from crm.schemas import MAX_ID
from server.deps import ApiUser, SessionDep
from server.download import XLSX, download

router = APIRouter(prefix="/reports", tags=["reports"])


def _iso_day(v: object) -> object:
    """Only YYYY-MM-DD (pydantic would read "0" as a Unix time) in 1990–2100."""
    if v is None:
        return v
    problem = day_problem(v) if isinstance(v, str) else BAD_DAY
    if problem is not None:
        raise ValueError(problem)
    return v


Fmt = Annotated[Literal["json", "xlsx"], Query(description="json (default) or xlsx")]
Dept = Annotated[
    int | None, BeforeValidator(query_id), Query(ge=1, le=MAX_ID, description="department id")
]
ClusterQ = Annotated[
    str | None,
    Query(max_length=20, pattern=r"^[A-Za-z0-9_]+$", description="cluster code, e.g. NB"),
]
From = Annotated[
    date | None, Query(description="first local day of the period"), BeforeValidator(_iso_day)
]
To = Annotated[
    date | None, Query(description="last local day of the period"), BeforeValidator(_iso_day)
]
Officer = Annotated[
    int | None,
    BeforeValidator(query_id),
    Query(ge=1, le=MAX_ID, description="officer (user) id"),
]
DETAIL = (
    "the long lists in full: every major investor of a "
    "cluster (coverage; with cluster= for one), every "
    "officer × week row (activity; else only with "
    "officer_id). The Excel export always has them"
)
GroupBy = Annotated[
    Literal["cluster", "park", "department", "officer"], Query(description="pipeline grouping")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid bearer token"},
    403: {"description": "reports are for managers and admins"},
    422: {"description": "invalid filter"},
}


def _answer(session: SessionDep, user: ApiUser, name: str, f: ReportFilters, fmt: str) -> Any:
    if fmt == "xlsx":
        f.detail = True  # the workbook carries every row
    report = registry.run(session, user, name, f)
    if fmt == "xlsx":
        return _xlsx(name, report, getattr(user, "language", None))
    # serialized once by the report's own model (the route's response_model documents it):
    # FastAPI would otherwise dump, validate again and re-encode every nested object
    return Response(report.model_dump_json(), media_type="application/json")


def _xlsx(name: str, report: Any, lang: str | None) -> Response:
    """The report as a workbook in the token's user's language."""
    return download(to_xlsx(name, report, pick_language(lang)), f"{name}.xlsx")


# the JSON routes answer with a workbook too when asked with ?format=xlsx
JSON_OR_XLSX: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "the report (JSON, or Excel with format=xlsx)"},
    **ERRORS,
}
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "the report as an Excel workbook"},
    **ERRORS,
}


# --- the filters each report takes: one dependency per set, shared by its JSON and Excel routes


def _dept(department_id: Dept = None) -> ReportFilters:
    return ReportFilters(department_id=department_id)


def _dept_cluster(department_id: Dept = None, cluster: ClusterQ = None) -> ReportFilters:
    return ReportFilters(department_id=department_id, cluster=cluster)


def _pipeline_filters(
    group_by: GroupBy = "cluster",
    department_id: Dept = None,
    cluster: ClusterQ = None,
    date_from: From = None,
    date_to: To = None,
) -> ReportFilters:
    return ReportFilters(
        department_id=department_id,
        cluster=cluster,
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
    )


def _activity_filters(
    department_id: Dept = None,
    officer_id: Officer = None,
    date_from: From = None,
    date_to: To = None,
) -> ReportFilters:
    return ReportFilters(
        department_id=department_id, officer_id=officer_id, date_from=date_from, date_to=date_to
    )


def _detailed(f: ReportFilters, detail: bool) -> ReportFilters:
    f.detail = detail
    return f


def _report_routes(
    name: str,
    model: type[BaseModel],
    filters: Callable[..., ReportFilters],
    summary: str,
    xlsx_summary: str,
    *,
    detail_query: Any = None,
    operation: str | None = None,
) -> None:
    """One report's two routes: ``/NAME`` (JSON, or Excel with ?format=xlsx) and ``/NAME.xlsx``.

    ``filters`` is the report's own filter dependency, shared by both routes; ``detail_query``
    the ``Query`` of ?detail= for the reports whose long lists are cut unless asked;
    ``operation`` names the routes (their operation ids) where it is not the report's name.
    """
    op = operation or name
    as_json: Callable[..., Any]
    if detail_query is None:

        def as_json(
            session: SessionDep,
            user: ApiUser,
            f: ReportFilters = Depends(filters),
            format: Fmt = "json",
        ) -> Any:
            return _answer(session, user, name, f, format)

    else:

        def as_json(
            session: SessionDep,
            user: ApiUser,
            f: ReportFilters = Depends(filters),
            format: Fmt = "json",
            detail: bool = detail_query,
        ) -> Any:
            return _answer(session, user, name, _detailed(f, detail), format)

    def as_xlsx(session: SessionDep, user: ApiUser, f: ReportFilters = Depends(filters)) -> Any:
        return _answer(session, user, name, f, "xlsx")

    router.add_api_route(
        f"/{name}",
        as_json,
        methods=["GET"],
        name=op,
        response_model=model,
        responses=JSON_OR_XLSX,
        summary=summary,
    )
    router.add_api_route(
        f"/{name}.xlsx",
        as_xlsx,
        methods=["GET"],
        name=f"{op}_xlsx",
        response_class=Response,
        responses=XLSX_RESPONSE,
        summary=xlsx_summary,
    )


_report_routes(
    "coverage",
    CoverageReport,
    _dept_cluster,
    "Coverage of the 12 clusters by major investors, chain links, park matrix",
    "Coverage as Excel",
    detail_query=Query(False, description=DETAIL),
)
_report_routes(
    "pipeline",
    PipelineReport,
    _pipeline_filters,
    "Pipeline by stage, grouped; stage conversion; new and signed per week",
    "Pipeline as Excel",
)
_report_routes(
    "targets",
    TargetsReport,
    _dept,
    "Cluster and plan-wide output against the targets; the cores' share",
    "Targets as Excel",
)
_report_routes(
    "leaders", LeadersReport, _dept, 'The "5213" leading-firm ladder', "Leaders ladder as Excel"
)
_report_routes(
    "activity",
    ActivityReport,
    _activity_filters,
    "Officer activity per week: contacts, follow-ups, response time",
    "Officer activity as Excel",
    detail_query=Query(False, description=DETAIL),
)
_report_routes(
    "delivery",
    DeliveryReport,
    _dept_cluster,
    "Signed projects: capital arrived, jobs created, late landings",
    "Delivery as Excel",
)


# --- what the leadership reads (#17): the weekly briefing, the city map, the park layout ---

Week = Annotated[
    date | None,
    Query(description="any local day of the week (default: the last full week)"),
    BeforeValidator(_iso_day),
]
ParkQ = Annotated[
    str | None,
    Query(max_length=20, pattern=r"^[A-Za-z0-9_]+$", description="park code, e.g. XY"),
]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "the briefing on one A4 page"},
    **ERRORS,
}


def _briefing_filters(
    week: Week = None, cluster: ClusterQ = None, park: ParkQ = None, department_id: Dept = None
) -> ReportFilters:
    return ReportFilters(week=week, cluster=cluster, park=park, department_id=department_id)


BriefingFilters = Annotated[ReportFilters, Depends(_briefing_filters)]


_report_routes(
    "briefing",
    Briefing,
    _briefing_filters,
    "The weekly briefing: coverage changes, signings, landings, capital, movements, "
    "overdue, conflicts, contacts — for the city, one cluster or one park",
    "Briefing as Excel",
)


@router.get(
    "/briefing.pdf",
    responses=PDF_RESPONSE,
    response_class=Response,
    summary="Briefing as a one-page A4 PDF, in the caller's language",
)
def briefing_pdf(session: SessionDep, user: ApiUser, f: BriefingFilters) -> Any:
    report = registry.run(session, user, "briefing", f)
    lang = "en" if user.language == "en" else "zh"
    names = {c.code: (c.name_en if lang == "en" else c.name_zh) for c in clusters(session)}
    return download(
        to_pdf(report, names, lang), f"briefing-{report.week_start}.pdf", "application/pdf"
    )


_report_routes(
    "map",
    CityMap,
    _dept_cluster,
    "The city map: landed and operating output per district and park; with a cluster, "
    "its coverage status at each guided park",
    "Map as Excel",
    operation="city_map",
)
_report_routes(
    "layout",
    ParkLayout,
    _dept_cluster,
    "The park layout: each park's guided clusters (coverage per pair) and its projects",
    "Park layout as Excel",
    detail_query=Query(
        False, description="every project of each park, not the first few (Excel: always)"
    ),
    operation="park_layout",
)
