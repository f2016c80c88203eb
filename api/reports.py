"""Managers' reports under /api/v1/reports (SPEC §5): JSON, or Excel with ?format=xlsx or .xlsx.

Reports are for managers and admins; an officer gets 403 (crm.reports.common.require_reports).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

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
from server.deps import ApiUser, SessionDep

router = APIRouter(prefix="/reports", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _iso_day(v: object) -> object:
    """Only YYYY-MM-DD (pydantic would read "0" as a Unix time) in 1990–2100."""
    if v is None:
        return v
    problem = day_problem(v) if isinstance(v, str) else BAD_DAY
    if problem is not None:
        raise ValueError(problem)
    return v


Fmt = Annotated[Literal["json", "xlsx"], Query(description="json (default) or xlsx")]
Dept = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="department id")]
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
Officer = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="officer (user) id")]
Detail = Annotated[
    bool,
    Query(
        description="the long lists in full: every major investor of a "
        "cluster (coverage; with cluster= for one), every "
        "officer × week row (activity; else only with "
        "officer_id). The Excel export always has them"
    ),
]
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
    return Response(
        to_xlsx(name, report, pick_language(lang)),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


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


ByDept = Annotated[ReportFilters, Depends(_dept)]
ByDeptCluster = Annotated[ReportFilters, Depends(_dept_cluster)]
PipelineFilters = Annotated[ReportFilters, Depends(_pipeline_filters)]
ActivityFilters = Annotated[ReportFilters, Depends(_activity_filters)]


def _detailed(f: ReportFilters, detail: bool) -> ReportFilters:
    f.detail = detail
    return f


@router.get(
    "/coverage",
    response_model=CoverageReport,
    responses=JSON_OR_XLSX,
    summary="Coverage of the 12 clusters by major investors, chain links, park matrix",
)
def coverage(
    session: SessionDep,
    user: ApiUser,
    f: ByDeptCluster,
    format: Fmt = "json",
    detail: Detail = False,
) -> Any:
    return _answer(session, user, "coverage", _detailed(f, detail), format)


@router.get(
    "/coverage.xlsx", responses=XLSX_RESPONSE, response_class=Response, summary="Coverage as Excel"
)
def coverage_xlsx(session: SessionDep, user: ApiUser, f: ByDeptCluster) -> Any:
    return _answer(session, user, "coverage", f, "xlsx")


@router.get(
    "/pipeline",
    response_model=PipelineReport,
    responses=JSON_OR_XLSX,
    summary="Pipeline by stage, grouped; stage conversion; new and signed per week",
)
def pipeline(session: SessionDep, user: ApiUser, f: PipelineFilters, format: Fmt = "json") -> Any:
    return _answer(session, user, "pipeline", f, format)


@router.get(
    "/pipeline.xlsx", responses=XLSX_RESPONSE, response_class=Response, summary="Pipeline as Excel"
)
def pipeline_xlsx(session: SessionDep, user: ApiUser, f: PipelineFilters) -> Any:
    return _answer(session, user, "pipeline", f, "xlsx")


@router.get(
    "/targets",
    response_model=TargetsReport,
    responses=JSON_OR_XLSX,
    summary="Cluster and plan-wide output against the targets; the cores' share",
)
def targets(session: SessionDep, user: ApiUser, f: ByDept, format: Fmt = "json") -> Any:
    return _answer(session, user, "targets", f, format)


@router.get(
    "/targets.xlsx", responses=XLSX_RESPONSE, response_class=Response, summary="Targets as Excel"
)
def targets_xlsx(session: SessionDep, user: ApiUser, f: ByDept) -> Any:
    return _answer(session, user, "targets", f, "xlsx")


@router.get(
    "/leaders",
    response_model=LeadersReport,
    responses=JSON_OR_XLSX,
    summary='The "5213" leading-firm ladder',
)
def leaders(session: SessionDep, user: ApiUser, f: ByDept, format: Fmt = "json") -> Any:
    return _answer(session, user, "leaders", f, format)


@router.get(
    "/leaders.xlsx",
    responses=XLSX_RESPONSE,
    response_class=Response,
    summary="Leaders ladder as Excel",
)
def leaders_xlsx(session: SessionDep, user: ApiUser, f: ByDept) -> Any:
    return _answer(session, user, "leaders", f, "xlsx")


@router.get(
    "/activity",
    response_model=ActivityReport,
    responses=JSON_OR_XLSX,
    summary="Officer activity per week: contacts, follow-ups, response time",
)
def activity(
    session: SessionDep,
    user: ApiUser,
    f: ActivityFilters,
    format: Fmt = "json",
    detail: Detail = False,
) -> Any:
    return _answer(session, user, "activity", _detailed(f, detail), format)


@router.get(
    "/activity.xlsx",
    responses=XLSX_RESPONSE,
    response_class=Response,
    summary="Officer activity as Excel",
)
def activity_xlsx(session: SessionDep, user: ApiUser, f: ActivityFilters) -> Any:
    return _answer(session, user, "activity", f, "xlsx")


@router.get(
    "/delivery",
    response_model=DeliveryReport,
    responses=JSON_OR_XLSX,
    summary="Signed projects: capital arrived, jobs created, late landings",
)
def delivery(session: SessionDep, user: ApiUser, f: ByDeptCluster, format: Fmt = "json") -> Any:
    return _answer(session, user, "delivery", f, format)


@router.get(
    "/delivery.xlsx", responses=XLSX_RESPONSE, response_class=Response, summary="Delivery as Excel"
)
def delivery_xlsx(session: SessionDep, user: ApiUser, f: ByDeptCluster) -> Any:
    return _answer(session, user, "delivery", f, "xlsx")


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
LayoutDetail = Annotated[
    bool, Query(description="every project of each park, not the first few (Excel: always)")
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


@router.get(
    "/briefing",
    response_model=Briefing,
    responses=JSON_OR_XLSX,
    summary="The weekly briefing: coverage changes, signings, landings, capital, movements, "
    "overdue, conflicts, contacts — for the city, one cluster or one park",
)
def briefing(session: SessionDep, user: ApiUser, f: BriefingFilters, format: Fmt = "json") -> Any:
    return _answer(session, user, "briefing", f, format)


@router.get(
    "/briefing.xlsx", responses=XLSX_RESPONSE, response_class=Response, summary="Briefing as Excel"
)
def briefing_xlsx(session: SessionDep, user: ApiUser, f: BriefingFilters) -> Any:
    return _answer(session, user, "briefing", f, "xlsx")


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
    return Response(
        to_pdf(report, names, lang),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="briefing-{report.week_start}.pdf"'},
    )


@router.get(
    "/map",
    response_model=CityMap,
    responses=JSON_OR_XLSX,
    summary="The city map: landed and operating output per district and park; with a cluster, "
    "its coverage status at each guided park",
)
def city_map(session: SessionDep, user: ApiUser, f: ByDeptCluster, format: Fmt = "json") -> Any:
    return _answer(session, user, "map", f, format)


@router.get("/map.xlsx", responses=XLSX_RESPONSE, response_class=Response, summary="Map as Excel")
def city_map_xlsx(session: SessionDep, user: ApiUser, f: ByDeptCluster) -> Any:
    return _answer(session, user, "map", f, "xlsx")


@router.get(
    "/layout",
    response_model=ParkLayout,
    responses=JSON_OR_XLSX,
    summary="The park layout: each park's guided clusters (coverage per pair) and its projects",
)
def park_layout(
    session: SessionDep,
    user: ApiUser,
    f: ByDeptCluster,
    format: Fmt = "json",
    detail: LayoutDetail = False,
) -> Any:
    return _answer(session, user, "layout", _detailed(f, detail), format)


@router.get(
    "/layout.xlsx",
    responses=XLSX_RESPONSE,
    response_class=Response,
    summary="Park layout as Excel",
)
def park_layout_xlsx(session: SessionDep, user: ApiUser, f: ByDeptCluster) -> Any:
    return _answer(session, user, "layout", f, "xlsx")
