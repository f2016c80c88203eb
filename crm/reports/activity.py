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

from crm.authz import (
    activity_visible,
    followup_visible,
    hidden_projects,
    project_visible,
)
from crm.models.accounts import Department, User
from crm.models.activities import Activity
from crm.models.followups import Followup
from crm.models.projects import Project, StageChange
from crm.reports.common import (
    ReportFilters,
    Weeks,
    check_department,
    in_period,
    week_index,
    weeks_for,
)
from crm.summaries.fill import CONTACTS, DONE, filled_until
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
    # officer × week, only where something happened; listed when asked (detail, the Excel
    # export) or for one officer — all officers × weeks is thousands of rows
    rows: list[OfficerWeek]
    rows_listed: bool
    week_totals: list[WeekTotal]


def _hours(values: list[float]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(values))).quantize(HOURS, rounding=ROUND_HALF_UP)


def _grouped(session: Session, officer_col, ts_col, weeks: Weeks, *where):  # type: ignore[no-untyped-def]
    inner = (
        select(officer_col.label("o"), week_index(ts_col, weeks).label("w"))
        .where(in_period(ts_col, weeks), *where)
        .subquery()
    )

    return (
        session.connection()
        .execute(select(inner.c.o, inner.c.w, func.count()).group_by(inner.c.o, inner.c.w))
        .all()
    )


def activity_report(
    session: Session, actor: User, f: ReportFilters | None = None
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

    listed = f.detail or f.officer_id is not None
    # [contacts, done, overdue, new leads, awaiting contact] per officer, per week and — only
    # when the rows are listed — per officer × week
    sums: dict[int, list[int]] = {}
    wsums: dict[int, list[int]] = {}
    cells: dict[tuple[int, int], list[int]] = {}

    def add(o: int, w: int, slot: int, n: int) -> None:
        for key, into in ((o, sums), (w, wsums)):
            v = into.get(key)  # type: ignore[call-overload]
            if v is None:
                v = into[key] = [0, 0, 0, 0, 0]  # type: ignore[index]
            v[slot] += n
        if listed:
            c = cells.get((o, w))
            if c is None:
                c = cells[(o, w)] = [0, 0, 0, 0, 0]
            c[slot] += n

    conn = session.connection()  # Core execution: plain rows, without the ORM's per-row work
    if hidden_projects(actor) is None:
        # the actor sees every activity and follow-up: the closed weeks come from the
        # per-officer-per-week rollups (summed in SQL per officer and per week unless every cell
        # is listed), the weeks after the rollup's watermark — the open one always — are counted
        index_of = {d: i for i, d in enumerate(weeks.starts)}
        for slot, rollup in ((0, CONTACTS), (1, DONE)):
            table, col = rollup.table.c, rollup.table.c[rollup.column]
            until = filled_until(conn, rollup)
            k = sum(1 for d in weeks.starts if until is not None and d < until)
            if k < len(weeks.starts):  # counted live from the raw rows
                tail = Weeks(starts=weeks.starts[k:], bounds=weeks.bounds[k:])
                for o, w, n in _grouped(
                    session, rollup.user, rollup.ts, tail, *rollup.condition(), *who(rollup.user)
                ):
                    add(o, w + k, slot, int(n))
            if k == 0:
                continue
            scope = (
                table.week_start >= weeks.starts[0],
                table.week_start <= weeks.starts[k - 1],
                col > 0,
                *who(table.user_id),
            )
            if listed:
                for o, wk, n in conn.execute(
                    select(table.user_id, table.week_start, col).where(*scope)
                ):
                    add(o, index_of[wk], slot, int(n))
                continue
            for o, n in conn.execute(
                select(table.user_id, func.sum(col)).where(*scope).group_by(table.user_id)
            ):
                sums.setdefault(o, [0, 0, 0, 0, 0])[slot] += int(n)
            for wk, n in conn.execute(
                select(table.week_start, func.sum(col)).where(*scope).group_by(table.week_start)
            ):
                wsums.setdefault(index_of[wk], [0, 0, 0, 0, 0])[slot] += int(n)
    else:
        for o, w, n in _grouped(
            session,
            Activity.created_by_id,
            Activity.created_at,
            weeks,
            activity_visible(actor),
            Activity.created_by_id.is_not(None),
            *who(Activity.created_by_id),
        ):
            add(o, w, 0, int(n))
        for o, w, n in _grouped(
            session,
            Followup.assignee_id,
            Followup.completed_at,
            weeks,
            Followup.status == "done",
            followup_visible(actor),
            *who(Followup.assignee_id),
        ):
            add(o, w, 1, int(n))
    overdue = (
        Followup.status == "open",
        Followup.due_at < now,
        followup_visible(actor),
        *who(Followup.assignee_id),
    )
    if listed:
        for o, w, n in _grouped(session, Followup.assignee_id, Followup.due_at, weeks, *overdue):
            add(o, w, 2, int(n))
    else:  # per officer and per week, each summed in SQL
        for o, n in conn.execute(
            select(Followup.assignee_id, func.count())
            .where(in_period(Followup.due_at, weeks), *overdue)
            .group_by(Followup.assignee_id)
        ):
            sums.setdefault(o, [0, 0, 0, 0, 0])[2] += int(n)
        inner = (
            select(week_index(Followup.due_at, weeks).label("w"))
            .where(in_period(Followup.due_at, weeks), *overdue)
            .subquery()
        )
        for w, n in conn.execute(select(inner.c.w, func.count()).group_by(inner.c.w)):
            wsums.setdefault(w, [0, 0, 0, 0, 0])[2] += int(n)

    # response time to new leads: a few thousand rows at most, the median taken in Python
    later_start = exists().where(
        StageChange.project_id == Project.id,
        StageChange.from_stage.is_(None),
        StageChange.to_stage != "lead",
    )
    leads = conn.execute(
        select(
            Project.owner_id,
            week_index(Project.created_at, weeks),
            Project.created_at,
            Project.first_contact_at,
        ).where(
            in_period(Project.created_at, weeks),
            project_visible(actor),
            Project.owner_id.is_not(None),
            not_(later_start),
            *who(Project.owner_id),
        )
    ).all()
    per_cell: dict[tuple[int, int], list[float]] = {}
    per_officer: dict[int, list[float]] = {}
    for o, w, created, first in leads:
        add(o, w, 3, 1)
        if first is None:
            add(o, w, 4, 1)
            continue
        h = max(0.0, (first - created).total_seconds() / 3600)
        if listed:
            per_cell.setdefault((o, w), []).append(h)
        per_officer.setdefault(o, []).append(h)

    # officers: every officer in scope, and anyone else who appears
    officer_q = select(User.id, User.display_name, Department.name).outerjoin(
        Department, Department.id == User.department_id
    )
    conds = [User.id.in_(set(sums))] if sums else []
    base = and_(User.role == "officer", User.is_active.is_(True), *who(User.id))
    people = conn.execute(officer_q.where(or_(base, *conds)).order_by(User.id)).all()
    zero = [0, 0, 0, 0, 0]
    officers = []
    for uid, name, dept in people:
        t = sums.get(uid, zero)
        officers.append(
            OfficerTotal(
                officer_id=uid,
                name=name,
                department=dept,
                contacts=t[0],
                followups_done=t[1],
                followups_overdue=t[2],
                new_leads=t[3],
                awaiting_contact=t[4],
                median_response_hours=_hours(per_officer.get(uid, [])),
            )
        )
    week_totals = []
    for i, d in enumerate(weeks.starts):
        t = wsums.get(i, zero)
        week_totals.append(
            WeekTotal(
                week_start=d,
                contacts=t[0],
                followups_done=t[1],
                followups_overdue=t[2],
                new_leads=t[3],
            )
        )
    rows = [
        OfficerWeek(
            officer_id=o,
            week_start=weeks.starts[w],
            contacts=c[0],
            followups_done=c[1],
            followups_overdue=c[2],
            new_leads=c[3],
            awaiting_contact=c[4],
            median_response_hours=_hours(per_cell[(o, w)]) if (o, w) in per_cell else None,
        )
        for (o, w), c in sorted(cells.items())
    ]
    return ActivityReport(
        generated_at=utcnow(),
        weeks=weeks.starts,
        officers=officers,
        rows=rows,
        rows_listed=listed,
        week_totals=week_totals,
    )
