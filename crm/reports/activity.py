"""Officer activity (SPEC §5), per officer per local week:

- contacts logged: activities the officer created, in the week they were logged (created_at);
- follow-ups done: the officer's follow-ups completed in the week;
- follow-ups overdue: the officer's follow-ups falling due in the week that are still open now,
  past their due time;
- response to new leads: for the officer's projects created in the week (not opened directly at a
  later stage), the median time from creation to the first logged contact (SPEC §3), in hours
  (a contact logged before the project was opened counts as 0); leads with no contact yet are
  counted apart.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel
from sqlalchemy import and_, exists, func, not_, or_, select
from sqlmodel import Session

from crm.accounts.models import Department, User
from crm.accounts.permissions import activity_visible, followup_visible, project_visible
from crm.activities.models import Activity
from crm.followups.models import Followup
from crm.projects.models import Project, StageChange
from crm.reports.common import (
    ReportFilters,
    Weeks,
    check_department,
    in_period,
    week_index,
    weeks_for,
)
from crm.types import utcnow

HOURS = Decimal("0.01")


class OfficerWeek(BaseModel):
    officer_id: int
    week_start: date
    contacts: int = 0
    followups_done: int = 0
    followups_overdue: int = 0
    new_leads: int = 0
    awaiting_contact: int = 0
    median_response_hours: Decimal | None = None


class OfficerTotal(BaseModel):
    officer_id: int
    name: str
    department: str | None
    contacts: int = 0
    followups_done: int = 0
    followups_overdue: int = 0
    new_leads: int = 0
    awaiting_contact: int = 0
    median_response_hours: Decimal | None = None


class WeekTotal(BaseModel):
    week_start: date
    contacts: int = 0
    followups_done: int = 0
    followups_overdue: int = 0
    new_leads: int = 0


class ActivityReport(BaseModel):
    generated_at: datetime
    weeks: list[date]
    officers: list[OfficerTotal]
    rows: list[OfficerWeek]           # officer × week, only where something happened
    week_totals: list[WeekTotal]


def _hours(values: list[float]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(values))).quantize(HOURS, rounding=ROUND_HALF_UP)


def _grouped(session: Session, officer_col, ts_col, weeks: Weeks, *where):  # type: ignore[no-untyped-def]
    inner = (select(officer_col.label("o"), week_index(ts_col, weeks).label("w"))
             .where(in_period(ts_col, weeks), *where).subquery())

    return session.execute(select(inner.c.o, inner.c.w, func.count())
                           .group_by(inner.c.o, inner.c.w)).all()


def activity_report(session: Session, actor: User, f: ReportFilters | None = None
                    ) -> ActivityReport:
    """Contacts, follow-ups and response time per officer per week."""
    f = f or ReportFilters()
    check_department(session, f.department_id)
    weeks = weeks_for(f)
    now = utcnow()

    def who(col):  # type: ignore[no-untyped-def]
        clauses = []
        if f.officer_id is not None:
            clauses.append(col == f.officer_id)
        if f.department_id is not None:
            clauses.append(col.in_(select(User.id).where(User.department_id == f.department_id)))
        return clauses

    cells: dict[tuple[int, int], OfficerWeek] = {}

    def cell(o: int, w: int) -> OfficerWeek:
        if (o, w) not in cells:
            cells[(o, w)] = OfficerWeek(officer_id=o, week_start=weeks.starts[w])
        return cells[(o, w)]

    for o, w, n in _grouped(session, Activity.created_by_id, Activity.created_at, weeks,
                            activity_visible(actor), Activity.created_by_id.is_not(None),
                            *who(Activity.created_by_id)):
        cell(o, w).contacts = int(n)
    for o, w, n in _grouped(session, Followup.assignee_id, Followup.completed_at, weeks,
                            Followup.status == "done", followup_visible(actor),
                            *who(Followup.assignee_id)):
        cell(o, w).followups_done = int(n)
    for o, w, n in _grouped(session, Followup.assignee_id, Followup.due_at, weeks,
                            Followup.status == "open", Followup.due_at < now,
                            followup_visible(actor), *who(Followup.assignee_id)):
        cell(o, w).followups_overdue = int(n)

    # response time to new leads: a few thousand rows at most, the median taken in Python
    later_start = exists().where(StageChange.project_id == Project.id,
                                 StageChange.from_stage.is_(None),
                                 StageChange.to_stage != "lead")
    leads = session.execute(
        select(Project.owner_id, week_index(Project.created_at, weeks), Project.created_at,
               Project.first_contact_at)
        .where(in_period(Project.created_at, weeks), project_visible(actor),
               Project.owner_id.is_not(None), not_(later_start), *who(Project.owner_id))).all()
    per_cell: dict[tuple[int, int], list[float]] = {}
    per_officer: dict[int, list[float]] = {}
    awaiting: dict[int, int] = {}
    for o, w, created, first in leads:
        c = cell(o, w)
        c.new_leads += 1
        if first is None:
            c.awaiting_contact += 1
            awaiting[o] = awaiting.get(o, 0) + 1
            continue
        h = max(0.0, (first - created).total_seconds() / 3600)
        per_cell.setdefault((o, w), []).append(h)
        per_officer.setdefault(o, []).append(h)
    for k, hs in per_cell.items():
        cells[k].median_response_hours = _hours(hs)

    # officers: every officer in scope, and anyone else who appears
    officer_q = select(User.id, User.display_name, Department.name).outerjoin(
        Department, Department.id == User.department_id)
    conds = [User.id.in_({o for o, _ in cells})] if cells else []
    base = and_(User.role == "officer", User.is_active.is_(True), *who(User.id))
    people = session.execute(officer_q.where(or_(base, *conds)).order_by(User.id)).all()
    sums: dict[int, list[int]] = {}
    wsums: dict[int, list[int]] = {}
    for (o, w), c in cells.items():
        v = [c.contacts, c.followups_done, c.followups_overdue, c.new_leads]
        sums[o] = [a + b for a, b in zip(sums.get(o, [0, 0, 0, 0]), v, strict=True)]
        wsums[w] = [a + b for a, b in zip(wsums.get(w, [0, 0, 0, 0]), v, strict=True)]
    officers = []
    for uid, name, dept in people:
        t = sums.get(uid, [0, 0, 0, 0])
        officers.append(OfficerTotal(
            officer_id=uid, name=name, department=dept, contacts=t[0], followups_done=t[1],
            followups_overdue=t[2], new_leads=t[3], awaiting_contact=awaiting.get(uid, 0),
            median_response_hours=_hours(per_officer.get(uid, []))))
    week_totals = []
    for i, d in enumerate(weeks.starts):
        t = wsums.get(i, [0, 0, 0, 0])
        week_totals.append(WeekTotal(week_start=d, contacts=t[0], followups_done=t[1],
                                     followups_overdue=t[2], new_leads=t[3]))
    rows = sorted(cells.values(), key=lambda c: (c.officer_id, c.week_start))
    return ActivityReport(generated_at=utcnow(), weeks=weeks.starts, officers=officers,
                          rows=rows, week_totals=week_totals)
