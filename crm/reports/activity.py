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
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import and_, exists, func, not_, select
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


class WeekFigures(BaseModel):
    """The counts of a week (all officers, or one)."""

    contacts: int = 0
    followups_done: int = 0
    followups_overdue: int = 0
    new_leads: int = 0


class OfficerFigures(WeekFigures):
    """An officer's counts, response time and leads still waiting, in total or in a week."""

    awaiting_contact: int = 0
    median_response_hours: Decimal | None = None


# the counts in the order the tally keeps them
FIGURES = ("contacts", "followups_done", "followups_overdue", "new_leads", "awaiting_contact")


# per model, the positions in the tally of the counts it has (read once: a model's fields are
# looked up through a descriptor, and a report builds hundreds of rows)
_SLOTS: dict[type[BaseModel], tuple[tuple[int, str], ...]] = {}


def _figures(counts: list[int], of: type[BaseModel]) -> dict[str, int]:
    """The tally's counts as the fields of ``of``."""
    slots = _SLOTS.get(of)
    if slots is None:
        fields = of.model_fields
        slots = _SLOTS[of] = tuple((i, k) for i, k in enumerate(FIGURES) if k in fields)
    return {k: counts[i] for i, k in slots}


class OfficerWeek(OfficerFigures):
    officer_id: int
    week_start: date


class OfficerTotal(OfficerFigures):
    officer_id: int
    name: str
    department: str | None


class WeekTotal(WeekFigures):
    week_start: date


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


class _Tally:
    """[contacts, done, overdue, new leads, awaiting contact] per officer, per week and — only
    when the rows are listed — per officer × week; filled step by step from the sources."""

    def __init__(self, session: Session, f: ReportFilters, weeks: Weeks) -> None:
        self.session = session
        self.conn = session.connection()  # Core execution: plain rows, no per-row ORM work
        self.f = f
        self.weeks = weeks
        self.listed = f.detail or f.officer_id is not None
        self.sums: dict[int, list[int]] = {}
        self.wsums: dict[int, list[int]] = {}
        self.cells: dict[tuple[int, int], list[int]] = {}

    def who(self, col: Any) -> list[Any]:
        """The officer filter (one officer, one department) on a column naming a user."""
        clauses = []
        if self.f.officer_id is not None:
            clauses.append(col == self.f.officer_id)
        if self.f.department_id is not None:
            clauses.append(
                col.in_(select(User.id).where(User.department_id == self.f.department_id))
            )
        return clauses

    def add(self, o: int, w: int, slot: int, n: int) -> None:
        self.sums.setdefault(o, [0, 0, 0, 0, 0])[slot] += n
        self.wsums.setdefault(w, [0, 0, 0, 0, 0])[slot] += n
        if self.listed:
            self.cells.setdefault((o, w), [0, 0, 0, 0, 0])[slot] += n

    def add_grouped(
        self, slot: int, weeks: Weeks, skipped: int, officer_col: Any, ts_col: Any, *where: Any
    ) -> None:
        """Counts per officer × week from the raw rows; ``weeks`` are the report's weeks after
        the first ``skipped``."""
        for o, w, n in _grouped(self.session, officer_col, ts_col, weeks, *where):
            self.add(o, w + skipped, slot, int(n))

    def from_rollups(self, contacts_only: bool = False) -> None:
        """The actor sees every activity and follow-up: the closed weeks come from the
        per-officer-per-week rollups (summed in SQL per officer and per week unless every cell
        is listed), the weeks after the rollup's watermark — the open one always — are counted
        live."""
        weeks = self.weeks
        sources = ((0, CONTACTS),) if contacts_only else ((0, CONTACTS), (1, DONE))
        for slot, rollup in sources:
            until = filled_until(self.conn, rollup)
            k = sum(1 for d in weeks.starts if until is not None and d < until)
            if k < len(weeks.starts):  # counted live from the raw rows
                tail = Weeks(starts=weeks.starts[k:], bounds=weeks.bounds[k:])
                self.add_grouped(
                    slot,
                    tail,
                    k,
                    rollup.user,
                    rollup.ts,
                    *rollup.condition(),
                    *self.who(rollup.user),
                )
            if k > 0:
                self._rolled_up(slot, rollup, k)

    def _rolled_up(self, slot: int, rollup: Any, k: int) -> None:
        """The first ``k`` weeks, closed, from the rollup table."""
        table, col = rollup.table.c, rollup.table.c[rollup.column]
        scope = (
            table.week_start >= self.weeks.starts[0],
            table.week_start <= self.weeks.starts[k - 1],
            col > 0,
            *self.who(table.user_id),
        )
        index_of = {d: i for i, d in enumerate(self.weeks.starts)}
        if self.listed:
            for o, wk, n in self.conn.execute(
                select(table.user_id, table.week_start, col).where(*scope)
            ):
                self.add(o, index_of[wk], slot, int(n))
            return
        for o, n in self.conn.execute(
            select(table.user_id, func.sum(col)).where(*scope).group_by(table.user_id)
        ):
            self.sums.setdefault(o, [0, 0, 0, 0, 0])[slot] += int(n)
        for wk, n in self.conn.execute(
            select(table.week_start, func.sum(col)).where(*scope).group_by(table.week_start)
        ):
            self.wsums.setdefault(index_of[wk], [0, 0, 0, 0, 0])[slot] += int(n)

    def from_raw(self, actor: User, contacts_only: bool = False) -> None:
        """An actor who may not see everything: contacts and done follow-ups counted from the
        rows they may see."""
        self.add_grouped(
            0,
            self.weeks,
            0,
            Activity.created_by_id,
            Activity.created_at,
            activity_visible(actor),
            Activity.created_by_id.is_not(None),
            *self.who(Activity.created_by_id),
        )
        if contacts_only:
            return
        self.add_grouped(
            1,
            self.weeks,
            0,
            Followup.assignee_id,
            Followup.completed_at,
            Followup.status == "done",
            followup_visible(actor),
            *self.who(Followup.assignee_id),
        )

    def overdue(self, actor: User, now: datetime) -> None:
        """Open follow-ups past due, by their due week."""
        weeks = self.weeks
        overdue = (
            Followup.status == "open",
            Followup.due_at < now,
            followup_visible(actor),
            *self.who(Followup.assignee_id),
        )
        if self.listed:
            self.add_grouped(2, weeks, 0, Followup.assignee_id, Followup.due_at, *overdue)
            return
        # per officer and per week, each summed in SQL
        for o, n in self.conn.execute(
            select(Followup.assignee_id, func.count())
            .where(in_period(Followup.due_at, weeks), *overdue)
            .group_by(Followup.assignee_id)
        ):
            self.sums.setdefault(o, [0, 0, 0, 0, 0])[2] += int(n)
        inner = (
            select(week_index(Followup.due_at, weeks).label("w"))
            .where(in_period(Followup.due_at, weeks), *overdue)
            .subquery()
        )
        for w, n in self.conn.execute(select(inner.c.w, func.count()).group_by(inner.c.w)):
            self.wsums.setdefault(w, [0, 0, 0, 0, 0])[2] += int(n)

    def leads(
        self, actor: User
    ) -> tuple[dict[tuple[int, int], list[float]], dict[int, list[float]]]:
        """New leads and the hours to their first contact (a few thousand rows at most, the
        median taken in Python): per officer × week (listed) and per officer."""
        weeks = self.weeks
        later_start = exists().where(
            StageChange.project_id == Project.id,
            StageChange.from_stage.is_(None),
            StageChange.to_stage != "lead",
        )
        leads = self.conn.execute(
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
                *self.who(Project.owner_id),
            )
        ).all()
        per_cell: dict[tuple[int, int], list[float]] = {}
        per_officer: dict[int, list[float]] = {}
        # counted per officer × week first, then added to the tally once per pair (a lead
        # each was thousands of adds)
        pairs: dict[tuple[int, int], list[int]] = {}
        listed = self.listed
        for o, w, created, first in leads:
            n = pairs.get((o, w))
            if n is None:
                n = pairs[(o, w)] = [0, 0]
            n[0] += 1
            if first is None:
                n[1] += 1
                continue
            h = max(0.0, (first - created).total_seconds() / 3600)
            if listed:
                per_cell.setdefault((o, w), []).append(h)
            hours = per_officer.get(o)
            if hours is None:
                per_officer[o] = [h]
            else:
                hours.append(h)
        for (o, w), (new, awaiting) in pairs.items():
            self.add(o, w, 3, new)
            if awaiting:
                self.add(o, w, 4, awaiting)
        return per_cell, per_officer

    def officers(self, per_officer: dict[int, list[float]]) -> list[OfficerTotal]:
        """Every officer in scope, and anyone else who appears."""
        officer_q = select(User.id, User.display_name, Department.name).outerjoin(
            Department, Department.id == User.department_id
        )
        base = and_(User.role == "officer", User.is_active.is_(True), *self.who(User.id))
        # (id, name, department) of stored users: the id is never None
        people = cast(
            "list[tuple[int, str, str | None]]",
            self.conn.execute(officer_q.where(base)).all(),
        )
        # those who appear without being an active officer in scope (a handful at most): by
        # id, rather than every officer's id bound into the first statement
        others = set(self.sums).difference(uid for uid, _, _ in people)
        if others:
            people += cast(
                "list[tuple[int, str, str | None]]",
                self.conn.execute(officer_q.where(User.id.in_(sorted(others)))).all(),
            )
        people.sort(key=lambda r: r[0])
        zero = [0, 0, 0, 0, 0]
        return [
            OfficerTotal(
                officer_id=uid,
                name=name,
                department=dept,
                median_response_hours=_hours(per_officer.get(uid, [])),
                **_figures(self.sums.get(uid, zero), OfficerTotal),
            )
            for uid, name, dept in people
        ]

    def week_totals(self) -> list[WeekTotal]:
        zero = [0, 0, 0, 0, 0]
        return [
            WeekTotal(week_start=d, **_figures(self.wsums.get(i, zero), WeekTotal))
            for i, d in enumerate(self.weeks.starts)
        ]

    def rows(self, per_cell: dict[tuple[int, int], list[float]]) -> list[OfficerWeek]:
        return [
            OfficerWeek(
                officer_id=o,
                week_start=self.weeks.starts[w],
                median_response_hours=_hours(per_cell[(o, w)]) if (o, w) in per_cell else None,
                **_figures(c, OfficerWeek),
            )
            for (o, w), c in sorted(self.cells.items())
        ]


def contacts_per_department(
    session: Session, actor: User, f: ReportFilters
) -> dict[str | None, int]:
    """The report's contacts logged in its weeks, summed per officer's department (None: an
    officer without one) — the same figures as ``activity_report``'s officers, without the
    follow-ups, the leads and the officers who logged none."""
    check_department(session, f.department_id)
    tally = _Tally(session, f, weeks_for(f))
    if hidden_projects(actor) is None:
        tally.from_rollups(contacts_only=True)
    else:
        tally.from_raw(actor, contacts_only=True)
    per_officer = {o: t[0] for o, t in tally.sums.items() if t[0]}
    out: dict[str | None, int] = {}
    if not per_officer:
        return out
    for uid, dept in tally.conn.execute(
        select(User.id, Department.name)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.id.in_(list(per_officer)))
    ):
        out[dept] = out.get(dept, 0) + per_officer[cast(int, uid)]  # a stored user's id
    return out


def activity_report(
    session: Session, actor: User, f: ReportFilters | None = None
) -> ActivityReport:
    """Contacts, follow-ups and response time per officer per week."""
    f = f or ReportFilters()
    check_department(session, f.department_id)
    weeks = weeks_for(f)
    now = utcnow()
    tally = _Tally(session, f, weeks)
    if hidden_projects(actor) is None:
        tally.from_rollups()
    else:
        tally.from_raw(actor)
    tally.overdue(actor, now)
    per_cell, per_officer = tally.leads(actor)
    return ActivityReport(
        generated_at=utcnow(),
        weeks=weeks.starts,
        officers=tally.officers(per_officer),
        rows=tally.rows(per_cell),
        rows_listed=tally.listed,
        week_totals=tally.week_totals(),
    )
