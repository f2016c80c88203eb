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

from pydantic import BaseModel
from sqlalchemy import and_, func, select
from sqlmodel import Session

from crm.authz import project_visible, require_manager
from crm.clock import today_local, week_start
from crm.config import get_settings
from crm.models.accounts import User
from crm.models.followups import Followup
from crm.models.projects import LANDED_STAGES, SECURED_STAGES, Project, StageChange
from crm.reports.briefing import _instant
from crm.reports.common import LABELLED, row_label
from crm.reports.conflicts import ConflictRow, open_conflicts
from crm.types import utcnow

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


def manager_home(session: Session, actor: User, now: datetime | None = None) -> ManagerHome:
    """The figures of a manager's home page."""
    require_manager(actor)
    now = now or utcnow()
    monday = week_start(today_local(now))
    start = _instant(monday)
    dept = actor.department_id if actor.role != "admin" else None
    scope = [project_visible(actor)]
    if dept is not None:
        scope.append(Project.department_id == dept)
    conn = session.connection()
    new_leads = conn.execute(
        select(func.count()).where(*scope, Project.created_at >= start)
    ).scalar_one()

    def first_reached(stages: tuple[str, ...]) -> int:
        first = (
            select(StageChange.project_id)
            .join(Project, Project.id == StageChange.project_id)
            .where(*scope, StageChange.to_stage.in_(stages))
            .group_by(StageChange.project_id)
            .having(func.min(StageChange.changed_at) >= start)
        )
        # only projects moved into those stages this week can have first reached them now
        recent = select(StageChange.project_id).where(
            StageChange.changed_at >= start, StageChange.to_stage.in_(stages)
        )
        return int(
            conn.execute(
                select(func.count()).select_from(
                    first.where(StageChange.project_id.in_(recent)).subquery()
                )
            ).scalar_one()
        )

    signings = first_reached(SECURED_STAGES)
    landings = first_reached(LANDED_STAGES)

    officers_q = select(User.id, User.display_name).where(User.is_active.is_(True))
    if dept is not None:
        officers_q = officers_q.where(User.department_id == dept)
    people = dict(conn.execute(officers_q).all())
    overdue_rows = (
        conn.execute(
            select(Followup.assignee_id, func.count())
            .where(
                Followup.status == "open",
                Followup.due_at < now,
                Followup.assignee_id.in_(list(people)),
            )
            .group_by(Followup.assignee_id)
        ).all()
        if people
        else []
    )
    overdue_total = sum(int(n) for _, n in overdue_rows)
    officers = sorted(
        (OfficerOverdue(officer_id=o, name=people[o], overdue=int(n)) for o, n in overdue_rows),
        key=lambda x: (-x.overdue, x.name),
    )[:LISTED]

    days = get_settings().stale_project_days
    cutoff = now - timedelta(days=days)
    last = func.coalesce(Project.last_activity_at, Project.created_at)
    stale_where = and_(*scope, Project.stage.in_(STALE_STAGES), last < cutoff)
    stale_count = conn.execute(select(func.count()).where(stale_where)).scalar_one()
    stale = [
        StaleProject(
            id=r[0],
            label=row_label(r),
            stage=r[4],
            idle_days=(now - r[5]).days,
        )
        for r in session.execute(
            select(
                *LABELLED,
                Project.stage,
                last,
            )
            .where(stale_where)
            .order_by(last, Project.id)
            .limit(LISTED)
        )
    ]
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
