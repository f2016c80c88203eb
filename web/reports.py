"""The managers' report pages: a chart (ECharts, fed from a JSON data island) beside each table,
filters, and the Excel download. Figures come from the same crm/reports services as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from crm.clock import parse_day
from crm.errors import CRMError, NotFound, ValidationFailed
from crm.i18n import Message, _l
from crm.policy.districts import district_name
from crm.policy.service import plan_lists
from crm.reports import briefing_pdf, registry
from crm.reports.common import ReportFilters, require_reports
from crm.reports.export import to_xlsx
from crm.reports.sheets import PAGES
from crm.reports.words import GROUP_ZH, STAGE_ZH, STATUS_ZH, TIER_ZH, band_label
from crm.schemas import read_id
from server.download import download
from web import report_charts
from web.render import error_page
from web.visit import Visit

router = APIRouter()

# the filters each page offers
FILTERS = {
    "coverage": ("department_id", "cluster", "detail"),
    "pipeline": ("group_by", "department_id", "cluster", "date_from", "date_to"),
    "targets": ("department_id",),
    "leaders": ("department_id",),
    "activity": ("department_id", "date_from", "date_to"),
    "delivery": ("department_id", "cluster"),
    "briefing": ("week", "cluster", "park", "department_id"),
    "map": ("cluster", "department_id"),
    "layout": ("cluster", "department_id"),
}
TITLES = {  # lazy messages: the page renders them in its language
    "coverage": _l("集群覆盖"),
    "pipeline": _l("项目进展"),
    "targets": _l("目标完成"),
    "leaders": _l("龙头企业梯队"),
    "activity": _l("专员工作量"),
    "delivery": _l("签约履约"),
    "briefing": _l("每周简报"),
    "map": _l("城市地图"),
    "layout": _l("园区布局"),
}


def _int(value: str | None, field: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    n = read_id(value)
    if n is None:
        raise ValidationFailed(_l("请输入有效的编号"), field=field)
    return n


def _code(value: str | None, field: str, unknown: Message) -> str | None:
    """A cluster or park code from the query string (blank: all)."""
    c = (value or "").strip()
    if not c:
        return None
    if len(c) > 20 or not c.replace("_", "").isalnum():
        raise ValidationFailed(unknown, field=field)
    return c


def cluster_names(session: Any, lang: str) -> dict[str, str]:
    return {
        c.code: (c.name_en if lang == "en" else c.name_zh) for c in plan_lists(session).clusters
    }


def parse_filters(name: str, q: dict[str, str]) -> ReportFilters:
    """The page's query string → filters (empty fields mean 'all')."""
    allowed = FILTERS[name]
    f = ReportFilters()
    if "department_id" in allowed:
        f.department_id = _int(q.get("department_id"), "department_id")
    if "cluster" in allowed:
        f.cluster = _code(q.get("cluster"), "cluster", _l("未知产业集群"))
    if "park" in allowed:
        f.park = _code(q.get("park"), "park", _l("未知园区"))
    if "week" in allowed:
        f.week = parse_day(q.get("week"), "week")
    if "date_from" in allowed:
        f.date_from = parse_day(q.get("date_from"), "date_from")
        f.date_to = parse_day(q.get("date_to"), "date_to")
    if "detail" in allowed:
        f.detail = q.get("detail") in ("1", "true", "on")
    if "group_by" in allowed and q.get("group_by"):
        if q["group_by"] not in GROUP_ZH:
            raise ValidationFailed(_l("未知分组"), field="group_by")
        f.group_by = q["group_by"]
    return f


@router.get("/reports", include_in_schema=False)
def index(visit: Visit) -> Response:
    try:
        require_reports(visit.user)
    except CRMError as exc:
        return error_page(visit.request, exc)
    return RedirectResponse("/reports/coverage", status_code=303)


@router.get("/reports/{name}", include_in_schema=False)
def report_page(visit: Visit, name: str) -> Response:
    xlsx = name.endswith(".xlsx")
    pdf = name == "briefing.pdf"
    name = name.removesuffix(".xlsx").removesuffix(".pdf")
    try:
        if name not in FILTERS:
            raise NotFound(_l("没有这个报表"))
        require_reports(visit.user)
    except CRMError as exc:
        return error_page(visit.request, exc)
    q = dict(visit.request.query_params)
    error: ValidationFailed | None = None
    report: Any = None
    try:
        f = parse_filters(name, q)
        f.detail = f.detail or xlsx  # the workbook carries every row; the page the first ones
        report = registry.run(visit.session, visit.user, name, f)
    except ValidationFailed as exc:
        if xlsx or pdf:
            raise
        error = exc
    if pdf:
        body = briefing_pdf.to_pdf(report, cluster_names(visit.session, visit.lang), visit.lang)
        return download(body, f"briefing-{report.week_start}.pdf", "application/pdf")
    if xlsx:
        return download(to_xlsx(name, report, visit.lang), f"{name}.xlsx")
    plan = plan_lists(visit.session)
    ctx = {
        "nav": "reports",
        "name": name,
        "titles": TITLES,
        "report": report,
        "q": q,
        "filters": FILTERS[name],
        "error": error,
        # the filters' choices: the plan's lists as kept per process (``plan_lists``: on
        # PostgreSQL no round trip, its check read with the signed-in session)
        "departments": plan.departments,
        "clusters": plan.clusters,
        "parks": plan.parks,
        "cluster_names": cluster_names(visit.session, visit.lang),
        "chart": (
            report_charts.map_option(report, visit.lang)
            if name == "map" and report is not None
            else report_charts.option(name, report, visit.lang)
            if report is not None
            else None
        ),
        "chart2": (report_charts.second(name, report, visit.lang) if report is not None else None),
        "heads": PAGES.get(name, {}),  # the tables' headers: the workbook's column spec
        "band_label": band_label,
        "district_name": district_name,
        "stage_zh": STAGE_ZH,
        "status_zh": STATUS_ZH,
        "tier_zh": TIER_ZH,
        "group_zh": GROUP_ZH,
        "query": visit.request.url.query,
        "report_detail": name == "coverage" and q.get("detail") in ("1", "true", "on"),
    }
    return visit.render(f"reports/{name}.html", ctx, status_code=422 if error else 200)
