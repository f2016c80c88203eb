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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    not_,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy import cast as sa_cast
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
    weeks_for,
)
from crm.summaries.fill import CONTACTS, DONE, Rollup, filled_until_each
from crm.types import UTCDateTime, utcnow

HOURS = Decimal("0.01")
_ZERO = literal_column("0", Integer)
_AS_READ = String()  # a column's value as the driver gives it (SQLite: its stored text)
_PARSE = datetime.fromisoformat


def _utc(v: Any) -> datetime:
    """A stored time as the driver gave it: SQLite's text parsed (naive, as stored: UTC),
    PostgreSQL's datetime as is."""
    d: datetime = _PARSE(v) if isinstance(v, str) else v
    return d if d.tzinfo is None else d.astimezone(UTC).replace(tzinfo=None)


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


# (id, name, department) of a stored user: the id is never None
Person = tuple[int, str, str | None]
# the sums every branch of the tally's UNION ALL carries, in the tally's order
SUMS = ("c", "d", "od", "nl", "aw")
# an officer as the report names them: id, name, department
_OFFICER = select(User.id, User.display_name, Department.name).outerjoin(
    Department, Department.id == User.department_id
)


@dataclass(frozen=True)
class _Shape:
    """What a tally's statements depend on besides the values bound into them: a statement
    built for one shape serves every report of that shape (``_Plan.cached``)."""

    key: str  # "o" per officer, "w" per week, "ow" per officer × week
    weeks: int
    closed: tuple[int, ...]  # per rollup read, its weeks from the rollup (the first ones)
    contacts_only: bool
    department: bool
    officer: bool
    ranges: bool  # by week: one branch per week (SQLite), else a CASE (``_Plan.raw``)


# statements built for an actor who sees everything (managers, admins: every report's reader),
# by shape — building one is ~80 branches of expressions, 5 ms of CPU a report; the values
# (the weeks' edges, now, the filter's ids) are bound at each execution
_BUILT: dict[_Shape, Any] = {}


class _Plan:
    """A tally's statements over placeholders: ``b{i}`` the weeks' UTC edges, ``s{i}`` their
    Mondays, ``now``, ``department`` and ``officer`` (the filter's)."""

    def __init__(self, shape: _Shape, actor: User | None) -> None:
        self.shape = shape
        self.actor = actor  # None: only for ``in_scope``
        self.b = [bindparam(f"b{i}", type_=UTCDateTime) for i in range(shape.weeks + 1)]
        self.s = [bindparam(f"s{i}", type_=Date) for i in range(shape.weeks)]

    @staticmethod
    def cached(shape: _Shape, actor: User) -> Any:
        """The shape's statement for ``actor``: built once for an actor who sees everything."""
        if hidden_projects(actor) is not None:  # the actor's visibility is in the statement
            return _Plan(shape, actor).summed()
        stmt = _BUILT.get(shape)
        if stmt is None:
            if len(_BUILT) >= 256:
                _BUILT.clear()
            stmt = _BUILT[shape] = _Plan(shape, actor).summed()
        return stmt

    def who(self, col: Any) -> list[Any]:
        """The officer filter (one officer, one department) on a column naming a user."""
        clauses = []
        if self.shape.officer:
            clauses.append(col == bindparam("officer", type_=Integer))
        if self.shape.department:
            of_department = User.department_id == bindparam("department", type_=Integer)
            clauses.append(col.in_(select(User.id).where(of_department)))
        return clauses

    def in_scope(self) -> list[Any]:
        """The officers every report lists: active officers of the filter."""
        return [User.role == "officer", User.is_active.is_(True), *self.who(User.id)]

    def leads(self) -> list[Any]:
        """The new leads the actor may see (the report's period apart): the officer's projects
        not opened directly at a later stage."""
        later_start = exists().where(
            StageChange.project_id == Project.id,
            StageChange.from_stage.is_(None),
            StageChange.to_stage != "lead",
        )
        return [
            project_visible(cast(User, self.actor)),
            Project.owner_id.is_not(None),
            not_(later_start),
            *self.who(Project.owner_id),
        ]

    @staticmethod
    def cols(counts: dict[int, Any], o: Any = None, wk: Any = None, wi: Any = None) -> list[Any]:
        """A branch's columns: (o, wk, wi, *SUMS) — ``wk`` a rollup's week (its Monday), ``wi``
        a raw row's week (its index); NULL where not grouped by, 0 for the counts it has not."""
        return [
            (o if o is not None else sa_cast(null(), Integer)).label("o"),
            (wk if wk is not None else sa_cast(null(), Date)).label("wk"),
            (wi if wi is not None else sa_cast(null(), Integer)).label("wi"),
            *(counts.get(i, _ZERO).label(name) for i, name in enumerate(SUMS)),
        ]

    def rolled_up(self, slot: int, rollup: Rollup, k: int) -> Any:
        """The first ``k`` weeks, closed, from the rollup table, summed per key."""
        t = rollup.table.c
        col = t[rollup.column]
        o = t.user_id if "o" in self.shape.key else None
        wk = t.week_start if "w" in self.shape.key else None
        return (
            select(*self.cols({slot: func.sum(col)}, o=o, wk=wk))
            .where(
                t.week_start >= self.s[0],
                t.week_start <= self.s[k - 1],
                col > 0,
                *self.who(t.user_id),
            )
            .group_by(*(c for c in (o, wk) if c is not None))
        )

    def raw(self, counts: dict[int, Any], k: int, user: Any, ts: Any, *where: Any) -> list[Any]:
        """The weeks after the first ``k`` counted from the raw rows per key. By week on
        SQLite, one count per week over its range of the timestamp's index (a CASE placing
        each row in its week cost 0.5 µs a row: 5 ms for the city's 10,000 overdue
        follow-ups); on PostgreSQL (where planning some 70 branches cost more than the CASE) a
        CASE, grouped on its column's position."""
        by_user = "o" in self.shape.key
        o = user if by_user else None
        if "w" not in self.shape.key:
            return [
                select(*self.cols(counts, o=user))
                .where(ts >= self.b[k], ts < self.b[-1], *where)
                .group_by(user)
            ]
        if not self.shape.ranges:
            n = self.shape.weeks
            whens: list[Any] = [(ts < self.b[i + 1], literal_column(str(i))) for i in range(k, n)]
            wi = case(*whens, else_=literal_column(str(n)))
            by: list[Any] = [literal_column("3"), *([literal_column("1")] if by_user else [])]
            q = select(*self.cols(counts, o=o, wi=wi))
            return [q.where(ts >= self.b[k], ts < self.b[-1], *where).group_by(*by)]
        out = []
        for i in range(k, self.shape.weeks):
            q = select(*self.cols(counts, o=o, wi=literal_column(str(i), Integer))).where(
                ts >= self.b[i], ts < self.b[i + 1], *where
            )
            out.append(q.group_by(user) if by_user else q)
        return out

    def branches(self) -> list[Any]:
        """The SELECTs summed: the contacts and done follow-ups — from the rollups for their
        closed weeks and the raw rows after them when the actor sees everything, else from
        the rows the actor may see — and, unless contacts only, the overdue follow-ups at
        ``now`` and the new leads."""
        actor, shape = cast(User, self.actor), self.shape
        one = func.count()
        out: list[Any] = []
        a, fu, p = Activity, Followup, Project
        if hidden_projects(actor) is None:
            rollups = (CONTACTS,) if shape.contacts_only else (CONTACTS, DONE)
            for slot, (rollup, k) in enumerate(zip(rollups, shape.closed, strict=True)):
                if k > 0:  # the closed weeks from the rollup
                    out.append(self.rolled_up(slot, rollup, k))
                if k < shape.weeks:  # the later weeks (the open one) from the raw rows
                    rest = (*rollup.condition(), *self.who(rollup.user))
                    out += self.raw({slot: one}, k, rollup.user, rollup.ts, *rest)
        else:
            seen = (
                activity_visible(actor),
                a.created_by_id.is_not(None),
                *self.who(a.created_by_id),
            )
            out += self.raw({0: one}, 0, a.created_by_id, a.created_at, *seen)
            if not shape.contacts_only:
                done = (fu.status == "done", followup_visible(actor), *self.who(fu.assignee_id))
                out += self.raw({1: one}, 0, fu.assignee_id, fu.completed_at, *done)
        if shape.contacts_only:
            return out
        now = bindparam("now", type_=UTCDateTime)
        late = (
            fu.status == "open",
            fu.due_at < now,
            followup_visible(actor),
            *self.who(fu.assignee_id),
        )
        out += self.raw({2: one}, 0, fu.assignee_id, fu.due_at, *late)
        if shape.ranges:  # SQLite; PostgreSQL counts them from the leads it reads (``hours``)
            new = {3: one, 4: one - func.count(p.first_contact_at)}
            out += self.raw(new, 0, p.owner_id, p.created_at, *self.leads())
        return out

    def summed(self) -> Any:
        """The branches added up per key; per officer with every active officer in scope and
        the name of each."""
        key = self.shape.key
        officers = select(*self.cols({}, o=User.id)).where(*self.in_scope())
        more = [officers] if key == "o" else []
        u = union_all(*self.branches(), *more).subquery()
        sums = [func.sum(u.c[n]).label(n) for n in SUMS]
        keys = {"o": [u.c.o], "w": [u.c.wk, u.c.wi], "ow": [u.c.o, u.c.wk, u.c.wi]}[key]
        grouped = select(*keys, *sums).group_by(*keys)
        if key != "o":
            return grouped
        per = grouped.subquery()
        return (
            select(per.c.o, User.display_name, Department.name, *(per.c[n] for n in SUMS))
            .join(User, User.id == per.c.o)
            .outerjoin(Department, Department.id == User.department_id)
        )

    def hours(self, listed: bool) -> Any:
        """The new leads — on SQLite only those contacted (the counts are in ``summed``), on
        PostgreSQL all of them (its anti-join is the report's dearest step: read once) —
        officer, week (listed, or all on PostgreSQL), the two times as the driver gives them."""
        p = Project
        every = not self.shape.ranges
        if listed or every:
            whens = [(p.created_at < b, i) for i, b in enumerate(self.b[1:])]
            wi: Any = case(*whens, else_=self.shape.weeks)
        else:
            wi = sa_cast(null(), Integer)
        contacted = [] if every else [p.first_contact_at.is_not(None)]
        return select(
            p.owner_id,
            wi,
            type_coerce(p.created_at, _AS_READ),
            type_coerce(p.first_contact_at, _AS_READ),
        ).where(p.created_at >= self.b[0], p.created_at < self.b[-1], *contacted, *self.leads())


class _Tally:
    """[contacts, done, overdue, new leads, awaiting contact] per officer, per week and — only
    when the rows are listed — per officer × week, counted in SQL: one UNION ALL of the sources,
    each summed per officer, per week (one branch per week over its range of the source's
    timestamp) or per officer × week, and added up per key — the rollups' closed weeks, the raw
    rows of the weeks after each rollup's watermark (always the open one), the overdue
    follow-ups, the new leads; per officer with the officer's name and every active officer in
    scope. The response times are read apart (``hours``)."""

    def __init__(
        self, session: Session, f: ReportFilters, weeks: Weeks, listed: bool | None = None
    ) -> None:
        self.session = session
        self.conn = session.connection()  # Core execution: plain rows, no per-row ORM work
        self.f = f
        self.weeks = weeks
        self.listed = (f.detail or f.officer_id is not None) if listed is None else listed
        self.sums: dict[int, list[int]] = {}
        self.wsums: dict[int, list[int]] = {}
        self.cells: dict[tuple[int, int], list[int]] = {}
        # the officers' names and departments, read with their sums (not listed)
        self.names: dict[int, tuple[str, str | None]] = {}
        self.params: dict[str, Any] = {
            **{f"b{i}": b for i, b in enumerate(weeks.bounds)},
            **{f"s{i}": d for i, d in enumerate(weeks.starts)},
            "department": f.department_id,
            "officer": f.officer_id,
        }
        self.closed: tuple[int, ...] = ()

    def shape(self, key: str, contacts_only: bool) -> _Shape:
        return _Shape(
            key,
            len(self.weeks.starts),
            self.closed,
            contacts_only,
            self.f.department_id is not None,
            self.f.officer_id is not None,
            self.conn.dialect.name == "sqlite",
        )

    def count(self, actor: User, now: datetime | None, contacts_only: bool = False) -> None:
        """The counts, summed in SQL (overdue at ``now``; with contacts only, none): per
        officer × week when listed, else per week and per officer (with every active officer in
        scope, and the name of each)."""
        if hidden_projects(actor) is None:
            self._closed(contacts_only)
        params = {**self.params, "now": now}
        index_of = {d: i for i, d in enumerate(self.weeks.starts)}

        def week(wk: date | None, wi: int | None) -> int:
            return index_of[wk] if wk is not None else cast(int, wi)

        def rows(key: str) -> Any:
            return self.conn.execute(_Plan.cached(self.shape(key, contacts_only), actor), params)

        if self.listed:
            for o, wk, wi, *n in rows("ow"):
                self._add_cell(o, week(wk, wi), n)
        else:  # per week, then per officer
            for wk, wi, *n in rows("w"):
                self._add_week(week(wk, wi), n)
            for o, name, dept, *n in rows("o"):
                self._add_officer(o, name, dept, n)

    def _closed(self, contacts_only: bool) -> None:
        """The rollups' closed weeks among the report's (the first ones), per rollup read."""
        rollups = [CONTACTS] if contacts_only else [CONTACTS, DONE]
        until = filled_until_each(self.conn, rollups)
        self.closed = tuple(
            sum(1 for d in self.weeks.starts if (end := until[r.name]) is not None and d < end)
            for r in rollups
        )

    def _add_cell(self, o: int, w: int, n: list[Any]) -> None:
        for slot in range(5):
            if n[slot]:
                self.add(o, w, slot, int(n[slot]))

    def _add_week(self, w: int, n: list[Any]) -> None:
        t = self.wsums.setdefault(w, [0, 0, 0, 0, 0])
        for slot in range(5):
            t[slot] += int(n[slot])

    def _add_officer(self, o: int, name: str, dept: str | None, n: list[Any]) -> None:
        self.names[o] = (name, dept)
        if any(n):
            self.sums[o] = [int(x) for x in n]

    def add(self, o: int, w: int, slot: int, n: int) -> None:
        self.sums.setdefault(o, [0, 0, 0, 0, 0])[slot] += n
        self.wsums.setdefault(w, [0, 0, 0, 0, 0])[slot] += n
        if self.listed:
            self.cells.setdefault((o, w), [0, 0, 0, 0, 0])[slot] += n

    def hours(
        self, actor: User
    ) -> tuple[dict[tuple[int, int], list[float]], dict[int, list[float]]]:
        """The hours from each new lead's creation to its first contact (those contacted: a few
        thousand at most, the median taken in Python), per officer × week (listed) and per
        officer. The two times as the driver gives them (SQLite's text parsed here, only for
        these rows; their difference is the same naive or in UTC)."""
        plan = _Plan(self.shape("ow" if self.listed else "o", False), actor)
        every = not plan.shape.ranges  # PostgreSQL: the new leads counted here
        per_cell: dict[tuple[int, int], list[float]] = {}
        per_officer: dict[int, list[float]] = {}
        pairs: dict[tuple[int, int], list[int]] = {}
        listed = self.listed
        for o, w, created, first in self.conn.execute(plan.hours(listed), self.params):
            if every:
                n = pairs.get((o, w))
                if n is None:
                    n = pairs[(o, w)] = [0, 0]
                n[0] += 1
                if first is None:
                    n[1] += 1
                    continue
            h = max(0.0, (_utc(first) - _utc(created)).total_seconds() / 3600)
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
        people: dict[int, tuple[str, str | None]]
        if self.listed:
            scope = _Plan(self.shape("o", False), None).in_scope()
            rows = cast(
                "list[Person]", self.conn.execute(_OFFICER.where(*scope), self.params).all()
            )
            people = {uid: (name, dept) for uid, name, dept in rows}
        else:  # read with their sums
            people = self.names
        # those who appear without being an active officer in scope (listed: a handful at most)
        others = set(self.sums).difference(people)
        if others:
            more = self.conn.execute(_OFFICER.where(User.id.in_(sorted(others)))).all()
            for uid, name, dept in cast("list[Person]", more):
                people[uid] = (name, dept)
        zero = [0, 0, 0, 0, 0]
        return [
            OfficerTotal(
                officer_id=uid,
                name=name,
                department=dept,
                median_response_hours=_hours(per_officer.get(uid, [])),
                **_figures(self.sums.get(uid, zero), OfficerTotal),
            )
            for uid, (name, dept) in sorted(people.items())
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
    tally = _Tally(session, f, weeks_for(f), listed=False)
    tally.count(actor, None, contacts_only=True)
    out: dict[str | None, int] = {}
    for o, t in tally.sums.items():
        if t[0]:
            dept = tally.names[o][1]
            out[dept] = out.get(dept, 0) + t[0]
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
    tally.count(actor, now)
    per_cell, per_officer = tally.hours(actor)
    return ActivityReport(
        generated_at=utcnow(),
        weeks=weeks.starts,
        officers=tally.officers(per_officer),
        rows=tally.rows(per_cell),
        rows_listed=tally.listed,
        week_totals=tally.week_totals(),
    )
