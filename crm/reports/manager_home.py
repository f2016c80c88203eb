"""A manager's home (SPEC §4): the department's week at a glance, the conflicts waiting, the
stale projects, the officers with overdue work. An admin sees every department.

"This week" is the local week so far (Monday 00:00 to now). New leads: projects opened this week;
signings / landings: projects that first reached signed / landed this week (the pipeline's and
the briefing's definition); overdue follow-ups: open ones past due, of the department's officers.
Stale: active projects before landing (lead … signed) with no activity for ``stale_project_days``.
Each figure is one indexed aggregate: fast at city scale.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Subquery, and_, case, func, select, true
from sqlmodel import Session

from crm.authz import project_visible, require_manager
from crm.clock import today_local, week_start
from crm.config import get_settings
from crm.db import plan_once
from crm.models.accounts import User
from crm.models.followups import Followup
from crm.models.projects import LANDED_STAGES, SECURED_STAGES, Project, StageChange
from crm.reports.briefing import _instant
from crm.reports.common import LABELLED, row_label
from crm.reports.conflicts import ConflictRow, open_conflicts
from crm.types import utcnow

_S = TypeVar("_S")
STALE_STAGES = ("lead", "contacted", "negotiating", "signed")
LISTED = 10


class StaleProject(BaseModel):
    id: int
    label: str
    stage: str
    idle_days: int


class OfficerOverdue(BaseModel):
    officer_id: int
    name: str
    overdue: int


class ManagerHome(BaseModel):
    week_start: date
    department_id: int | None  # None: every department (an admin)
    new_leads: int
    signings: int
    landings: int
    overdue_followups: int
    conflicts: list[ConflictRow]
    conflicts_count: int
    stale_days: int
    stale: list[StaleProject]
    stale_count: int
    officers: list[OfficerOverdue]


def _as_is(stmt: _S) -> _S:
    return stmt


def _first_reached(scope: list[ColumnElement[bool]], start: datetime) -> Subquery:
    """The projects in ``scope`` moved into a secured stage since ``start`` (signed, landed,
    operating), each with its first change into a secured stage (``secured``) and into a landed
    one (``landed``, None if never): a project first reached a stage group this week when that
    time is after ``start``. Only projects moved this week can have first reached one now."""
    recent = select(StageChange.project_id).where(
        StageChange.changed_at >= start, StageChange.to_stage.in_(SECURED_STAGES)
    )
    landed = case((StageChange.to_stage.in_(LANDED_STAGES), StageChange.changed_at))
    return (
        select(
            func.min(StageChange.changed_at).label("secured"),
            func.min(landed).label("landed"),
        )
        .join(Project, Project.id == StageChange.project_id)
        .where(
            *scope,
            StageChange.to_stage.in_(SECURED_STAGES),
            StageChange.project_id.in_(recent),
        )
        .group_by(StageChange.project_id)
        .subquery()
    )


def manager_home(session: Session, actor: User, now: datetime | None = None) -> ManagerHome:
    """The figures of a manager's home page."""
    require_manager(actor)
    now = now or utcnow()
    monday = week_start(today_local(now))
    start = _instant(monday)
    dept = actor.department_id if actor.role != "admin" else None
    scope: list[ColumnElement[bool]] = [project_visible(actor)]
    if dept is not None:
        scope.append(Project.department_id == dept)
    days = get_settings().stale_project_days
    cutoff = now - timedelta(days=days)
    last = func.coalesce(Project.last_activity_at, Project.created_at)
    stale_where = and_(*scope, Project.stage.in_(STALE_STAGES), last < cutoff)
    conn = session.connection()
    # the week's four figures in one row: new leads and stale projects counted as scalar
    # subqueries beside the signings and landings, which one pass over the projects moved into
    # a secured stage this week gives (landed ⊂ secured): each project's first secured and
    # first landed change, counted where it falls in this week. A department's statements are
    # planned once (PostgreSQL): planned for its values the figures took 0.5–1.5 ms to plan
    # and 0.24 to run, against 0.46 to run on their generic plan (city scale). An admin's,
    # over every department, are planned for their values: a generic plan of the whole city's
    # figures hashed every project (12 ms against 2.4 with planning)
    planned = plan_once if dept is not None else _as_is
    reached = _first_reached(scope, start)
    figures = select(
        select(func.count()).where(*scope, Project.created_at >= start).scalar_subquery(),
        select(func.count()).where(stale_where).scalar_subquery(),
        func.count().filter(reached.c.secured >= start),
        func.count().filter(reached.c.landed >= start),
    ).select_from(reached)
    # the first ten stale projects: a department's along ix_project_department_idle_expr
    # (migration 0029), its projects by their last contact, not all of them sorted — with the
    # figures' row joined to each (one statement for both; the figures alone when none is
    # stale). An admin's are every department's stale projects sorted (no such index), apart
    listed_q = select(*LABELLED, Project.stage, last).where(stale_where)
    if dept is not None:
        week = figures.subquery("week")
        listed_q = listed_q.add_columns(*week.c).join_from(Project, week, true())
    listed = conn.execute(planned(listed_q.order_by(last, Project.id).limit(LISTED))).all()
    stale = [
        StaleProject(id=r[0], label=row_label(r), stage=r[4], idle_days=(now - r[5]).days)
        for r in listed
    ]
    week_row: Any = (
        listed[0][6:] if listed and dept is not None else conn.execute(planned(figures)).one()
    )
    new_leads, stale_count, signings, landings = week_row

    # the department's active people with open follow-ups past due, and how many
    overdue_q = (
        select(User.id, User.display_name, func.count())
        .join(Followup, Followup.assignee_id == User.id)
        .where(User.is_active.is_(True), Followup.status == "open", Followup.due_at < now)
        .group_by(User.id, User.display_name)
    )
    if dept is not None:
        overdue_q = overdue_q.where(User.department_id == dept)
    overdue_rows = conn.execute(planned(overdue_q)).all()
    overdue_total = sum(int(n) for _, _, n in overdue_rows)
    officers = sorted(
        (OfficerOverdue(officer_id=o, name=name, overdue=int(n)) for o, name, n in overdue_rows),
        key=lambda x: (-x.overdue, x.name),
    )[:LISTED]
    conflicts = open_conflicts(session, actor)
    return ManagerHome(
        week_start=monday,
        department_id=dept,
        new_leads=int(new_leads),
        signings=signings,
        landings=landings,
        overdue_followups=overdue_total,
        conflicts=conflicts[:LISTED],
        conflicts_count=len(conflicts),
        stale_days=days,
        stale=stale,
        stale_count=int(stale_count),
        officers=officers,
    )
