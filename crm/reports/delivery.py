"""Delivery (SPEC §5): after signing, capital actually arrived (到资) against the planned
investment, jobs actually created against those promised, and projects late against their
promised landing or operation date.

Projects at signed, landed or operating count. A project is *late to land* when its expected
landing date has passed (before today, local) and it has no actual landing date, or it landed
after the expected date; *late to operate* likewise with the operation dates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlmodel import Session

from crm.clock import today_local
from crm.db import plan_once
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.projects import SECURED_STAGES, CapitalArrival, Project
from crm.reports.common import (
    LABELLED,
    ReportFilters,
    clusters,
    filtered,
    ratio,
    row_label,
    wan_sum,
    yi,
)
from crm.types import stored_id, utcnow

LATE_LISTED = 100


class ClusterDelivery(BaseModel):
    code: str
    name_zh: str
    projects: int
    planned_investment: Decimal
    capital_arrived: Decimal
    capital_ratio: Decimal | None
    expected_jobs: int
    actual_jobs: int
    jobs_ratio: Decimal | None
    late_landing: int
    late_operation: int


class LateProject(BaseModel):
    id: int
    label: str
    firm_name: str
    cluster: str
    stage: str
    expected_land_date: date | None
    actual_land_date: date | None
    expected_operate_date: date | None
    actual_operate_date: date | None
    late_landing: bool
    late_operation: bool


class DeliveryReport(BaseModel):
    generated_at: datetime
    today: date
    clusters: list[ClusterDelivery]
    total: ClusterDelivery
    late: list[LateProject]  # up to 100, most overdue first
    late_count: int


def _late_rules(today: date) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Late to land, late to operate, as of ``today`` (the module's definition)."""
    late_land = and_(
        Project.expected_land_date < today,
        or_(
            Project.actual_land_date.is_(None),
            Project.actual_land_date > Project.expected_land_date,
        ),
    )
    late_op = and_(
        Project.expected_operate_date < today,
        or_(
            Project.actual_operate_date.is_(None),
            Project.actual_operate_date > Project.expected_operate_date,
        ),
    )
    return late_land, late_op


def _scope(session: Session, actor: User, f: ReportFilters) -> list[ColumnElement[bool]]:
    return [*filtered(session, actor, f).where, Project.stage.in_(SECURED_STAGES)]


def _late_list(
    session: Session,
    scope: list[ColumnElement[bool]],
    today: date,
    code_of: dict[int, str],
    limit: int | None,
) -> list[LateProject]:
    """The late projects, most overdue first. Ranked on the project index alone (no firm, no
    title: ``ix_project_late_order_expr`` holds this order), then only the ``limit`` listed are
    read with their firm's name."""
    late_land, late_op = _late_rules(today)
    order = (func.coalesce(Project.expected_land_date, Project.expected_operate_date), Project.id)
    ranked = (
        select(Project.id)
        .where(*scope, or_(late_land, late_op))
        .order_by(*order)
        .limit(limit)
        .correlate(None)
    )
    rows = session.execute(
        plan_once(
            select(
                *LABELLED,
                Firm.name_zh,
                Project.cluster_id,
                Project.stage,
                Project.expected_land_date,
                Project.actual_land_date,
                Project.expected_operate_date,
                Project.actual_operate_date,
                late_land,
                late_op,
            )
            .join(Firm, Firm.id == Project.firm_id)
            .where(Project.id.in_(ranked))
            .order_by(*order)
        )
    ).all()
    return [
        LateProject(
            id=r[0],
            label=row_label(r),
            firm_name="" if r[2] else r[4],  # a confidential project: its code name only
            cluster=code_of.get(r[5], "?"),
            stage=r[6],
            expected_land_date=r[7],
            actual_land_date=r[8],
            expected_operate_date=r[9],
            actual_operate_date=r[10],
            late_landing=bool(r[11]),
            late_operation=bool(r[12]),
        )
        for r in rows
    ]


def late_projects(
    session: Session,
    actor: User,
    f: ReportFilters,
    limit: int | None = LATE_LISTED,
    code_of: dict[int, str] | None = None,
) -> tuple[list[LateProject], int]:
    """The delivery report's late projects (the first ``limit``) and how many are late, without
    its per-cluster sums — what the briefing shows (``code_of``: the clusters' codes by id, if
    the caller has read them)."""
    scope = _scope(session, actor, f)
    today = f.as_of or today_local()
    late_land, late_op = _late_rules(today)
    count = session.connection().execute(
        plan_once(select(func.count()).select_from(Project).where(*scope, or_(late_land, late_op)))
    )
    if code_of is None:
        code_of = {stored_id(c): c.code for c in clusters(session)}
    return _late_list(session, scope, today, code_of, limit), int(count.scalar_one())


def delivery_report(
    session: Session, actor: User, f: ReportFilters | None = None
) -> DeliveryReport:
    """Capital arrived, jobs created and late landings of the signed projects."""
    f = f or ReportFilters()
    scope = _scope(session, actor, f)
    today = f.as_of or today_local()
    late_land, late_op = _late_rules(today)
    arrived = (
        select(CapitalArrival.project_id, wan_sum(CapitalArrival.amount).label("amt"))
        .group_by(CapitalArrival.project_id)
        .subquery()
    )
    rows = (
        session.connection()
        .execute(
            select(
                Project.cluster_id,
                func.count(),
                wan_sum(Project.planned_investment),
                func.sum(arrived.c.amt),
                func.sum(func.coalesce(Project.expected_jobs, 0)),
                func.sum(func.coalesce(Project.actual_jobs, 0)),
                func.sum(case((late_land, 1), else_=0)),
                func.sum(case((late_op, 1), else_=0)),
                func.sum(case((or_(late_land, late_op), 1), else_=0)),
            )
            .outerjoin(arrived, arrived.c.project_id == Project.id)
            .where(*scope)
            .group_by(Project.cluster_id)
        )
        .all()
    )
    by = {r[0]: [int(x or 0) for x in r[1:8]] for r in rows}
    late_count = sum(int(r[8] or 0) for r in rows)  # late either way, every cluster

    def make(code: str, name: str, v: list[int]) -> ClusterDelivery:
        inv, got = yi(v[1]), yi(v[2])
        return ClusterDelivery(
            code=code,
            name_zh=name,
            projects=v[0],
            planned_investment=inv,
            capital_arrived=got,
            capital_ratio=ratio(got, inv),
            expected_jobs=v[3],
            actual_jobs=v[4],
            jobs_ratio=ratio(Decimal(v[4]), Decimal(v[3])),
            late_landing=v[5],
            late_operation=v[6],
        )

    out = []
    total = [0] * 7
    code_of: dict[int, str] = {}
    for c in clusters(session):
        code_of[stored_id(c)] = c.code
        v = by.get(c.id, [0] * 7)
        total = [a + b for a, b in zip(total, v, strict=True)]
        out.append(make(c.code, c.name_zh, v))
    late = _late_list(session, scope, today, code_of, None if f.detail else LATE_LISTED)
    return DeliveryReport(
        generated_at=utcnow(),
        today=today,
        clusters=out,
        total=make("ALL", "合计", total),
        late=late,
        late_count=late_count,
    )
