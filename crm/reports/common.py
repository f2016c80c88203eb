"""What every report shares: filters, who may open reports, the policy tables, week buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, and_, case, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.authz import project_visible, require_manager
from crm.authz.disclosure import project_label
from crm.clock import local_tz, today_local, week_start
from crm.errors import ValidationFailed
from crm.i18n import Message, _l
from crm.models.accounts import Department, User
from crm.models.policy import Cluster, Park
from crm.models.projects import Project
from crm.types import from_wan

MAX_WEEKS = 106  # two years of weekly buckets at most
DEFAULT_WEEKS = 12


@dataclass
class ReportFilters:
    """Filters the reports accept; each report uses those that make sense for it."""

    department_id: int | None = None
    cluster: str | None = None  # a cluster code
    date_from: date | None = None  # local dates, inclusive
    date_to: date | None = None
    group_by: str = "cluster"  # pipeline: cluster | park | department | officer
    officer_id: int | None = None
    park: str | None = None  # a park code (coverage, pipeline, delivery, the briefing)
    week: date | None = None  # the briefing: a day of the week (default the last full one)
    as_of: date | None = None  # delivery: late against this local day (default today)
    # the long lists in full (the Excel export, a drill-down); pages and JSON get the figures
    # and the first rows of each list otherwise
    detail: bool = False


class NamedCluster(BaseModel):
    """A cluster as a report's row names it: its code and both names (the reader's language
    picks one)."""

    code: str
    name_zh: str
    name_en: str

    @staticmethod
    def of(c: Cluster) -> dict[str, Any]:
        """Those fields of a policy cluster: ``ClusterRow(**NamedCluster.of(c), …)``."""
        return {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en}


class NamedPark(BaseModel):
    """A park as a report's row names it: its code, both names and its tier."""

    code: str
    name_zh: str
    name_en: str
    tier: str

    @staticmethod
    def of(p: Park) -> dict[str, Any]:
        """Those fields of a policy park: ``ParkRow(**NamedPark.of(p), …)``."""
        return {"code": p.code, "name_zh": p.name_zh, "name_en": p.name_en, "tier": p.tier}


def require_reports(actor: User) -> None:
    """Reports are for managers and admins (SPEC §4); officers get 403.

    The services themselves still filter every figure through ``project_visible(actor)``, so a
    caller that lets an officer through never shows a confidential project of another department.
    """
    require_manager(actor)


def visible(actor: User | None) -> ColumnElement[bool]:
    return project_visible(actor)


@dataclass
class Scope:
    """The projects a report's filters leave: the WHERE clauses, and the cluster and park the
    filters named (None: all)."""

    where: list[ColumnElement[bool]]
    cluster_id: int | None
    park_id: int | None


def filtered(session: Session, actor: User | None, f: ReportFilters, by_park: bool = True) -> Scope:
    """The filters checked — the department, then the cluster, then the park (``by_park``: the
    reports that offer it); an unknown one is refused on its field — and the projects they
    leave (``project_scope``)."""
    check_department(session, f.department_id)
    cid = cluster_id_for(session, f.cluster)
    pid = park_id_for(session, f.park) if by_park else None
    return Scope(project_scope(actor, f, cid, pid), cid, pid)


def project_scope(
    actor: User | None,
    f: ReportFilters,
    cluster_id: int | None = None,
    park_id: int | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses shared by project-based reports: visibility, department, cluster, park."""
    clauses: list[ColumnElement[bool]] = [project_visible(actor)]
    if f.department_id is not None:
        clauses.append(Project.department_id == f.department_id)
    if cluster_id is not None:
        clauses.append(Project.cluster_id == cluster_id)
    if park_id is not None:
        clauses.append(Project.park_id == park_id)
    return clauses


def wan_sum(col: Any) -> Any:
    """SUM of a Yi column as plain integer 万元 (not converted by the column type)."""
    return func.sum(type_coerce(col, BigInteger))


def yi(wan: Any) -> Decimal:
    """A SQL SUM of 万元 (or None) → exact 亿元."""
    return from_wan(wan or 0) or Decimal("0.0000")


def ratio(
    num: Decimal, den: Decimal, places: str = "0.0001", rounding: str = ROUND_HALF_UP
) -> Decimal | None:
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(Decimal(places), rounding=rounding)


def clusters(session: Session) -> list[Cluster]:
    return list(session.scalars(select(Cluster).order_by(Cluster.sort_order, Cluster.id)))


def parks(session: Session) -> list[Park]:
    return list(session.scalars(select(Park).order_by(Park.sort_order, Park.id)))


def _id_for(
    session: Session, table: type[Cluster] | type[Park], code: str | None, unknown: Message
) -> int | None:
    """The id of the cluster or park a filter names by code (none: no filter); an unknown code
    is refused on the filter's field."""
    if not code:
        return None
    found = session.scalar(select(table.id).where(table.code == code))
    if found is None:
        raise ValidationFailed(unknown, field="cluster" if table is Cluster else "park")
    return found


def cluster_id_for(session: Session, code: str | None) -> int | None:
    return _id_for(session, Cluster, code, _l("未知产业集群：%(code)s", code=code))


def park_id_for(session: Session, code: str | None) -> int | None:
    return _id_for(session, Park, code, _l("未知园区：%(code)s", code=code))


def check_department(session: Session, department_id: int | None) -> None:
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValidationFailed(_l("部门不存在"), field="department_id")


# the columns that name a project in a report: ``select(*LABELLED, …)``, then ``row_label(r)``
LABELLED = (Project.id, Project.title, Project.is_confidential, Project.code_name)


def row_label(r: Any) -> str:
    """The label of a row selected with ``LABELLED`` first."""
    title: str = r[1]
    return project_label(title, r[2], r[3])


# --- weeks (local time) ---------------------------------------------------------------------


@dataclass
class Weeks:
    starts: list[date]  # local Mondays
    bounds: list[datetime]  # UTC instants: len(starts) + 1 edges

    @property
    def first(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]


def weeks_for(f: ReportFilters, default_weeks: int = DEFAULT_WEEKS) -> Weeks:
    """The local weeks (Monday to Sunday, Asia/Shanghai) covering the filter's period."""
    to = f.date_to or today_local()
    frm = f.date_from or (week_start(to) - timedelta(weeks=default_weeks - 1))
    if frm > to:
        raise ValidationFailed(_l("开始日期晚于结束日期"), field="date_from")
    first, last = week_start(frm), week_start(to)
    n = (last - first).days // 7 + 1
    if n > MAX_WEEKS:
        raise ValidationFailed(
            _l("时间段最长 %(MAX_WEEKS)s 周", MAX_WEEKS=MAX_WEEKS),
            field="date_from",
        )
    starts = [first + timedelta(weeks=i) for i in range(n)]
    tz = local_tz()
    edges = [*starts, last + timedelta(weeks=1)]
    bounds = [datetime.combine(d, time.min, tzinfo=tz).astimezone(UTC) for d in edges]
    return Weeks(starts=starts, bounds=bounds)


def week_index(col: Any, weeks: Weeks) -> Any:
    """A CASE expression giving the week number (0-based) of a UTC timestamp column.

    Week edges are computed in Python from the local zone, so the grouping is right in any zone
    (DST included) and the same SQL runs on SQLite and PostgreSQL.
    """
    whens = [(col < b, i) for i, b in enumerate(weeks.bounds[1:])]
    return case(*whens, else_=len(weeks.starts))


def in_period(col: Any, weeks: Weeks) -> ColumnElement[bool]:
    return and_(col >= weeks.first, col < weeks.end)


def count_per_week(session: Session, col: Any, weeks: Weeks) -> dict[int, int]:
    """Rows per week of a timestamp column of a subquery (grouped on a label, for PostgreSQL)."""
    inner = select(week_index(col, weeks).label("w")).where(in_period(col, weeks)).subquery()
    return dict(session.execute(select(inner.c.w, func.count()).group_by(inner.c.w)).all())
